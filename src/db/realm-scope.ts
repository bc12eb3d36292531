import type { PrismaClient } from '../generated/prisma/client.ts';

const WHERE_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
]);
const CREATE_OPERATIONS = new Set(['create', 'createMany', 'createManyAndReturn']);

/**
 * Adds the realm condition to the caller's filter. A plain top-level key when the caller did
 * not name that key, so Prisma can still batch concurrent `findUnique` calls into one query
 * (relation loads of a page of objects); an AND otherwise, so the caller's value is kept.
 */
function withRealmWhere(where: unknown, realmKey: string, realmId: string): Record<string, unknown> {
  const filter = (where ?? {}) as Record<string, unknown>;
  if (!(realmKey in filter)) return { ...filter, [realmKey]: realmId };
  const and: unknown[] =
    filter.AND === undefined ? [] : Array.isArray(filter.AND) ? (filter.AND as unknown[]) : [filter.AND];
  return { ...filter, AND: [...and, { [realmKey]: realmId }] };
}

function withRealmData(data: unknown, realmId: string): unknown {
  if (Array.isArray(data)) return data.map((row) => ({ ...(row as object), realmId }));
  return { ...(data as object), realmId };
}

/**
 * A Prisma client bound to one realm: every top-level read and write of every model is
 * constrained to `realmId` (the realm's own row for `Realm`), and every create is stamped
 * with it. Nested relations need no filter: every relation is a composite foreign key that
 * includes `realmId`, so a row of this realm can only reach rows of this realm.
 * Raw SQL is not covered: it goes through realmSql (realm-sql.ts), which requires the condition.
 */
export function scopeToRealm(prisma: PrismaClient, realmId: string): RealmPrisma {
  let clients = scopedClients.get(prisma);
  if (!clients) scopedClients.set(prisma, (clients = new Map<string, RealmPrisma>()));
  let client = clients.get(realmId);
  if (client) {
    // Most recently used last: the first entry is the one to drop when the map is full.
    clients.delete(realmId);
  } else {
    client = extendForRealm(prisma, realmId);
    if (clients.size >= SCOPED_CLIENTS_PER_PRISMA) clients.delete(clients.keys().next().value!);
  }
  clients.set(realmId, client);
  return client;
}

/**
 * Realm-scoped clients are kept per realm (a bounded number): building one per request, and
 * the per-model objects Prisma builds lazily on each, cost more than the request's own queries'
 * argument handling. A client holds nothing but the realm id, so reusing it changes nothing.
 */
const SCOPED_CLIENTS_PER_PRISMA = 1000;
const scopedClients = new WeakMap<PrismaClient, Map<string, RealmPrisma>>();

function extendForRealm(prisma: PrismaClient, realmId: string) {
  return prisma.$extends({
    name: 'realm-scope',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          const run = (next: Record<string, unknown>) => query(next);
          const realmKey = model === 'Realm' ? 'id' : 'realmId';
          const a = (args ?? {}) as Record<string, unknown>;
          if (WHERE_OPERATIONS.has(operation)) {
            return run({ ...a, where: withRealmWhere(a.where, realmKey, realmId) });
          }
          if (model === 'Realm' && operation !== 'upsert') {
            throw new Error(`Realm rows cannot be created through a realm-scoped client (${operation}).`);
          }
          if (CREATE_OPERATIONS.has(operation)) {
            return run({ ...a, data: withRealmData(a.data, realmId) });
          }
          if (operation === 'upsert') {
            return run({
              ...a,
              where: withRealmWhere(a.where, realmKey, realmId),
              create: withRealmData(a.create, realmId),
            });
          }
          throw new Error(`Operation ${model}.${operation} is not realm-scoped.`);
        },
      },
    },
  });
}

export type RealmPrisma = ReturnType<typeof extendForRealm>;
