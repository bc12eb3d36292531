import type { Prisma } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { runInRequest } from '../../db/request-scope.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { recordAudit } from '../audit/audit.service.ts';
import {
  exportBoundary,
  exportUserLines,
  exportUserRows,
  type ExportRange,
  type ExportColumnField,
  type ExportColumnKind,
} from './users.export.queries.ts';
import { FilterError, userListCondition, type UserFilter } from './users.filter.ts';
import { filterEnvironment } from './users.list.ts';

export type ExportFormat = 'csv' | 'ndjson';

/** The exportable fields and how a value is written (their SQL: users.export.queries.ts). */
const FIELDS = {
  id: 'id',
  email: 'text',
  emailVerified: 'boolean',
  phone: 'text',
  phoneVerified: 'boolean',
  username: 'text',
  uniqueId: 'text',
  name: 'text',
  givenName: 'text',
  familyName: 'text',
  nickname: 'text',
  status: 'text',
  suspendedReason: 'text',
  country: 'text',
  region: 'text',
  city: 'text',
  locale: 'text',
  timezone: 'text',
  createdAt: 'time',
  updatedAt: 'time',
  lastLoginAt: 'time',
  lastActiveAt: 'time',
  deletedAt: 'time',
} as const satisfies Record<ExportColumnField | 'id', ExportColumnKind>;

type FieldName = keyof typeof FIELDS;

/** The fields an export can name, besides `customAttributes` and `customAttributes.<key>`. */
export const EXPORTABLE_FIELDS = Object.keys(FIELDS) as FieldName[];

/** Without `fields`: these, then every custom attribute of the realm. */
export const DEFAULT_FIELDS: FieldName[] = [
  'id',
  'email',
  'username',
  'name',
  'status',
  'emailVerified',
  'createdAt',
  'lastLoginAt',
];
const ATTRIBUTE_PREFIX = 'customAttributes.';
const MAX_FIELDS = 100;
/** Rows per statement: memory stays at one batch whatever the number of users. */
const BATCH = 1_000;

/** A refused export request: the HTTP status and a message naming what is wrong. */
export class ExportRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExportRequestError';
  }
}

interface Column {
  /** The header and NDJSON key. */
  name: string;
  kind: ExportColumnKind;
  /** Of the row the query returns. */
  key: string;
}

/**
 * The columns `requested` names (default fields and every custom attribute when null):
 * field names, `customAttributes` for every custom attribute, `customAttributes.<key>` for one.
 */
async function exportColumns(ctx: ServiceContext, requested: string[] | null): Promise<Column[]> {
  const definitions = (
    await ctx.db.customAttributeDefinition.findMany({ select: { key: true }, orderBy: { key: 'asc' } })
  ).map((definition) => definition.key);
  const names = requested ?? [...DEFAULT_FIELDS, 'customAttributes'];
  if (names.length === 0) throw new ExportRequestError(400, 'BAD_REQUEST', 'fields: name at least one field.');
  if (names.length > MAX_FIELDS) {
    throw new ExportRequestError(400, 'BAD_REQUEST', `fields: at most ${MAX_FIELDS} fields.`);
  }
  const columns: Column[] = [];
  const add = (column: Column) => {
    if (!columns.some((existing) => existing.name === column.name)) columns.push(column);
  };
  for (const name of names) {
    if (name in FIELDS) add({ name, kind: FIELDS[name as FieldName], key: name });
    else if (name === 'customAttributes') {
      for (const key of definitions) add({ name: `${ATTRIBUTE_PREFIX}${key}`, kind: 'attribute', key });
    } else if (name.startsWith(ATTRIBUTE_PREFIX) && definitions.includes(name.slice(ATTRIBUTE_PREFIX.length))) {
      add({ name, kind: 'attribute', key: name.slice(ATTRIBUTE_PREFIX.length) });
    } else {
      throw new ExportRequestError(
        400,
        'BAD_REQUEST',
        `fields: "${name.slice(0, 64)}" is not an exportable field; use ${EXPORTABLE_FIELDS.join(', ')}, customAttributes or customAttributes.<key> of a defined attribute.`,
      );
    }
  }
  return columns;
}

function exportQuery(columns: Column[], where: Prisma.Sql) {
  return {
    where,
    fields: columns
      .filter((column) => column.kind !== 'attribute' && column.kind !== 'id')
      .map((column) => column.key as ExportColumnField),
    attributes: columns.some((column) => column.kind === 'attribute'),
  };
}

/** A value as text: ISO 8601 UTC for times, `true`/`false`, the global id for `id`, JSON for an attribute that is no scalar. */
function text(column: Column, row: Record<string, unknown>): string | null {
  const value =
    column.kind === 'attribute'
      ? (row.__attributes as Record<string, unknown> | null)?.[column.key]
      : column.kind === 'id'
        ? row.id
        : row[column.key];
  if (value === null || value === undefined) return null;
  if (column.kind === 'id') return encodeGlobalId('User', value as string);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma or line break. A cell a
 * spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return)
 * is prefixed with `'`, so it shows as text.
 */
