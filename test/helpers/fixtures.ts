import { expect } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { accessState } from './access-state.ts';
import type { Credentials, GraphQLResult, TestServer } from './server.ts';

export const USER_ERRORS = 'userErrors { code field message }';

export const APPLICATION_FIELDS = `
  id name type clientId redirectUris scopes secretLastRotatedAt createdAt updatedAt
  roles { id name }
`;

export interface UserErrorResult {
  code: string;
  field: string[] | null;
  message: string;
}

/** Every row of the access model, applications with their secrets, tenants with their members, and the audit trail. */
export async function fullState(server: TestServer) {
  const p = server.db.prisma;
  const [applications, applicationSecrets, tenants, memberships] = await Promise.all([
    p.application.findMany({ orderBy: { id: 'asc' } }),
    p.applicationSecret.findMany({ orderBy: { id: 'asc' } }),
    p.tenant.findMany({ orderBy: { id: 'asc' } }),
    p.tenantMembership.findMany({ orderBy: { id: 'asc' } }),
  ]);
  return { ...(await accessState(server)), applications, applicationSecrets, tenants, memberships };
}

/**
 * Runs a mutation that must be refused with exactly `expected` user errors (code and field)
 * and change nothing anywhere (no audit row either). Returns the payload.
 */
export async function expectRefused(
  server: TestServer,
  run: () => Promise<GraphQLResult>,
  mutation: string,
  expected: { code: string; field: string[] | null }[],
): Promise<Record<string, unknown>> {
  const before = await fullState(server);
  const result = await run();
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const payload = result.data?.[mutation] as Record<string, unknown> & { userErrors: UserErrorResult[] };
  expect(payload.userErrors.map(({ code, field }) => ({ code, field }))).toEqual(expected);
  for (const error of payload.userErrors) expect(error.message.length).toBeGreaterThan(0);
  expect(await fullState(server)).toEqual(before);
  return payload;
}

/** Runs a request that must fail as a whole with a top-level `code`, changing nothing. */
export async function expectTopLevelError(server: TestServer, run: () => Promise<GraphQLResult>, code: string): Promise<void> {
  const before = await fullState(server);
  const result = await run();
  expect(result.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  expect(await fullState(server)).toEqual(before);
}

/** Creates a realm-wide role holding the named scopes (of any resource of the realm), directly in the database. */
export async function makeRole(
  server: TestServer,
  realmId: string,
  name: string,
  scopeNames: string[],
  options: { tenantId?: string } = {},
): Promise<{ id: string; globalId: string }> {
  const p = server.db.prisma;
  const scopes = await p.resourceScope.findMany({ where: { realmId, name: { in: scopeNames } } });
  expect(scopes.map((s) => s.name).sort()).toEqual([...new Set(scopeNames)].sort());
  const role = await p.role.create({ data: { realmId, name, tenantId: options.tenantId ?? null } });
  await p.roleScope.createMany({ data: scopes.map((s) => ({ realmId, roleId: role.id, scopeId: s.id })) });
  return { id: role.id, globalId: encodeGlobalId('Role', role.id) };
}

/** A custom (not management) API resource with the named scopes, directly in the database. */
export async function makeResource(server: TestServer, realmId: string, indicator: string, scopeNames: string[]): Promise<void> {
  const p = server.db.prisma;
  const resource = await p.resource.create({ data: { realmId, name: indicator, indicator } });
  await p.resourceScope.createMany({ data: scopeNames.map((name) => ({ realmId, resourceId: resource.id, name })) });
}

// Only what applications:write callers can read back (no roles:read needed).
const CREATE = `mutation($input: CreateApplicationInput!) {
  createApplication(input: $input) { application { id clientId } clientSecret ${USER_ERRORS} }
}`;

/** Creates an M2M application through the API and returns its credentials and global id. */
export async function createM2M(
  server: TestServer,
  realm: Credentials,
  name: string,
  roleIds: string[],
  token?: string,
): Promise<Credentials & { id: string }> {
  const result = await server.graphql(CREATE, { input: { name, type: 'M2M', roleIds } }, token ?? (await server.token(realm)));
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const payload = result.data!.createApplication;
  expect(payload.userErrors).toEqual([]);
  return {
    realmId: realm.realmId,
    realmName: realm.realmName,
    clientId: payload.application.clientId,
    clientSecret: payload.clientSecret,
    id: payload.application.id,
  };
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs client credentials to the real token endpoint and returns the raw answer. */
export async function requestToken(server: TestServer, credentials: Credentials, scope?: string): Promise<TokenResponse> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope !== undefined) body.set('scope', scope);
  const response = await fetch(`${server.url}/oauth2/${credentials.realmName}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
