import { Prisma } from '../generated/prisma/client.ts';
import { getDatamodel } from '../generated/pothos-types.ts';

/**
 * Relations of a Prisma `select` as SQL expressions over a row already read, so that a page and
 * the relations its GraphQL selection asks for are read in one statement: each relation becomes a
 * correlated subquery building JSON, decoded back into exactly what the Prisma client would have
 * returned for the same `select`. Only a known subset compiles (scalar fields of the types below,
 * relations joined on their foreign key, simple `where`, `orderBy`, `take` and `skip`); anything
 * else answers null and the caller loads through the Prisma client as before.
 */

type Field = ReturnType<typeof getDatamodel>['datamodel']['models'][string]['fields'][number];
interface Model {
  name: string;
  fields: Map<string, Field>;
}

const MODELS = new Map(
  Object.entries(getDatamodel().datamodel.models).map(([name, model]) => [
    name,
    { name, fields: new Map(model.fields.map((field) => [field.name, field])) } satisfies Model,
  ]),
);

/** Scalar types whose JSON form decodes exactly to the Prisma client's value (DateTime via Date). */
const JSON_SCALARS = new Set(['String', 'Boolean', 'Int', 'BigInt', 'DateTime', 'Json']);

/**
 * The columns that join `model.field` to its target: pairs of (column of the target, column of the
 * model). A foreign key of `[realmId, xId]` references `[realmId, id]` and one of `[xId]` references
 * `[id]` throughout the schema (checked against schema.prisma by a test); other keys do not compile.
 */
function joinColumns(model: Model, field: Field): [string, string][] | null {
  const target = MODELS.get(field.type);
  if (!target || !field.relationName) return null;
  const referencesOf = (from: readonly string[]) =>
    from.length === 1 ? ['id'] : from.length === 2 && from[0] === 'realmId' ? ['realmId', 'id'] : null;
  const own = field.relationFromFields ?? [];
  if (own.length) {
    const references = referencesOf(own);
    return references && references.map((column, i) => [column, own[i]!]);
  }
  const inverse = [...target.fields.values()].find(
    (candidate) => candidate.relationName === field.relationName && candidate !== field,
  );
  const from = inverse?.relationFromFields ?? [];
  const references = referencesOf(from);
  return from.length && references ? from.map((column, i) => [column, references[i]!]) : null;
}

export interface CompiledRelation {
  /** The relation's field name in the Prisma result. */
  field: string;
  /** A JSON expression over the outer row's alias. */
  sql: Prisma.Sql;
  /** The Prisma client's value from the expression's value. */
  decode: (value: unknown) => unknown;
}

class Unsupported extends Error {}

const quote = (name: string) => `"${name}"`;

function scalarType(field: Field): string {
  if (field.kind === 'enum') return field.type;
  if (field.kind !== 'scalar' || !JSON_SCALARS.has(field.type)) throw new Unsupported();
  return field.type;
}

/** A value of `where` compared with a column: parameters cast to the column's type. */
function valueSql(field: Field, value: unknown): Prisma.Sql {
  const type = scalarType(field);
  if (field.isList || type === 'Json') throw new Unsupported();
  if (type === 'DateTime' && value instanceof Date) return Prisma.sql`${value.toISOString()}::timestamptz`;
  if (type === 'Boolean' && typeof value === 'boolean') return Prisma.sql`${value}::boolean`;
  if (type === 'Int' && Number.isSafeInteger(value)) return Prisma.sql`${value}::int`;
  if (field.kind === 'enum' && typeof value === 'string') return Prisma.sql`${value}::${Prisma.raw(quote(type))}`;
  // A String column may be text, citext or uuid: a comparison with its type unknown is not compiled.
  throw new Unsupported();
}

const OPERATORS: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=', equals: '=' };