function csvCell(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvLine(cells: (string | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

function ndjsonLine(columns: Column[], row: Record<string, unknown>): string {
  const object: Record<string, unknown> = {};
  for (const column of columns) {
    const value =
      column.kind === 'boolean'
        ? (row[column.key] ?? null)
        : column.kind === 'attribute'
          ? ((row.__attributes as Record<string, unknown> | null)?.[column.key] ?? null)
          : text(column, row);
    object[column.name] = value;
  }
  return `${JSON.stringify(object)}\n`;
}

export interface UserExport {
  /** The body: the header (CSV), then the users, a batch at a time as the client reads. */
  stream: ReadableStream<Uint8Array>;
}

/**
 * Streams every user `filter` selects, by id, `BATCH` rows per statement and only as fast as the
 * client reads (memory stays at one batch). A client that goes away cancels the running statement
 * (`signal`) and no further one starts. The export is audited once it ends, finished or not:
 * the filter, fields, format and number of rows, never a value.
 */
export async function exportUsers(
  ctx: ServiceContext,
  input: { format: ExportFormat; filter: UserFilter | null; fields: string[] | null; signal: AbortSignal },
): Promise<UserExport> {
  const columns = await exportColumns(ctx, input.fields);
  let where: Prisma.Sql;
  try {
    where = userListCondition(input.filter, await filterEnvironment(ctx, input.filter));
  } catch (error) {
    if (error instanceof FilterError) throw new ExportRequestError(400, 'BAD_USER_INPUT', error.message);
    throw error;
  }
  const query = exportQuery(columns, where);
  const encoder = new TextEncoder();
  let rows = 0;
  let audited = false;
  const audit = async (completed: boolean) => {
    if (audited) return;
    audited = true;
    await recordAudit(ctx.db, ctx, {
      action: 'users.exported',
      targetType: 'User',
      changes: {
        format: input.format,
        filter: (input.filter ?? null) as Prisma.InputJsonValue,
        fields: columns.map((column) => column.name),
        rows,
        completed,
      },
    });
  };

  // Once a batch holds a value only JavaScript writes, the rest are formatted here: such values
  // (an attribute holding objects, say) tend to recur, and each batch would be read twice.
  let databaseFormats = true;
  /** The users of `range` as text: formatted by the database, or here when a row needs it. */
  const format = async (range: ExportRange): Promise<{ rows: number; chunk: string }> => {
    if (databaseFormats) {
      const [formatted] = await exportUserLines(ctx.db, ctx.realmId, { where, format: input.format, columns }, range);
      if (formatted && (formatted.rows === 0 || formatted.text !== null)) {
        return { rows: formatted.rows, chunk: formatted.text ?? '' };
      }
      databaseFormats = false;
    }
    const batch = await exportUserRows(ctx.db, ctx.realmId, query, range);
    let chunk = '';
    for (const row of batch) {
      chunk += input.format === 'csv' ? csvLine(columns.map((column) => text(column, row))) : ndjsonLine(columns, row);
    }
    return { rows: batch.length, chunk };
  };

  /**
   * The batches in id order, the next one formatted (on another connection) while the client
   * reads this one: writing a batch is the database's work (a core for each statement), so two
   * at a time go faster (1.4 times on two cores), and no more than two are ever held. A batch is
   * the range of ids up to the BATCH-th user after the last one, found first by an index walk
   * (which, for a filter few users match, reads the users the batch will read again).
   */
  async function* batches(): AsyncGenerator<{ rows: number; chunk: string }> {
    let after: string | null = null;
    let ahead: Promise<{ rows: number; chunk: string }> | null = null;
    for (;;) {
      const upto = await exportBoundary(ctx.db, ctx.realmId, where, after, BATCH);
      const next = format({ after, upto, limit: upto === null ? BATCH : null });
      // Read when its turn comes; until then, a failure (the client went away) is not unhandled.
      next.catch(() => {});
      if (ahead) yield await ahead;
      ahead = next;
      if (upto === null) break;
      after = upto;
    }
    yield await ahead;
  }
  const pending = runInRequest({ signal: input.signal }, () => batches());

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (input.format === 'csv') controller.enqueue(encoder.encode(csvLine(columns.map((column) => column.name))));
      },
      async pull(controller) {
        try {
          // Until a batch has text to send: a pull that sends nothing is not called again.
          for (;;) {
            const next = await runInRequest({ signal: input.signal }, () => pending.next());
            if (next.done) {
              await audit(true);
              controller.close();
              return;
            }
            rows += next.value.rows;
            if (next.value.chunk) {
              controller.enqueue(encoder.encode(next.value.chunk));
              return;
            }
          }
        } catch (error) {
          await audit(false).catch(() => {});
          controller.error(error);
        }
      },
      async cancel() {
        await pending.return(undefined);
        await audit(false);
      },
    },
    // Ask for the next batch only once the last one has been read.
    { highWaterMark: 0 },
  );
  return { stream };
}
