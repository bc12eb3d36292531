import type { Prisma, PrismaClient, Realm } from '../../generated/prisma/client.ts';
import { systemContext, type Caller, type ServiceContext } from '../../context.ts';
import {
  MANAGEMENT_ADMIN_ROLE_NAME,
  MANAGEMENT_API_INDICATOR,
  MANAGEMENT_API_NAME,
  managementScopesOf,
} from '../../auth/scopes.ts';
import { UUID } from '../../auth/ids.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { createAdminApplication, type AdminClient } from '../applications/applications.builtin.ts';
import { checkLabel, checkName } from '../input-checks.ts';
import {
  isSerializationFailure,
  isUniqueViolation,
  refused,
  userError,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';

/**
 * Who creates, renames and deletes realms: Roster itself (the CLI, bootstrap) unless `caller`
 * says otherwise. Each change is audited in the realm it changes, as this caller.
 */
export interface RealmsContext {
  prisma: PrismaClient;
  caller?: Caller;
  requestId?: string | undefined;
  /**
   * The system realm, when its administrators make the change through the API: creations and
   * deletions are also audited there, in the same transaction.
   */
  systemRealmId?: string;
}

function contextIn(ctx: RealmsContext, realmId: string): ServiceContext {
  return {
    ...systemContext(ctx.prisma, realmId),
    ...(ctx.caller ? { caller: ctx.caller } : {}),
    requestId: ctx.requestId,
  };
}

/** A realm as `roster realm list` shows it. */
export interface RealmListing {
  id: string;
  name: string;
  displayName: string | null;
  createdAt: Date;
  /** Whether it is the system realm. */
  system: boolean;
  /** Users that are not deleted, from the counts the database maintains. */
  users: number;
}

/** Checks a realm name: a DNS label (it is part of the realm's issuer URL) that does not look like an id. */
function checkRealmName(name: string, field: string[], errors: UserErrorShape[]): void {
  const own: UserErrorShape[] = [];
  checkLabel(name, 'realm name', field, own);
  if (!own.length && UUID.test(name)) {
    own.push(
      userError('INVALID', 'A realm name cannot have the form of a UUID: paths accept a realm id in its place.', field),
    );
  }
  errors.push(...own);
}

/** Trims a display name; empty (or null) clears it. */
function checkDisplayName(value: string | null | undefined, field: string[], errors: UserErrorShape[]): string | null {
  if (value == null || !value.trim()) return null;
  return checkName(value, field, errors);
}

/** What is wrong with the name and display name of a realm to create (nothing looked up). */
export function newRealmErrors(input: { name: string; displayName?: string | null }): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  checkRealmName(input.name, ['input', 'name'], errors);
  checkDisplayName(input.displayName, ['input', 'displayName'], errors);
  return errors;
}

/**
 * A realm's creation writes some 15 rows in one transaction: more than Prisma's default 5 s may
 * take on a busy machine, and nothing waits on it but its caller.
 */
const CREATION_TRANSACTION = { timeout: 60_000, maxWait: 30_000 } as const;

const realmTaken = (name: string) =>
  userError('TAKEN', `A realm named "${name}" already exists; realm names are unique.`, ['input', 'name']);

const systemRealmExists = () =>
  userError('TAKEN', 'There is a system realm already; Roster has at most one.', ['input', 'system']);

const systemRealmKept = (name: string) =>
  userError(
    'INVALID_STATE',
    `Realm "${name}" is the system realm, whose administrators manage the realms; only \`roster realm delete\` deletes it.`,
    ['input', 'name'],
  );

const realmNotFound = (name: string) => userError('NOT_FOUND', `No realm is named "${name}".`, ['input', 'name']);

/**
 * Creates a realm with what every realm has from the start: the built-in management API resource,
 * its scopes and the admin role holding them, audited in the new realm.
 */
async function createRealmRecord(
  tx: Prisma.TransactionClient,
  ctx: RealmsContext,
  input: { name: string; displayName: string | null; system?: boolean },
): Promise<{ realm: Realm; ctx: ServiceContext; adminRole: { id: string; name: string } }> {
  const realm = await tx.realm.create({ data: input });
  const realmCtx = contextIn(ctx, realm.id);
  await recordAudit(tx, realmCtx, {
    action: 'realm.created',
    targetType: 'Realm',
    targetId: realm.id,
    changes: { name: realm.name, ...(realm.displayName ? { displayName: realm.displayName } : {}) },
  });
  const resource = await tx.resource.create({
    data: { realmId: realm.id, name: MANAGEMENT_API_NAME, indicator: MANAGEMENT_API_INDICATOR, builtIn: true },
  });
  const scopes = await tx.resourceScope.createManyAndReturn({
    data: Object.entries(managementScopesOf(realm)).map(([name, description]) => ({
      realmId: realm.id,
      resourceId: resource.id,
      name,
      description,
    })),
  });
  const role = await tx.role.create({
    data: {
      realmId: realm.id,
      name: MANAGEMENT_ADMIN_ROLE_NAME,
      description: 'Full access to the Roster Management API of this realm.',
      builtIn: true,
    },
  });
  await tx.roleScope.createMany({
    data: scopes.map((scope) => ({ realmId: realm.id, roleId: role.id, scopeId: scope.id })),
  });
  await recordAudit(tx, realmCtx, {
    action: 'resource.created',
    targetType: 'Resource',
    targetId: resource.id,
    changes: { name: MANAGEMENT_API_NAME, scopes: scopes.map((s) => s.name) },
  });
  await recordAudit(tx, realmCtx, {
    action: 'role.created',
    targetType: 'Role',
    targetId: role.id,
    changes: { name: MANAGEMENT_ADMIN_ROLE_NAME },
  });
  return { realm, ctx: realmCtx, adminRole: { id: role.id, name: role.name } };
}