function whereSql(model: Model, alias: string, where: unknown): Prisma.Sql {
  if (where === undefined) return Prisma.sql`TRUE`;
  if (where === null || typeof where !== 'object' || Array.isArray(where)) throw new Unsupported();
  const parts: Prisma.Sql[] = [];
  for (const [key, condition] of Object.entries(where)) {
    if (condition === undefined) continue;
    if (key === 'AND' || key === 'OR') {
      const list = (Array.isArray(condition) ? condition : [condition]).map((inner) => whereSql(model, alias, inner));
      if (key === 'OR' && !list.length) parts.push(Prisma.sql`FALSE`);
      else if (list.length) parts.push(Prisma.sql`(${Prisma.join(list, key === 'AND' ? ' AND ' : ' OR ')})`);
      continue;
    }
    if (key === 'NOT') {
      const list = (Array.isArray(condition) ? condition : [condition]).map((inner) => whereSql(model, alias, inner));
      // As the client writes it: a condition that is NULL for a row (a NULL column) is not true negated either.
      for (const inner of list) parts.push(Prisma.sql`NOT (${inner})`);
      continue;
    }
    const field = model.fields.get(key);
    if (!field || field.kind === 'object') throw new Unsupported();
    const column = Prisma.raw(`${alias}.${quote(key)}`);
    if (condition === null) {
      parts.push(Prisma.sql`${column} IS NULL`);
      continue;
    }
    if (typeof condition !== 'object' || condition instanceof Date) {
      parts.push(Prisma.sql`${column} = ${valueSql(field, condition)}`);
      continue;
    }
    for (const [operator, value] of Object.entries(condition as Record<string, unknown>)) {
      if (value === undefined) continue;
      if (operator === 'not' && value === null) parts.push(Prisma.sql`${column} IS NOT NULL`);
      else if (operator === 'equals' && value === null) parts.push(Prisma.sql`${column} IS NULL`);
      else if (OPERATORS[operator])
        parts.push(Prisma.sql`${column} ${Prisma.raw(OPERATORS[operator])} ${valueSql(field, value)}`);
      else throw new Unsupported();
    }
  }
  return parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`TRUE`;
}

function orderBySql(model: Model, alias: string, orderBy: unknown): Prisma.Sql | null {
  if (orderBy === undefined) return null;
  const items = Array.isArray(orderBy) ? orderBy : [orderBy];
  const parts = items.flatMap((item: unknown) => {
    if (item === null || typeof item !== 'object') throw new Unsupported();
    return Object.entries(item).map(([key, direction]) => {
      const field = model.fields.get(key);
      if (!field || field.kind === 'object' || (direction !== 'asc' && direction !== 'desc')) throw new Unsupported();
      // PostgreSQL's default null order is Prisma's: last ascending, first descending.
      return Prisma.raw(`${alias}.${quote(key)} ${direction === 'asc' ? 'ASC' : 'DESC'}`);
    });
  });
  return parts.length ? Prisma.join(parts, ', ') : null;
}

interface Compiler {
  next: number;
}

type Decoder = (value: unknown) => unknown;

