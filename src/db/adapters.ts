import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlDriverAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { createPGlite, IN_MEMORY } from './embedded.ts';

/**
 * Calls `onStatement` with the SQL of every statement sent through adapters of `factory`,
 * including statements inside transactions.
 */
export function observeStatements<F extends SqlDriverAdapterFactory>(
  factory: F,
  onStatement: (sql: string) => void,
): F {
  return override(factory, {
    connect: async () => observeQueryable(await factory.connect(), onStatement),
  });
}

function observeQueryable<Q extends SqlDriverAdapter | Transaction>(
  queryable: Q,
  onStatement: (sql: string) => void,
): Q {
  const overrides: Record<string, unknown> = {
    queryRaw(query: SqlQuery) {
      onStatement(query.sql);
      return queryable.queryRaw(query);
    },
    executeRaw(query: SqlQuery) {
      onStatement(query.sql);
      return queryable.executeRaw(query);
    },
  };
  if ('startTransaction' in queryable) {
    overrides.startTransaction = async (...args: Parameters<SqlDriverAdapter['startTransaction']>) =>
      observeQueryable(await queryable.startTransaction(...args), onStatement);
  }
  return override(queryable, overrides);
}

/**
 * A migration-aware adapter factory over PGlite for the schema engine. It fixes two gaps of
 * pglite-prisma-adapter: `executeScript` does not wait for the script (so a failing
 * migration would be recorded as applied), and the shadow database lacks the extensions.
 * The shadow database is `shadow` if given (left open), else a fresh in-memory instance.
 */
export function pgliteMigrationAdapter(pglite: PGlite, shadow?: PGlite): SqlMigrationAwareDriverAdapterFactory {
  const connectTo = async (instance: PGlite) =>
    withScriptRunner(await new PrismaPGlite(instance).connect(), (script) => instance.exec(script));
  return override(new PrismaPGlite(pglite), {
    connect: () => connectTo(pglite),
    async connectToShadowDb() {
      if (shadow) return connectTo(shadow);
      const instance = await createPGlite(IN_MEMORY);
      return override(await connectTo(instance), { dispose: () => instance.close() });
    },
  });
}

/**
 * A migration-aware adapter factory over a `pg` pool for the schema engine. adapter-pg's
 * `executeScript` splits scripts at every `;` (also inside strings and function bodies) and
 * runs the pieces on arbitrary pool connections; this sends the script as one simple query,
 * which PostgreSQL runs atomically, as Prisma's native engine does.
 */
export function pgMigrationAdapter(pool: pg.Pool): SqlMigrationAwareDriverAdapterFactory {
  const base = new PrismaPg(pool);
  return override(base, {
    connect: async () => withScriptRunner(await base.connect(), (script) => pool.query(script)),
  });
}

function withScriptRunner(adapter: SqlDriverAdapter, run: (script: string) => Promise<unknown>) {
  return override(adapter, {
    async executeScript(script: string) {
      try {
        await run(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    },
  });
}

/** A PostgreSQL error (of pg or PGlite) as the adapters report them; anything else as is. */
export function toDriverAdapterError(error: unknown): unknown {
  const e = error as Partial<Record<'code' | 'severity' | 'message' | 'detail' | 'column' | 'hint', string>>;
  if (typeof e?.code !== 'string' || typeof e.message !== 'string') return error;
  return new DriverAdapterError({
    kind: 'postgres',
    code: e.code,
    severity: e.severity ?? 'ERROR',
    message: e.message,
    detail: e.detail,
    column: e.column,
    hint: e.hint,
  });
}

/** `target` with some members replaced; every other member stays bound to `target`. */
export function override<T extends object>(target: T, members: Record<string, unknown>): T {
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(members, property)) return members[property];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
