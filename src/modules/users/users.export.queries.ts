import { Prisma } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/**
 * The exportable columns of a user (alias `u`), by field name, as text where SQL writes them:
 * citext's regular expressions ignore case, and char(2) loses its padding in `||` (the driver
 * reads `'X '`).
 */
const FIELD_SQL = {
  email: 'u.email::text',
  emailVerified: 'u."emailVerified"',
  phone: 'u.phone',
  phoneVerified: 'u."phoneVerified"',
  username: 'u.username::text',
  uniqueId: 'u."uniqueId"',
  name: 'u.name',
  givenName: 'u."givenName"',
  familyName: 'u."familyName"',
  nickname: 'u.nickname',
  status: 'u.status::text',
  suspendedReason: 'u."suspendedReason"',
  country: 'rpad(u.country::text, 2)',
  region: 'u.region',
  city: 'u.city',
  locale: 'u.locale',
  timezone: 'u.timezone',
  createdAt: 'u."createdAt"',
  updatedAt: 'u."updatedAt"',
  lastLoginAt: 'u."lastLoginAt"',
  lastActiveAt: 'u."lastActiveAt"',
  deletedAt: 'u."deletedAt"',
} as const;

export type ExportColumnField = keyof typeof FIELD_SQL;

/** Which users of an export a statement reads: ids after `after` up to `upto` (inclusive; open when null), at most `limit`. */
export interface ExportRange {
  after: string | null;
  upto: string | null;
  limit: number | null;
}

const limitOf = (range: ExportRange) => (range.limit === null ? Prisma.empty : Prisma.sql`LIMIT ${range.limit}`);

function rangeCondition(range: ExportRange): Prisma.Sql {
  const after = range.after === null ? Prisma.empty : Prisma.sql`AND u.id > ${range.after}::uuid`;
  const upto = range.upto === null ? Prisma.empty : Prisma.sql`AND u.id <= ${range.upto}::uuid`;
  return Prisma.sql`${after} ${upto}`;
}

/**
 * The id that ends the next `size` users of an export after `after` (the `size`-th one by id),
 * or null when fewer remain: an index walk without reading the users' values, so the batch after
 * it can start before this one is written.
 */
export async function exportBoundary(
  db: RawSqlClient,
  realmId: string,
  where: Prisma.Sql,
  after: string | null,
  size: number,
): Promise<string | null> {
  const rs = realmSql(db, realmId);
  const [row] = await rs.query<{ id: string }>`
    SELECT u.id FROM "User" u
    WHERE ${rs.realm('u')} AND ${where} ${rangeCondition({ after, upto: null, limit: null })}
    ORDER BY u.id
    OFFSET ${size - 1} LIMIT 1`;
  return row?.id ?? null;
}

/**
 * One batch of an export: the users matching `where` (over alias `u`) in `range`, by id
 * (time-ordered, stable while new users arrive after the last one read): `id`, the `fields`, and
 * the custom attributes as `__attributes` when asked for.
 */
export function exportUserRows(
  db: RawSqlClient,
  realmId: string,
  query: { where: Prisma.Sql; fields: ExportColumnField[]; attributes: boolean },
  range: ExportRange,
): Promise<Record<string, unknown>[]> {
  const rs = realmSql(db, realmId);
  const columns = query.fields.map((field) => Prisma.raw(`${FIELD_SQL[field]} AS "${field}"`));
  if (query.attributes) columns.push(Prisma.raw('u."customAttributes" AS "__attributes"'));
  const selected = columns.length ? Prisma.sql`, ${Prisma.join(columns, ', ')}` : Prisma.empty;
  return rs.query<Record<string, unknown>>`
    SELECT u.id ${selected} FROM "User" u
    WHERE ${rs.realm('u')} AND ${query.where} ${rangeCondition(range)}
    ORDER BY u.id
    ${limitOf(range)}`;
}

/** How a column's value is written (users.export.ts): the global id, text, a boolean, a time, a custom attribute. */
export type ExportColumnKind = 'id' | 'text' | 'boolean' | 'time' | 'attribute';

/** A column of a formatted export: its kind, the field (or attribute key) it reads, its header and NDJSON key. */
export interface FormattedColumn {
  kind: ExportColumnKind;
  key: string;
  name: string;
}

