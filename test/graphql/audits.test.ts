import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentText, graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

const UPDATE_SETTINGS = graphql(`
  mutation GraphqlAuditsUpdateSettings {
    updateRealmSettings(input: { patch: { accessTokenTtlSeconds: 600 } }) {
      userErrors {
        code
      }
    }
  }
`);
const VIEWER_CLIENT = graphql(`
  query GraphqlAuditsViewerClient {
    viewer {
      clientId
    }
  }
`);
const DIRECTIVES = graphql(`
  query GraphqlAuditsDirectives($withScopes: Boolean!, $skipClient: Boolean!) {
    viewer {
      clientId @skip(if: $skipClient)
      scopes @include(if: $withScopes)
      realmId: clientId @include(if: false)
      ... on Viewer @skip(if: true) {
        scopes
      }
      ... @include(if: true) {
        __typename
      }
    }
  }
`);
const DIRECTIVES_FLIPPED = graphql(`
  query GraphqlAuditsDirectivesFlipped($on: Boolean!) {
    viewer {
      clientId @include(if: $on)
      scopes @skip(if: $on)
    }
  }
`);
let ready: (url: string) => void;
const graphqlUrl = new Promise<string>((resolve) => {
  ready = resolve;
});
let tokenReady: (token: string) => void;
const auditToken = new Promise<string>((resolve) => {
  tokenReady = resolve;
});

beforeAll(async () => {
  server = await startTestServer();
  tokenReady(await server.token());
  ready(`${server.url}/graphql`);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

// Some audits introspect (`__type`), which only authenticated callers may: they all send a token.
const authorizedFetch: typeof fetch = async (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${await auditToken}`);
  return fetch(input, { ...init, headers });
};
const audits = serverAudits({ url: () => graphqlUrl, fetchFn: authorizedFetch });
const required = audits.filter((audit) => audit.name.startsWith('MUST'));
const recommended = audits.filter((audit) => !audit.name.startsWith('MUST'));

function describeFailure(result: AuditResult): string {
  if (result.status === 'ok') return 'ok';
  return `${result.reason}\n${JSON.stringify(result.response ?? null).slice(0, 500)}`;
}

describe('GraphQL over HTTP (graphql-http server audits)', () => {
  it('has MUST audits to run', () => {
    expect(required.length).toBeGreaterThan(10);
  });

  it.each(required.map((audit) => [audit.name, audit] as const))('%s', async (_name, audit) => {
    const result = await audit.fn();
    expect(result.status, describeFailure(result)).toBe('ok');
  });

  it('reports SHOULD and MAY audits (informational)', async () => {
    const failed: string[] = [];
    for (const audit of recommended) {
      const result = await audit.fn();
      if (result.status !== 'ok') failed.push(`${audit.name}: ${result.reason}`);
    }
    if (failed.length)
      console.info(`SHOULD/MAY audits not met (${failed.length}/${recommended.length}):\n${failed.join('\n')}`);
    expect(recommended.length).toBeGreaterThan(0);
  });
});

describe('GET', () => {
  it('refuses a mutation over GET with 405 and changes nothing', async () => {
    const token = await server.token();
    const before = await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } });
    const url = new URL(`${server.url}/graphql`);
    url.searchParams.set('query', documentText(UPDATE_SETTINGS));
    for (const accept of ['application/graphql-response+json', 'application/json']) {
      const response = await fetch(url, { headers: { accept, authorization: `Bearer ${token}` } });
      expect(response.status, accept).toBe(405);
      expect(response.headers.get('allow') ?? '').toMatch(/POST/);
      await response.text();
    }
    expect(await server.db.prisma.realm.findUniqueOrThrow({ where: { id: server.admin.realmId } })).toEqual(before);
  });

  it('serves a query over GET', async () => {
    const token = await server.token();
    const url = new URL(`${server.url}/graphql`);
    url.searchParams.set('query', documentText(VIEWER_CLIENT));
    const response = await fetch(url, {
      headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { clientId: server.admin.clientId } } });
  });
});

describe('specified directives', () => {
  it('honours @skip and @include, as literals and as variables, on fields and fragments', async () => {
    const result = await server.graphql(DIRECTIVES, { withScopes: true, skipClient: true });
    expect(result.errors).toBeUndefined();
    expect(Object.keys(result.data!.viewer).sort()).toEqual(['__typename', 'scopes']);

    const flipped = await server.graphql(DIRECTIVES_FLIPPED, { on: true });
    expect(flipped.errors).toBeUndefined();
    expect(flipped.data).toEqual({ viewer: { clientId: server.admin.clientId } });
  });

  it('refuses a directive that does not exist with a validation error', async () => {
    const result = await server.graphql('{ viewer { clientId @nonsense } }');
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.message).toMatch(/Unknown directive "@nonsense"/);
  });
});