/**
 * Creates a realm, its built-ins and an admin client (the M2M application holding the admin
 * role) in one transaction: either all of them exist afterwards or none. The client gets
 * `adminCredentials` when given, generated ones otherwise; a generated secret is returned once
 * and stored only hashed.
 */
export async function createRealm(
  ctx: RealmsContext,
  input: {
    name: string;
    displayName?: string | null;
    adminCredentials?: { clientId: string; clientSecret: string } | undefined;
    /** Make it the system realm (`roster bootstrap --system`); refused while one exists. */
    system?: boolean;
  },
): Promise<MutationResult<'realm', Realm> & { adminClient: AdminClient | null }> {
  const refuse = (...userErrors: UserErrorShape[]) => ({ ...refused('realm', ...userErrors), adminClient: null });
  const errors = newRealmErrors(input);
  if (errors.length) return refuse(...errors);
  const name = input.name;
  const displayName = checkDisplayName(input.displayName, [], []);
  if (await ctx.prisma.realm.count({ where: { name } })) return refuse(realmTaken(name));
  const system = input.system ?? false;
  if (system && (await ctx.prisma.realm.count({ where: { system: true } }))) return refuse(systemRealmExists());
  try {
    return await ctx.prisma.$transaction(async (tx) => {
      const created = await createRealmRecord(tx, ctx, { name, displayName, system });
      const adminClient = await createAdminApplication(tx, created.ctx, created.adminRole, input.adminCredentials);
      if (ctx.systemRealmId) {
        await recordAudit(tx, contextIn(ctx, ctx.systemRealmId), {
          action: 'realm.created',
          targetType: 'Realm',
          targetId: created.realm.id,
          changes: { name, ...(displayName ? { displayName } : {}), adminClientId: adminClient.clientId },
        });
      }
      return { realm: created.realm, adminClient, userErrors: [] };
    }, CREATION_TRANSACTION);
  } catch (error) {
    // A concurrent create took the name (or made the system realm) between the check and the insert.
    if (isUniqueViolation(error) && (await ctx.prisma.realm.count({ where: { name } })))
      return refuse(realmTaken(name));
    if (isUniqueViolation(error) && system && (await ctx.prisma.realm.count({ where: { system: true } })))
      return refuse(systemRealmExists());
    throw error;
  }
}

/**
 * Returns the realm named `name`, creating it with its built-ins (but no admin client) when it
 * does not exist yet. For seeding; `createRealm` is the checked way to make a realm.
 */
export async function ensureRealm(
  prisma: PrismaClient,
  name: string,
  displayName?: string,
): Promise<{ realm: Realm; created: boolean }> {
  const existing = await prisma.realm.findUnique({ where: { name } });
  if (existing) return { realm: existing, created: false };
  const { realm } = await prisma.$transaction(
    (tx) => createRealmRecord(tx, { prisma }, { name, displayName: displayName ?? null }),
    CREATION_TRANSACTION,
  );
  return { realm, created: true };
}

type ListingReader = Pick<Prisma.TransactionClient, 'realm' | 'userCount' | 'userCountDelta'>;

async function readListings(db: ListingReader, where: Prisma.RealmWhereInput): Promise<RealmListing[]> {
  const realms = await db.realm.findMany({
    where,
    orderBy: { name: 'asc' },
    select: { id: true, name: true, displayName: true, createdAt: true, system: true },
  });
  if (!realms.length) return [];
  const realmIds = realms.map((realm) => realm.id);
  const counted = await db.userCount.groupBy({
    by: ['realmId'],
    where: { realmId: { in: realmIds }, metric: 'total' },
    _sum: { count: true },
  });
  const pending = await db.userCountDelta.groupBy({
    by: ['realmId'],
    where: { realmId: { in: realmIds }, metric: 'total' },
    _sum: { delta: true },
  });
  const users = new Map<string, number>();
  for (const row of counted) users.set(row.realmId, Number(row._sum.count ?? 0));
  for (const row of pending) users.set(row.realmId, (users.get(row.realmId) ?? 0) + Number(row._sum.delta ?? 0));
  return realms.map((realm) => ({ ...realm, users: users.get(realm.id) ?? 0 }));
}