/** `json_build_object(...)` of a model's row under `alias`, with a decoder back to Prisma's shape. */
function objectSql(
  compiler: Compiler,
  model: Model,
  alias: string,
  select: unknown,
): { sql: Prisma.Sql; decode: Decoder } {
  if (select === null || typeof select !== 'object') throw new Unsupported();
  const entries = Object.entries(select).filter(([, value]) => value !== undefined && value !== false);
  // json_build_object takes at most 100 arguments.
  if (!entries.length || entries.length > 50) throw new Unsupported();
  const pairs: Prisma.Sql[] = [];
  const dates: string[] = [];
  const bigints: string[] = [];
  const lists: string[] = [];
  const nested: [string, Decoder][] = [];
  for (const [key, value] of entries) {
    if (key === '_count') {
      pairs.push(Prisma.sql`'_count', ${countsSql(compiler, model, alias, value)}`);
      continue;
    }
    const field = model.fields.get(key);
    if (!field) throw new Unsupported();
    if (field.kind === 'object') {
      const relation = relationSql(compiler, model, alias, field, value);
      pairs.push(Prisma.sql`${Prisma.raw(`'${key}'`)}, ${relation.sql}`);
      nested.push([key, relation.decode]);
      continue;
    }
    if (value !== true) throw new Unsupported();
    const type = scalarType(field);
    if (type === 'DateTime') {
      if (field.isList) throw new Unsupported();
      dates.push(key);
    }
    // The client reads a NULL list column as an empty list.
    if (field.isList) lists.push(key);
    // A JSON number would lose a BigInt's precision: it travels as text.
    const text = type === 'BigInt' ? '::text' : '';
    if (text) {
      if (field.isList) throw new Unsupported();
      bigints.push(key);
    }
    // Field names are identifiers of the schema (letters, digits, _), never input.
    pairs.push(Prisma.raw(`'${key}', ${alias}.${quote(key)}${text}`));
  }
  const decode: Decoder = (value) => {
    if (value === null) return null;
    const row = value as Record<string, unknown>;
    for (const key of dates) if (row[key] != null) row[key] = new Date(row[key] as string);
    for (const key of bigints) if (row[key] != null) row[key] = BigInt(row[key] as string);
    for (const key of lists) row[key] ??= [];
    for (const [key, inner] of nested) row[key] = inner(row[key]);
    return row;
  };
  return { sql: Prisma.sql`json_build_object(${Prisma.join(pairs, ', ')})`, decode };
}

const RELATION_ARGUMENTS = new Set(['select', 'include', 'where', 'orderBy', 'take', 'skip']);

/** `FROM <target> <inner> WHERE <joined to alias> AND <where>` for a relation of `model`. */
function relatedRows(compiler: Compiler, model: Model, alias: string, field: Field, where: unknown) {
  const target = MODELS.get(field.type);
  const join = joinColumns(model, field);
  if (!target || !join) throw new Unsupported();
  const inner = `r${compiler.next++}`;
  const conditions = join.map(([to, from]) => Prisma.raw(`${inner}.${quote(to)} = ${alias}.${quote(from)}`));
  if (where !== undefined) conditions.push(whereSql(target, inner, where));
  return {
    target,
    inner,
    from: Prisma.sql`FROM ${Prisma.raw(`${quote(target.name)} ${inner}`)} WHERE ${Prisma.join(conditions, ' AND ')}`,
  };
}

/** Prisma's `_count: { select: { relation: true | { where } } }`: a JSON object of numbers. */
function countsSql(compiler: Compiler, model: Model, alias: string, count: unknown): Prisma.Sql {
  const select = (count as { select?: unknown } | null)?.select;
  if (count === null || typeof count !== 'object' || Object.keys(count).length !== 1) throw new Unsupported();
  if (select === null || typeof select !== 'object') throw new Unsupported();
  const entries = Object.entries(select as Record<string, unknown>).filter(
    ([, value]) => value !== undefined && value !== false,
  );
  if (!entries.length || entries.length > 50) throw new Unsupported();
  const pairs = entries.map(([key, value]) => {
    const field = model.fields.get(key);
    if (field?.kind !== 'object' || !field.isList) throw new Unsupported();
    if (
      value !== true &&
      (value === null || typeof value !== 'object' || Object.keys(value).some((k) => k !== 'where'))
    )
      throw new Unsupported();
    const { from } = relatedRows(
      compiler,
      model,
      alias,
      field,
      value === true ? undefined : (value as { where?: unknown }).where,
    );
    return Prisma.sql`${Prisma.raw(`'${key}'`)}, (SELECT count(*)::int ${from})`;
  });
  return Prisma.sql`json_build_object(${Prisma.join(pairs, ', ')})`;
}

/** Every scalar field of a model, as `select: { field: true }` (what a relation selected with `true` reads). */
function allScalars(model: Model | undefined): Record<string, true> {
  if (!model) throw new Unsupported();
  return Object.fromEntries(
    [...model.fields.values()].filter((field) => field.kind !== 'object').map((field) => [field.name, true]),
  );
}