/** One batch formatted by the database; `text` is null when a row needs formatting in JavaScript. */
export interface FormattedBatch {
  rows: number;
  text: string | null;
}

// Expressions over the batch's columns (alias `b`: `cN` a column, `tN` the text of an attribute).
// They write what users.export.ts writes from the rows of exportUserRows, byte for byte: a value
// they cannot write that way (a custom attribute holding an object, an array or a number
// JavaScript would print otherwise) is NULL, which makes the row NULL and sends the batch to
// JavaScript. ascii() and strpos() rather than regular expressions: PostgreSQL converts a text
// to wide characters for every match, and these run for every cell.
const ISO_TIME = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
/** base64url("User:<id>") without padding, as encodeGlobalId writes it (41 bytes: one line of base64). */
const GLOBAL_ID = `translate(rtrim(encode(convert_to('User:' || b.id::text, 'UTF8'), 'base64'), '='), '+/', '-_')`;
/** Starts with `=`, `+`, `-`, `@`, tab or carriage return (ascii('') is 0). */
const formula = (text: string) => `ascii(${text}) IN (61, 43, 45, 64, 9, 13)`;
/**
 * A JSON number (the text of a jsonb number: no exponent, no leading zero) that JavaScript prints
 * unchanged: an integer of at most 15 characters, or a decimal with no trailing zero, at most 15
 * significant digits (so the shortest text of the double is this one) and at least 1e-6 in
 * magnitude (below, JavaScript writes an exponent).
 */
const jsNumber = (text: string) =>
  `(CASE WHEN (strpos(${text}, '.') = 0 AND length(${text}) <= 15) OR (${text} ~ '^-?[0-9]+\\.[0-9]*[1-9]$' ` +
  `AND ${text} !~ '^-?0\\.000000' AND length(ltrim(translate(${text}, '-.', ''), '0')) <= 15) THEN ${text} END)`;

/** A CSV cell (RFC 4180, formulas neutralised) of text. */
function csvText(value: string): string {
  const safe = `(CASE WHEN ${formula(value)} THEN '''' || ${value} ELSE ${value} END)`;
  const special =
    `strpos(${value}, '"') > 0 OR strpos(${value}, ',') > 0 ` +
    `OR strpos(${value}, chr(10)) > 0 OR strpos(${value}, chr(13)) > 0`;
  return `(CASE WHEN ${special} THEN '"' || replace(${safe}, '"', '""') || '"' ELSE ${safe} END)`;
}

function csvCell(kind: ExportColumnKind, i: number): string {
  const v = `b.c${i}`;
  const t = `b.t${i}`;
  switch (kind) {
    case 'id':
      return GLOBAL_ID;
    case 'text':
      return `COALESCE(${csvText(v)}, '')`;
    case 'boolean':
      return `(CASE WHEN ${v} THEN 'true' WHEN NOT ${v} THEN 'false' ELSE '' END)`;
    case 'time':
      return `COALESCE(to_char(${v} AT TIME ZONE 'UTC', ${ISO_TIME}), '')`;
    case 'attribute':
      return (
        `(CASE COALESCE(jsonb_typeof(${v}), 'null') WHEN 'null' THEN '' WHEN 'string' THEN ${csvText(t)} ` +
        `WHEN 'boolean' THEN ${t} ` +
        `WHEN 'number' THEN (CASE WHEN ascii(${t}) = 45 THEN '''' ELSE '' END) || ${jsNumber(t)} END)`
      );
  }
}

function jsonValue(kind: ExportColumnKind, i: number): string {
  const v = `b.c${i}`;
  const t = `b.t${i}`;
  switch (kind) {
    case 'id':
      return `'"' || ${GLOBAL_ID} || '"'`;
    case 'text':
      return `COALESCE(to_json(${v})::text, 'null')`;
    case 'boolean':
      return `(CASE WHEN ${v} THEN 'true' WHEN NOT ${v} THEN 'false' ELSE 'null' END)`;
    case 'time':
      return `COALESCE('"' || to_char(${v} AT TIME ZONE 'UTC', ${ISO_TIME}) || '"', 'null')`;
    case 'attribute':
      return (
        `(CASE COALESCE(jsonb_typeof(${v}), 'null') WHEN 'null' THEN 'null' WHEN 'string' THEN ${v}::text ` +
        `WHEN 'boolean' THEN ${t} WHEN 'number' THEN ${jsNumber(t)} END)`
      );
  }
}

