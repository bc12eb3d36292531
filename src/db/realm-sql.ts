import { Prisma } from '../generated/prisma/client.ts';

/** Any client or transaction (realm-scoped or not) that can run raw statements. */
export interface RawSqlClient {
  $queryRaw<T = unknown>(query: Prisma.Sql): Prisma.PrismaPromise<T>;
  $executeRaw(query: Prisma.Sql): Prisma.PrismaPromise<number>;
}

/** A raw statement that would read or write without the realm condition. */
export class MissingRealmConditionError extends Error {
  constructor(statement: string) {
    super(`Raw statement without the realm condition of its realm: ${statement.replace(/\s+/g, ' ').trim()}`);
  }
}

const ALIAS = /^[a-z_][a-z0-9_]*$/;

/**
 * Raw SQL of one realm: the only way to run a raw statement. `realm(alias)` writes the realm
 * condition (`alias."realmId" = <realm>`); `query` and `execute` refuse a statement that does
 * not hold it, bound to this realm, before it reaches the database. The realm-scoped Prisma
 * client (realm-scope.ts) covers every other statement.
 */
export interface RealmSql {
  readonly realmId: string;
  /** `alias."realmId" = <realm>::uuid`, or the bare column without an alias. */
  realm(alias?: string): Prisma.Sql;
  /** Runs a SELECT (or `… RETURNING`) of this realm; the rows. */
  query<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T[]>;
  /** Runs an UPDATE/DELETE of this realm; how many rows it changed. */
  execute(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

export function realmSql(db: RawSqlClient, realmId: string): RealmSql {
  const statement = (strings: TemplateStringsArray, values: unknown[]): Prisma.Sql => {
    const sql = Prisma.sql(strings, ...values);
    // Prisma flattens nested fragments: a condition written by realm() is `"realmId" = $n::uuid`
    // with this realm's id as the n-th value, wherever it sits in the statement.
    const bound = [...sql.text.matchAll(/"realmId" = \$(\d+)::uuid/g)].some(
      (match) => sql.values[Number(match[1]) - 1] === realmId,
    );
    if (!bound) throw new MissingRealmConditionError(sql.text);
    return sql;
  };
  return {
    realmId,
    realm(alias) {
      if (alias !== undefined && !ALIAS.test(alias)) throw new Error(`Not a table alias: ${alias}`);
      return Prisma.sql`${Prisma.raw(alias ? `${alias}."realmId"` : '"realmId"')} = ${realmId}::uuid`;
    },
    query: async <T>(strings: TemplateStringsArray, ...values: unknown[]) =>
      db.$queryRaw<T[]>(statement(strings, values)),
    execute: async (strings, ...values) => db.$executeRaw(statement(strings, values)),
  };
}