/**
 * Every realm (or the one named `name`), by name, with its number of users. One snapshot: the
 * counts and the pending count changes, which a concurrent writer may fold into the counts, are
 * read together.
 */
export function listRealms(prisma: PrismaClient, filter: { name?: string } = {}): Promise<RealmListing[]> {
  const where = filter.name === undefined ? {} : { name: filter.name };
  return prisma.$transaction((tx) => readListings(tx, where), { isolationLevel: 'RepeatableRead' });
}

/**
 * Changes a realm's display name (null or empty clears it). A realm's *name* never changes: it
 * is part of the issuer, `{ROSTER_PUBLIC_URL}/oauth2/{name}`, in every token and client
 * configuration. Audited as `realm.renamed` when something changed.
 */
export async function renameRealm(
  ctx: RealmsContext,
  input: { name: string; displayName: string | null },
): Promise<MutationResult<'realm', Realm>> {
  const errors: UserErrorShape[] = [];
  const displayName = checkDisplayName(input.displayName, ['input', 'displayName'], errors);
  if (errors.length) return refused('realm', ...errors);
  return ctx.prisma.$transaction(async (tx) => {
    const before = await tx.realm.findUnique({ where: { name: input.name } });
    if (!before) return refused('realm', realmNotFound(input.name));
    if (before.displayName === displayName) return { realm: before, userErrors: [] };
    const realm = await tx.realm.update({ where: { id: before.id }, data: { displayName } });
    await recordAudit(tx, contextIn(ctx, realm.id), {
      action: 'realm.renamed',
      targetType: 'Realm',
      targetId: realm.id,
      changes: { displayName: { before: before.displayName, after: displayName } },
    });
    return { realm, userErrors: [] };
  });
}

/** Why the realm named `name` cannot be deleted, given how many realms there are; null if it can. */
function deletionRefusal(realm: { name: string } | null, name: string, realms: number): UserErrorShape | null {
  if (!realm) return realmNotFound(name);
  if (realms <= 1) {
    return userError(
      'INVALID_STATE',
      `Realm "${name}" is the only realm, and Roster keeps at least one; create another realm first (or, to start over, drop the database).`,
      ['input', 'name'],
    );
  }
  return null;
}

/**
 * What deleting the realm named `name` would remove, or why it would be refused (to ask for a
 * confirmation before `deleteRealm`, which checks again).
 */
export async function previewRealmDeletion(
  prisma: PrismaClient,
  name: string,
): Promise<MutationResult<'realm', RealmListing>> {
  const [realm] = await listRealms(prisma, { name });
  const refusal = deletionRefusal(realm ?? null, name, await prisma.realm.count());
  return refusal ? refused('realm', refusal) : { realm: realm!, userErrors: [] };
}

/** A realm's deletion cascades through every row of it, which takes a while for a large realm. */
const DELETION_TIMEOUT_MS = 30 * 60_000;
const DELETION_ATTEMPTS = 3;

/**
 * Deletes the realm named `name` and everything in it (every table's rows of the realm go by
 * their foreign keys' cascades): users, applications, keys, sessions, its audit trail. Refuses
 * to delete the only realm, and, through the API (`systemRealmId`), the system realm. Serializable,
 * so that two deletions cannot together remove the last two realms. The realm's own audit trail
 * goes with it; through the API the deletion is audited in the system realm.
 */
export async function deleteRealm(
  ctx: RealmsContext,
  input: { name: string },
): Promise<MutationResult<'realm', RealmListing>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.prisma.$transaction(
        async (tx) => {
          const [realm] = await readListings(tx, { name: input.name });
          const refusal =
            deletionRefusal(realm ?? null, input.name, await tx.realm.count()) ??
            (ctx.systemRealmId && realm!.system ? systemRealmKept(input.name) : null);
          if (refusal) return refused('realm', refusal);
          await tx.realm.delete({ where: { id: realm!.id } });
          if (ctx.systemRealmId) {
            await recordAudit(tx, contextIn(ctx, ctx.systemRealmId), {
              action: 'realm.deleted',
              // The deletion's cascade wrote endpoints, and the transaction is serializable.
              writesWebhookEndpoints: true,
              targetType: 'Realm',
              targetId: realm!.id,
              changes: { name: realm!.name, users: realm!.users },
            });
          }
          return { realm: realm!, userErrors: [] };
        },
        { isolationLevel: 'Serializable', timeout: DELETION_TIMEOUT_MS },
      );
    } catch (error) {
      if (attempt < DELETION_ATTEMPTS && isSerializationFailure(error)) continue;
      throw error;
    }
  }
}