function relationSql(
  compiler: Compiler,
  model: Model,
  alias: string,
  field: Field,
  args: unknown,
): { sql: Prisma.Sql; decode: Decoder } {
  if (args === true) args = {};
  if (args === null || typeof args !== 'object') throw new Unsupported();
  if (Object.keys(args).some((key) => !RELATION_ARGUMENTS.has(key))) throw new Unsupported();
  const { select: chosen, include, where, orderBy, take, skip } = args as Record<string, unknown>;
  if (chosen !== undefined && include !== undefined) throw new Unsupported();
  if (include !== undefined && (include === null || typeof include !== 'object')) throw new Unsupported();
  // Without `select` the client reads every column, and with `include` the relations it names too.
  const select = chosen ?? { ...allScalars(MODELS.get(field.type)), ...include };
  const { target, inner, from } = relatedRows(compiler, model, alias, field, where);
  const object = objectSql(compiler, target, inner, select);
  if (!field.isList) {
    if (orderBy !== undefined || take !== undefined || skip !== undefined) throw new Unsupported();
    return { sql: Prisma.sql`(SELECT ${object.sql} ${from} LIMIT 1)`, decode: object.decode };
  }
  const order = orderBySql(target, inner, orderBy);
  if (take !== undefined && !(Number.isSafeInteger(take) && (take as number) >= 0)) throw new Unsupported();
  if (skip !== undefined && !(Number.isSafeInteger(skip) && (skip as number) >= 0)) throw new Unsupported();
  const page = Prisma.sql`${order ? Prisma.sql` ORDER BY ${order}` : Prisma.empty}${
    take !== undefined ? Prisma.sql` LIMIT ${take}::int` : Prisma.empty
  }${skip ? Prisma.sql` OFFSET ${skip}::int` : Prisma.empty}`;
  const list = Prisma.raw(`l${compiler.next++}`);
  return {
    // json_agg keeps the order of its ordered subquery, as the Prisma client's own relation joins rely on.
    sql: Prisma.sql`(SELECT COALESCE(json_agg(${list}.v), '[]'::json) FROM (SELECT ${object.sql} AS v ${from}${page}) ${list})`,
    decode: (value) => (value as unknown[]).map(object.decode),
  };
}

/** The name of the compiled part that holds the scalar fields the caller does not read itself. */
export const OTHER_COLUMNS = '*';

/**
 * The relations selected in `select` (a Prisma `select` of `model`) as JSON expressions over
 * `alias`, a row of `model`; null when any of them cannot be compiled. Scalar fields are left to
 * the caller where `readsColumn` says it reads them; the others are one more part, named
 * `OTHER_COLUMNS`, whose decoded value holds them (to be spread into the row).
 */
export function compileRelations(
  model: string,
  alias: string,
  select: Record<string, unknown>,
  readsColumn: (field: string) => boolean = () => true,
): CompiledRelation[] | null {
  const root = MODELS.get(model);
  if (!root) return null;
  const compiler: Compiler = { next: 0 };
  try {
    const others: Record<string, unknown> = {};
    const parts = Object.entries(select).flatMap(([field, args]): CompiledRelation[] => {
      if (field === '_count') return [{ field, sql: countsSql(compiler, root, alias, args), decode: (value) => value }];
      const relation = root.fields.get(field);
      if (!relation) throw new Unsupported();
      if (relation.kind !== 'object') {
        if (args !== true && args !== false && args !== undefined) throw new Unsupported();
        if (args === true && !readsColumn(field)) others[field] = true;
        return [];
      }
      const { sql, decode } = relationSql(compiler, root, alias, relation, args);
      return [{ field, sql, decode }];
    });
    if (Object.keys(others).length) parts.push({ field: OTHER_COLUMNS, ...objectSql(compiler, root, alias, others) });
    return parts;
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}
