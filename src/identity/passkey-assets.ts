import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The scripts of the hosted pages' passkey forms, served by Roster itself under each issuer
 * (`/oauth2/{realm}/assets/…`): the browser half of SimpleWebAuthn from the installed package,
 * and the pages' own script. Their names carry a digest of their content, so they are cached for
 * a year and a new version is a new URL.
 */
interface Asset {
  name: string;
  body: Buffer;
}

function asset(stem: string, file: string | URL): Asset {
  const body = readFileSync(file);
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { name: `${stem}.${digest}.js`, body };
}

const require = createRequire(import.meta.url);
// The package's entry is `script/index.js`; its browser bundle is `dist/bundle/` next to it.
const browserPackage = path.dirname(path.dirname(require.resolve('@simplewebauthn/browser')));

const ASSETS = [
  asset('simplewebauthn-browser', path.join(browserPackage, 'dist', 'bundle', 'index.umd.min.js')),
  asset('passkeys', new URL('./assets/passkeys.js', import.meta.url)),
];
const BY_NAME = new Map(ASSETS.map((one) => [one.name, one]));

/** The paths (under an issuer) of the scripts a page with passkey forms loads, in order. */
export const PASSKEY_SCRIPTS = ASSETS.map((one) => `/assets/${one.name}`);

/** The answer to `GET /oauth2/{realm}/assets/{name}`: the script, or 404. */
export function passkeyAsset(name: string, method: string): Response {
  const found = BY_NAME.get(name);
  if (!found) {
    return new Response('Not found.', {
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    });
  }
  return new Response(method === 'HEAD' ? null : new Uint8Array(found.body), {
    status: 200,
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    },
  });
}
