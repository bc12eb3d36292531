import { expect } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { TestServer } from './server.ts';

/**
 * Every row of the access model and the audit trail, in all realms: compare two snapshots to
 * prove that a refused mutation changed nothing (no audit row but its own `denied` one).
 */
export async function accessState(server: TestServer) {
  const p = server.db.prisma;
  const byId = { orderBy: { id: 'asc' as const } };
  const [resources, resourceScopes, roles, roleScopes, userRoles, applicationRoles, userPermissions, auditEvents] =
    await Promise.all([
      p.resource.findMany(byId),
      p.resourceScope.findMany(byId),
      p.role.findMany(byId),
      p.roleScope.findMany({ orderBy: [{ roleId: 'asc' }, { scopeId: 'asc' }] }),
      p.userRole.findMany(byId),
      p.applicationRole.findMany({ orderBy: [{ applicationId: 'asc' }, { roleId: 'asc' }] }),
      p.userPermission.findMany({ orderBy: [{ userId: 'asc' }, { scopeId: 'asc' }] }),
      // A refusal's own `denied` row is the one write it may make (SECURITY.md).
      p.auditEvent.findMany({ where: { outcome: { not: 'denied' } }, ...byId }),
    ]);
  return { resources, resourceScopes, roles, roleScopes, userRoles, applicationRoles, userPermissions, auditEvents };
}

export type AccessState = Awaited<ReturnType<typeof accessState>>;

/** Runs `fn` and asserts the access model and audit trail are exactly as before. */
export async function expectNothingChanged<T>(server: TestServer, fn: () => Promise<T>): Promise<T> {
  const before = await accessState(server);
  const result = await fn();
  expect(await accessState(server)).toEqual(before);
  return result;
}

export interface UserErrorResult {
  field: string[] | null;
  message: string;
  code: string;
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

/** The built-in management resource of a realm and its scope global ids by name. */
export async function managementScopes(
  server: TestServer,
  realmId: string,
): Promise<{ resourceId: string; scopes: Record<string, string> }> {
  const resource = await server.db.prisma.resource.findFirstOrThrow({
    where: { realmId, builtIn: true },
    include: { scopes: true },
  });
  return {
    resourceId: encodeGlobalId('Resource', resource.id),
    scopes: Object.fromEntries(resource.scopes.map((s) => [s.name, encodeGlobalId('ResourceScope', s.id)])),
  };
}

/** The built-in administrator role of a realm (global id). */
export async function adminRoleId(server: TestServer, realmId: string): Promise<string> {
  const role = await server.db.prisma.role.findFirstOrThrow({ where: { realmId, builtIn: true } });
  return encodeGlobalId('Role', role.id);
}

/** The database id inside a global id. */
export function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1]!;
}
