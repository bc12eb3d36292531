import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { decodeGlobalId, encodeGlobalId } from '../../src/graphql/ids.ts';
import type { GraphQLResult, TestServer } from './server.ts';
import { databaseState, expectSameState, type StateOptions } from './state.ts';

export interface UserErrorResult {
  code: string;
  field: string[] | null;
  message: string;
}

export type ExpectedUserError = { code: string; field: string[] | null } | [code: string, field: string[] | null];

/**
 * The payload of the only root field of a response; fails on top-level errors. Typed by the
 * document (graphql()); the type argument `T` is only for the answers to string documents.
 */
export function payloadOf<T = never, R = Record<string, any>>(result: GraphQLResult<R>): Payload<T, R> {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return Object.values(result.data as object)[0] as Payload<T, R>;
}

/** The root field's value of a typed result `R`, or `T` when given (string documents). */
type Payload<T, R> = [T] extends [never] ? R[keyof R] : T;

/**
 * Asserts a payload's user errors: exactly these codes and fields, each with a message that
 * explains it (more than `minMessageLength` characters, default 10). In any order unless
 * `ordered`.
 */
export function expectUserErrors(
  payload: { userErrors: UserErrorResult[] },
  expected: readonly ExpectedUserError[],
  options: { ordered?: boolean; minMessageLength?: number } = {},
): void {
  const normal = (list: readonly ExpectedUserError[]) => {
    const pairs = list.map((e) => (Array.isArray(e) ? { code: e[0], field: e[1] } : { code: e.code, field: e.field }));
    return options.ordered ? pairs : pairs.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  };
  expect(normal(payload.userErrors), JSON.stringify(payload.userErrors)).toEqual(normal(expected));
  for (const error of payload.userErrors) expect(error.message.length).toBeGreaterThan(options.minMessageLength ?? 10);
}

/**
 * Runs a mutation that must be refused with exactly `expected` user errors (code and field,
 * in order) and change nothing in the database (no audit row either). Returns the payload.
 */
export async function expectRefused<T extends Record<string, any> = never, R = Record<string, any>>(
  server: TestServer,
  run: () => Promise<GraphQLResult<R>>,
  expected: readonly ExpectedUserError[],
  state: StateOptions = {},
): Promise<Payload<T, R>> {
  const before = await databaseState(server, state);
  const payload = payloadOf<T, R>(await run());
  expectUserErrors(payload as { userErrors: UserErrorResult[] }, expected, { ordered: true, minMessageLength: 0 });
  expectSameState(before, await databaseState(server, state));
  return payload;
}

/** Runs a request that must fail as a whole with the one top-level error `code`, changing nothing. */
export async function expectTopLevelError<R>(
  server: TestServer,
  run: () => Promise<GraphQLResult<R>>,
  code: string,
  state: StateOptions = {},
): Promise<GraphQLResult<R>> {
  const before = await databaseState(server, state);
  const result = await run();
  expect(
    result.errors?.map((e) => e.extensions?.code),
    JSON.stringify(result.errors),
  ).toEqual([code]);
  expectSameState(before, await databaseState(server, state));
  return result;
}

/** Asserts a response whose first top-level error has this code (and, if named, no data for the field). */
export function expectErrorCode<R>(result: GraphQLResult<R>, code: string, field?: keyof R & string): void {
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result.errors)).toBe(code);
  if (field) expect(result.data?.[field] ?? null).toBeNull();
}

/** The audit events of a realm written after the marker `sinceId` (exclusive), oldest first. */
export async function auditSince(server: TestServer, realmId: string, sinceId: string | null) {
  return server.db.prisma.auditEvent.findMany({
    where: { realmId, ...(sinceId ? { id: { gt: sinceId } } : {}) },
    orderBy: { id: 'asc' },
  });
}

/** The id of the newest audit event of a realm: a marker for `auditSince`. */
export async function lastAuditId(server: TestServer, realmId: string): Promise<string | null> {
  const last = await server.db.prisma.auditEvent.findFirst({
    where: { realmId },
    orderBy: { id: 'desc' },
    select: { id: true },
  });
  return last?.id ?? null;
}

/** The database id inside a global id. */
export const rawId = (globalId: string): string => decodeGlobalId(globalId).id;

/** A well-formed global id of `typename` that names nothing. */
export const missingId = (typename: string) => encodeGlobalId(typename, randomUUID());
