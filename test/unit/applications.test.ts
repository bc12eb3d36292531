import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { APPLICATION_LIMITS, redirectUriErrors } from '../../src/modules/applications/applications.service.ts';

const FIELD = ['input', 'redirectUris'];
const BROWSER_TYPES = ['WEB', 'SPA', 'NATIVE'] as const;
const type = fc.constantFrom(...BROWSER_TYPES);
const host = fc.domain().filter((domain) => !['localhost'].includes(domain));
const path = fc.webPath({ size: 'small' });
const query = fc.option(fc.webQueryParameters({ size: 'small' }), { nil: undefined });

const httpsUri = fc
  .tuple(host, path, query)
  .map(([domain, pathname, search]) => `https://${domain}${pathname}${search === undefined ? '' : `?${search}`}`);
const loopbackUri = fc
  .tuple(
    fc.constantFrom('127.0.0.1', 'localhost', '[::1]'),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    path,
  )
  .map(([hostname, port, pathname]) => `http://${hostname}${port === undefined ? '' : `:${port}`}${pathname}`);
const validUri = fc.oneof(httpsUri, loopbackUri);

/** Distinct after URL normalization, as the rule compares them. */
const validList = fc.uniqueArray(validUri, {
  minLength: 1,
  maxLength: APPLICATION_LIMITS.redirectUris,
  selector: (uri) => new URL(uri).href,
});

describe('redirect URI rules', () => {
  it('accept any list of distinct https (or loopback http) URIs for browser and native clients', () => {
    fc.assert(
      fc.property(type, validList, (t, uris) => {
        expect(redirectUriErrors(t, uris, FIELD)).toEqual([]);
      }),
    );
  });

  it('refuse fragments, user info, plain http off loopback and dangerous schemes at their index, and nothing else', () => {
    const bad = fc.oneof(
      httpsUri.map((uri) => `${uri}#${'frag'}`),
      fc.tuple(host, path).map(([domain, pathname]) => `https://user:pass@${domain}${pathname}`),
      fc.tuple(host, path).map(([domain, pathname]) => `http://${domain}${pathname}`),
      fc.constantFrom(
        'javascript:alert(1)',
        'JavaScript://example.com/%0Aalert(1)',
        'data:text/html,hi',
        'file:///etc/passwd',
        'ftp://example.com/',
      ),
      fc.constantFrom('/relative/path', 'not a uri', ''),
    );
    fc.assert(
      fc.property(type, validList, bad, fc.nat(), (t, good, uri, at) => {
        const uris = [...good.slice(0, APPLICATION_LIMITS.redirectUris - 1)];
        const index = at % (uris.length + 1);
        uris.splice(index, 0, uri);
        const errors = redirectUriErrors(t, uris, FIELD);
        expect(errors.map((e) => ({ code: e.code, field: e.field }))).toEqual([
          { code: 'INVALID', field: [...FIELD, String(index)] },
        ]);
      }),
    );
  });

  it('refuse a URI listed twice at its second index, and too many or too long URIs', () => {
    fc.assert(
      fc.property(type, validList, fc.nat(), (t, uris, pick) => {
        fc.pre(uris.length < APPLICATION_LIMITS.redirectUris);
        const twice = [...uris, uris[pick % uris.length]!];
        expect(redirectUriErrors(t, twice, FIELD).map((e) => e.field)).toEqual([[...FIELD, String(uris.length)]]);
      }),
    );
    const many = Array.from({ length: APPLICATION_LIMITS.redirectUris + 1 }, (_, i) => `https://app.example.com/${i}`);
    expect(redirectUriErrors('WEB', many, FIELD).map((e) => e.code)).toEqual(['LIMIT_EXCEEDED']);
    const long = `https://app.example.com/${'a'.repeat(APPLICATION_LIMITS.redirectUriLength)}`;
    expect(redirectUriErrors('SPA', [long], FIELD).map((e) => e.code)).toEqual(['TOO_LONG']);
  });

  it('require a URI for browser and native clients and refuse any for M2M clients', () => {
    fc.assert(
      fc.property(type, (t) => {
        expect(redirectUriErrors(t, [], FIELD).map((e) => e.code)).toEqual(['REQUIRED']);
      }),
    );
    fc.assert(
      fc.property(validList, (uris) => {
        expect(redirectUriErrors('M2M', uris, FIELD).map((e) => e.code)).toEqual(['INVALID']);
      }),
    );
    expect(redirectUriErrors('M2M', [], FIELD)).toEqual([]);
  });
});
