import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.ts';
import type { Database } from '../../src/db/client.ts';

export type ModelName = Prisma.ModelName;
type Row = Record<string, unknown>;

/** Every table of the datamodel (a new model is included without changing this file). */
export const MODEL_NAMES = Object.values(Prisma.ModelName) as ModelName[];

export interface StateOptions {
  /** Only this realm's rows (tables without a realm column are left out). */
  realmId?: string;
  /** Tables left out of the snapshot. */
  ignore?: readonly ModelName[];
  /** Extra SQL conditions on a table's rows (`t` is the row). */
  where?: Partial<Record<ModelName, string>>;
  /**
   * Include the audit rows of authorization denials (and the counters that limit them). Left
   * out by default: SECURITY.md asks for one per denial, the only write a refused request makes
   * (test/audit/denials.test.ts and the authorization matrix check them).
   */
  denials?: boolean;
}

/** Every row of every table, per model name, sorted by primary key. */
export type DatabaseState = Partial<Record<ModelName, Row[]>>;

function scalarFields(model: ModelName): string[] {
  const fields = (Prisma as unknown as Record<string, Record<string, string> | undefined>)[`${model}ScalarFieldEnum`];
  if (!fields) throw new Error(`no scalar fields for model ${model}`);
  return Object.values(fields);
}

/** A row's identity: its id, or (for composite keys and key-value tables) the whole row. */
function rowKey(row: Row): string {
  return typeof row.id === 'string' ? row.id : typeof row.key === 'string' ? row.key : JSON.stringify(row);
}

/**
 * A snapshot of the whole database (optionally one realm's rows), read in one statement:
 * compare two to prove that a refused request changed nothing, audit trail included.
 * Values are as PostgreSQL renders them in JSON (timestamps to the microsecond).
 */
export async function databaseState(server: { db: Database }, options: StateOptions = {}): Promise<DatabaseState> {
  const ignore = new Set(options.ignore ?? []);
  const models = MODEL_NAMES.filter((model) => !ignore.has(model));
  const columns = models.map((model) => {
    const fields = scalarFields(model);
    const conditions: string[] = [];
    if (options.realmId !== undefined) {
      conditions.push(
        model === 'Realm' ? 't.id = $1::uuid' : fields.includes('realmId') ? 't."realmId" = $1::uuid' : 'false',
      );
    }
    if (options.where?.[model]) conditions.push(`(${options.where[model]})`);
    if (!options.denials && model === 'AuditEvent') conditions.push(`t.outcome <> 'denied'`);
    // On PostgreSQL the per-caller limit on denial rows keeps its counters in RateLimit.
    if (!options.denials && model === 'RateLimit') conditions.push(`t.key NOT LIKE 'denial-audit:%'`);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const order = fields.includes('id') ? 't.id' : fields.includes('key') ? 't.key' : 'to_jsonb(t)::text';
    return `(SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY ${order}), '[]'::jsonb) FROM "${model}" t ${where}) AS "${model}"`;
  });
  const params = options.realmId !== undefined ? [options.realmId] : [];
  const [row] = await server.db.prisma.$queryRawUnsafe<DatabaseState[]>(`SELECT ${columns.join(',\n')}`, ...params);
  return row!;
}

const show = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/** A readable list of the rows added, removed and changed between two snapshots; '' when equal. */
function describeStateDiff(before: DatabaseState, after: DatabaseState): string {
  const lines: string[] = [];
  const models = new Set([...Object.keys(before), ...Object.keys(after)] as ModelName[]);
  for (const model of models) {
    const old = new Map((before[model] ?? []).map((row) => [rowKey(row), row]));
    const now = new Map((after[model] ?? []).map((row) => [rowKey(row), row]));
    const table: string[] = [];
    for (const [key, row] of old) if (!now.has(key)) table.push(`  - ${show(row)}`);
    for (const [key, row] of now) {
      const previous = old.get(key);
      if (!previous) {
        table.push(`  + ${show(row)}`);
        continue;
      }
      if (isDeepStrictEqual(previous, row)) continue;
      const changed = Object.keys({ ...previous, ...row }).filter(
        (field) => !isDeepStrictEqual(previous[field], row[field]),
      );
      table.push(
        `  ~ ${key}: ${changed.map((field) => `${field} ${show(previous[field])} → ${show(row[field])}`).join(', ')}`,
      );
    }
    if (table.length) lines.push(`${model}:`, ...table);
  }
  return lines.join('\n');
}

/** Asserts two snapshots are equal, failing with the rows that differ. */
export function expectSameState(before: DatabaseState, after: DatabaseState): void {
  expect(describeStateDiff(before, after), 'the database changed').toBe('');
}

/** Runs `fn` and asserts the database (every table, or one realm's rows) is exactly as before. */
export async function expectUnchanged<T>(
  server: { db: Database },
  fn: () => Promise<T>,
  options: StateOptions = {},
): Promise<T> {
  const before = await databaseState(server, options);
  const result = await fn();
  expectSameState(before, await databaseState(server, options));
  return result;
}
