import { expect } from 'vitest';
import { decodeGlobalId, encodeGlobalId } from '../../src/graphql/ids.ts';
import type { GraphQLResult, TestServer } from '../helpers/server.ts';

export const ERRORS = 'userErrors { code field message }';
export const USER = `user { id email phone username uniqueId name givenName familyName nickname picture bio gender birthdate
  locale timezone country region city status isSuspended suspendedReason hasPassword passwordExpired emailVerified phoneVerified
  customAttributes metadata version deletedAt }`;

export interface UserError {
  code: string;
  field: string[] | null;
  message: string;
}

export const userGid = (id: string) => encodeGlobalId('User', id);
export const rawId = (globalId: string) => decodeGlobalId(globalId).id;

/** Every row the core user mutations can touch, in all realms, and the audit trail. */
export async function userState(server: TestServer) {
  const p = server.db.prisma;
  const byId = { orderBy: { id: 'asc' as const } };
  const [users, memberships, userRoles, sessions, refreshTokens, auditEvents] = await Promise.all([
    p.user.findMany(byId),
    p.tenantMembership.findMany(byId),
    p.userRole.findMany(byId),
    p.session.findMany(byId),
    p.refreshToken.findMany(byId),
    // A refusal's own `denied` row is the one write it may make (SECURITY.md).
    p.auditEvent.findMany({ where: { outcome: { not: 'denied' } }, ...byId }),
  ]);
  return { users, memberships, userRoles, sessions, refreshTokens, auditEvents };
}

/** Runs `fn` and asserts that no user-related row and no audit row changed. */
export async function expectUnchanged<T>(server: TestServer, fn: () => Promise<T>): Promise<T> {
  const before = await userState(server);
  const result = await fn();
  expect(await userState(server)).toEqual(before);
  return result;
}

/** The payload of a one-field mutation; fails on top-level errors. */
export function payload<T = any>(result: GraphQLResult, field: string): T {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data![field] as T;
}

/** Asserts a refused mutation: no object, exactly these errors (code and field, in any order). */
export function expectErrors(payloadValue: { userErrors: UserError[] }, expected: [string, string[] | null][]) {
  const got = payloadValue.userErrors.map((e) => [e.code, e.field] as [string, string[] | null]);
  expect(got.sort(), JSON.stringify(payloadValue.userErrors)).toEqual([...expected].sort());
  for (const error of payloadValue.userErrors) expect(error.message.length).toBeGreaterThan(10);
}

/** Asserts a top-level GraphQL error with this code (and no data for the field). */
export function expectTopLevel(result: GraphQLResult, code: string, field?: string) {
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe(code);
  if (field) expect(result.data?.[field] ?? null).toBeNull();
}
