import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { MfaFactorType, Prisma } from '../../src/generated/prisma/client.ts';
import type { GraphQLResult, TestServer } from '../helpers/server.ts';

export const USER_ERRORS = 'userErrors { code field message }';

export interface UserErrorResult {
  code: string;
  field: string[] | null;
  message: string;
}

/**
 * Every row a user mutation can touch, in all realms, with the audit trail: compare two
 * snapshots to prove a refused mutation changed nothing (no audit row either).
 */
export async function userState(server: TestServer) {
  const p = server.db.prisma;
  const byId = { orderBy: { id: 'asc' as const } };
  const [
    users,
    identities,
    mfaFactors,
    sessions,
    refreshTokens,
    adminNotes,
    memberships,
    userRoles,
    definitions,
    auditEvents,
  ] = await Promise.all([
    p.user.findMany(byId),
    p.identity.findMany(byId),
    p.mfaFactor.findMany(byId),
    p.session.findMany(byId),
    p.refreshToken.findMany(byId),
    p.adminNote.findMany(byId),
    p.tenantMembership.findMany(byId),
    p.userRole.findMany(byId),
    p.customAttributeDefinition.findMany(byId),
    // A refusal's own `denied` row is the one write it may make (SECURITY.md).
    p.auditEvent.findMany({ where: { outcome: { not: 'denied' } }, ...byId }),
  ]);
  return {
    users,
    identities,
    mfaFactors,
    sessions,
    refreshTokens,
    adminNotes,
    memberships,
    userRoles,
    definitions,
    auditEvents,
  };
}

/** The payload of the only root field of a successful GraphQL response. */
export function payloadOf<T = Record<string, any>>(result: GraphQLResult): T {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return Object.values(result.data!)[0] as T;
}

/**
 * Runs a mutation that must be refused with exactly `expected` user errors (code and field,
 * in order) and change nothing anywhere. Returns the payload.
 */
export async function expectRefused(
  server: TestServer,
  run: () => Promise<GraphQLResult>,
  expected: { code: string; field: string[] | null }[],
): Promise<Record<string, any>> {
  const before = await userState(server);
  const payload = payloadOf(await run());
  expect(payload.userErrors.map(({ code, field }: UserErrorResult) => ({ code, field }))).toEqual(expected);
  for (const error of payload.userErrors as UserErrorResult[]) expect(error.message.length).toBeGreaterThan(0);
  expect(await userState(server)).toEqual(before);
  return payload;
}

/** Runs a request that must fail as a whole with the top-level error `code`, changing nothing. */
export async function expectTopLevelError(
  server: TestServer,
  run: () => Promise<GraphQLResult>,
  code: string,
): Promise<GraphQLResult> {
  const before = await userState(server);
  const result = await run();
  expect(result.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  expect(await userState(server)).toEqual(before);
  return result;
}

/** The audit events of a realm written after `sinceId` (exclusive), oldest first. */
export async function auditSince(server: TestServer, realmId: string, sinceId: string | null) {
  return server.db.prisma.auditEvent.findMany({
    where: { realmId, ...(sinceId ? { id: { gt: sinceId } } : {}) },
    orderBy: { id: 'asc' },
  });
}

/** The id of the newest audit event of a realm (a marker for `auditSince`). */
export async function lastAuditId(server: TestServer, realmId: string): Promise<string | null> {
  const last = await server.db.prisma.auditEvent.findFirst({
    where: { realmId },
    orderBy: { id: 'desc' },
    select: { id: true },
  });
  return last?.id ?? null;
}

/** The database id inside a global id. */
export function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1]!;
}

/** A well-formed global id of `typename` that names nothing. */
export const missingId = (typename: string) => encodeGlobalId(typename, randomUUID());

export interface TestUser {
  id: string;
  globalId: string;
}

/** Creates a user directly in the database (the createUser mutation is not this suite's subject). */
export async function makeUser(
  server: TestServer,
  realmId: string,
  data: Omit<Prisma.UserUncheckedCreateInput, 'realmId'> = {},
): Promise<TestUser> {
  const user = await server.db.prisma.user.create({ data: { email: `${randomUUID()}@example.com`, ...data, realmId } });
  return { id: user.id, globalId: encodeGlobalId('User', user.id) };
}

/** A session of a user with `tokens` refresh tokens, directly in the database. */
export async function makeSession(
  server: TestServer,
  realmId: string,
  userId: string,
  options: { tokens?: number; expiresAt?: Date; revokedAt?: Date | null } = {},
): Promise<{ id: string; globalId: string; tokenIds: string[] }> {
  const p = server.db.prisma;
  const session = await p.session.create({
    data: {
      realmId,
      userId,
      expiresAt: options.expiresAt ?? new Date(Date.now() + 86_400_000),
      revokedAt: options.revokedAt ?? null,
      userAgent: 'test',
    },
  });
  const tokenIds: string[] = [];
  for (let i = 0; i < (options.tokens ?? 1); i++) {
    const token = await p.refreshToken.create({
      data: {
        realmId,
        sessionId: session.id,
        tokenHash: randomBytes(32).toString('hex'),
        expiresAt: new Date(Date.now() + 86_400_000),
        rotatedAt: i < (options.tokens ?? 1) - 1 ? new Date() : null,
      },
    });
    tokenIds.push(token.id);
  }
  return { id: session.id, globalId: encodeGlobalId('Session', session.id), tokenIds };
}

/** A second factor of a user, directly in the database. */
export async function makeFactor(
  server: TestServer,
  realmId: string,
  userId: string,
  type: MfaFactorType,
): Promise<string> {
  const factor = await server.db.prisma.mfaFactor.create({
    data: {
      realmId,
      userId,
      type,
      name: type.toLowerCase(),
      ...(type === 'WEBAUTHN'
        ? { credentialId: randomBytes(16).toString('base64url'), publicKey: 'pk' }
        : { secretEncrypted: 'x' }),
    },
  });
  return factor.id;
}
