/**
 * `/metrics` in Prometheus' text format, scraped over HTTP as Prometheus would: what it counts
 * (HTTP routes, GraphQL operations and error codes, token endpoint answers, the pool, the
 * process), that callers cannot grow it without bound, and who may read it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

async function scrape(target = server, headers: Record<string, string> = {}) {
  const response = await fetch(`${target.url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one sample (`name{labels} value`), 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(' ')[0]!;
    if (wanted.every((pair) => labelText.includes(pair))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

async function gql(body: Record<string, unknown>, token?: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return response.status;
}

function tokenRequest(secret: string) {
  return fetch(`${server.url}/oauth2/default/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${server.admin.clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
}

describe('/metrics', () => {
  it('serves the process, pool and provider figures in the Prometheus text format', async () => {
    const { status, type, text } = await scrape();
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
    expect(text).toContain('# TYPE roster_oidc_providers_cached gauge');
    expect(text).toContain('# HELP roster_db_pool_connections');
    if (server.db.kind === 'postgres') expect(text).toMatch(/^roster_db_pool_connections\{state="idle"\} \d+$/m);
  });

  it('counts GraphQL operations by name, their durations and their errors by code', async () => {
    const token = await server.token();
    const before = (await scrape()).text;
    expect(
      await gql({ query: 'query MetricsViewer { viewer { clientId } }', operationName: 'MetricsViewer' }, token),
    ).toBe(200);
    expect(
      await gql({ query: 'query MetricsViewer { viewer { clientId } }', operationName: 'MetricsViewer' }, token),
    ).toBe(200);
    // Unauthenticated: a result with an error whose code is counted.
    await gql({ query: 'query MetricsUsers { users(first: 1) { totalCount } }', operationName: 'MetricsUsers' });
    const after = (await scrape()).text;

    const ok = { operation: 'MetricsViewer', outcome: 'ok' };
    expect(
      sample(after, 'roster_graphql_operations_total', ok) - sample(before, 'roster_graphql_operations_total', ok),
    ).toBe(2);
    expect(
      sample(after, 'roster_graphql_operation_duration_seconds_count', { operation: 'MetricsViewer' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'roster_graphql_operations_total', { operation: 'MetricsUsers', outcome: 'error' })).toBe(1);
    const code = { code: 'UNAUTHENTICATED' };
    expect(
      sample(after, 'roster_graphql_errors_total', code) - sample(before, 'roster_graphql_errors_total', code),
    ).toBe(1);
    expect(sample(after, 'roster_http_requests_total', { route: '/graphql', status: '200' })).toBeGreaterThanOrEqual(2);
  });

  it('counts token endpoint answers by grant type and outcome, and routes by template only', async () => {
    const before = (await scrape()).text;
    expect((await tokenRequest(server.admin.clientSecret)).status).toBe(200);
    expect((await tokenRequest('wrong-secret')).status).toBe(401);
    await fetch(`${server.url}/oauth2/no-such-realm-${Date.now()}/jwks.json`);
    await fetch(`${server.url}/no/such/path/${Date.now()}`);
    const after = (await scrape()).text;

    const issued = { grant_type: 'client_credentials', outcome: 'issued' };
    const refused = { grant_type: 'client_credentials', outcome: 'invalid_client' };
    expect(
      sample(after, 'roster_token_requests_total', issued) - sample(before, 'roster_token_requests_total', issued),
    ).toBe(1);
    expect(
      sample(after, 'roster_token_requests_total', refused) - sample(before, 'roster_token_requests_total', refused),
    ).toBe(1);
    expect(
      sample(after, 'roster_http_requests_total', { route: '/oauth2/{realm}/jwks.json', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'roster_http_requests_total', { route: '(other)', status: '404' })).toBeGreaterThanOrEqual(1);
    // No raw path, realm name or client id reaches a label.
    expect(after).not.toContain('no-such-realm');
    expect(after).not.toContain('/no/such/path');
    expect(after).not.toContain(server.admin.clientId);
  });

  it('keeps at most 200 distinct operation names: callers cannot grow it without bound', async () => {
    const token = await server.token();
    for (let i = 0; i < 230; i++) {
      await gql({ query: `query Op${i} { __typename }`, operationName: `Op${i}` }, token);
    }
    const text = (await scrape()).text;
    const names = new Set(
      [...text.matchAll(/^roster_graphql_operations_total\{operation="([^"]*)"/gm)].map((match) => match[1]),
    );
    expect(names.size).toBeLessThanOrEqual(201);
    expect(names.has('(other)')).toBe(true);
  });

  it('refuses other methods', async () => {
    const response = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('/metrics with ROSTER_METRICS_TOKEN', () => {
  const TOKEN = 'metrics-token-0123456789abcdef0123456789abcdef';
  let guarded: TestServer;

  beforeAll(async () => {
    guarded = await startTestServer({ metricsToken: TOKEN });
  });

  afterAll(async () => {
    await guarded?.close();
  });

  it('answers only a caller presenting the token, even on loopback', async () => {
    const none = await scrape(guarded);
    expect(none.status).toBe(401);
    expect(none.text).not.toContain('process_cpu');
    expect((await scrape(guarded, { authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await scrape(guarded, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    const ok = await scrape(guarded, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('process_cpu_user_seconds_total');
  });
});