/** Longest name PostgreSQL keeps whole (NAMEDATALEN - 1 bytes); a longer one it would cut. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * An NDJSON line written by row_to_json, several times faster than concatenating its parts: the
 * columns named as the keys (so each must be a whole identifier), NULL when an attribute holds a
 * value JavaScript writes otherwise (row_to_json writes objects and arrays with spaces).
 */
function rowToJsonLine(columns: FormattedColumn[]): string {
  const values = columns.map((column, i) => {
    const v = `b.c${i}`;
    const value =
      column.kind === 'id' ? GLOBAL_ID : column.kind === 'time' ? `to_char(${v} AT TIME ZONE 'UTC', ${ISO_TIME})` : v;
    return `${value} AS "${column.name.replace(/"/g, '""')}"`;
  });
  const plain = columns
    .map((column, i) => ({ column, i }))
    .filter(({ column }) => column.kind === 'attribute')
    .map(
      ({ i }) =>
        `(CASE COALESCE(jsonb_typeof(b.c${i}), 'null') WHEN 'number' THEN ${jsNumber(`b.t${i}`)} IS NOT NULL ` +
        `WHEN 'object' THEN false WHEN 'array' THEN false ELSE true END)`,
    );
  const ok = plain.length ? plain.join(' AND ') : 'true';
  return `(SELECT CASE WHEN ${ok} THEN row_to_json(r)::text || chr(10) END FROM (SELECT ${values.join(', ')}) r)`;
}

/**
 * One batch of an export as the database writes it: the users `exportUserRows` would return, each
 * as its CSV or NDJSON line, joined in id order into one text, with their number.
 * One value per batch instead of an object per user keeps what the export allocates close to the
 * bytes it sends. `text` is null when a row holds a value only JavaScript writes as it does
 * (exportUserRows then reads the batch).
 */
export function exportUserLines(
  db: RawSqlClient,
  realmId: string,
  query: { where: Prisma.Sql; format: 'csv' | 'ndjson'; columns: FormattedColumn[] },
  range: ExportRange,
): Promise<FormattedBatch[]> {
  const rs = realmSql(db, realmId);
  const selected: Prisma.Sql[] = [];
  const parts: Prisma.Sql[] = [];
  query.columns.forEach((column, i) => {
    if (column.kind === 'attribute') {
      selected.push(Prisma.sql`u."customAttributes" -> ${column.key} AS ${Prisma.raw(`c${i}`)}`);
      selected.push(Prisma.sql`u."customAttributes" ->> ${column.key} AS ${Prisma.raw(`t${i}`)}`);
    } else if (column.kind !== 'id')
      selected.push(Prisma.raw(`${FIELD_SQL[column.key as ExportColumnField]} AS c${i}`));
    if (query.format === 'csv') {
      if (i > 0) parts.push(Prisma.raw(`','`));
      parts.push(Prisma.raw(csvCell(column.kind, i)));
    } else {
      parts.push(Prisma.sql`${`${i === 0 ? '{' : ','}${JSON.stringify(column.name)}:`}::text`);
      parts.push(Prisma.raw(jsonValue(column.kind, i)));
    }
  });
  parts.push(Prisma.sql`${query.format === 'csv' ? '\r\n' : '}\n'}::text`);
  const rowToJson =
    query.format === 'ndjson' &&
    query.columns.every((column) => Buffer.byteLength(column.name) <= MAX_IDENTIFIER_BYTES);
  const line = rowToJson ? Prisma.raw(rowToJsonLine(query.columns)) : Prisma.join(parts, ' || ');
  const columns = selected.length ? Prisma.sql`, ${Prisma.join(selected, ', ')}` : Prisma.empty;
  return rs.query<FormattedBatch>`
    SELECT count(*)::int AS rows,
      CASE WHEN bool_and(l.line IS NOT NULL) THEN string_agg(l.line, '' ORDER BY b.id) END AS text
    FROM (
      SELECT u.id ${columns} FROM "User" u
      WHERE ${rs.realm('u')} AND ${query.where} ${rangeCondition(range)}
      ORDER BY u.id
      ${limitOf(range)}
    ) b
    CROSS JOIN LATERAL (SELECT ${line} AS line) l`;
}
