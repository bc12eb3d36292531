import type { GraphQLInputType } from 'graphql';
import type { Logger } from 'pino';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { principalContext, type Principal } from '../../context.ts';
import { InvalidTokenError } from '../../auth/tokens.ts';
import { decodeInputValue, InputBoundsError } from '../../graphql/input-bounds.ts';
import type { FailureLimit } from '../../auth/rate-limit.ts';
import { recordDenial } from '../audit/audit.service.ts';
import { findRealm } from '../realm/realm.service.ts';
import type { UserFilter } from './users.filter.ts';
import { ExportRequestError, exportUsers, type ExportFormat } from './users.export.ts';

export interface ExportRouteDeps {
  prisma: PrismaClient;
  authenticate: (token: string) => Promise<Principal>;
  /** The schema's `UserFilter`: the filter is coerced and checked as the `users` argument is. */
  userFilterType: GraphQLInputType;
  /** Bounds the audit rows of refusals per caller, shared with GraphQL's. */
  denialLimit: FailureLimit;
  log: Logger;
}

const ROUTE = /^\/export\/([^/]+)\/users$/;
const MAX_BODY_BYTES = 64 * 1024;
const FORMATS = new Set<ExportFormat>(['csv', 'ndjson']);
const SCOPE = 'users:export';

function refusal(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store', ...headers } });
}

/** The export's parameters, from the query string (GET) or a JSON body (POST). */
async function parameters(request: Request, url: URL) {
  if (request.method === 'GET') {
    const fields = url.searchParams.get('fields');
    return {
      format: url.searchParams.get('format') ?? 'csv',
      filter: url.searchParams.get('filter'),
      filterIsText: true,
      fields: fields === null ? null : fields.split(',').map((field) => field.trim()),
    };
  }
  if ((request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    throw new ExportRequestError(415, 'BAD_REQUEST', 'The request body must be application/json.');
  }
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new ExportRequestError(413, 'BAD_REQUEST', `The request body must be at most ${MAX_BODY_BYTES} bytes.`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ExportRequestError(400, 'BAD_REQUEST', 'The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ExportRequestError(
      400,
      'BAD_REQUEST',
      'The request body must be a JSON object: { format, filter, fields }.',
    );
  }
  const { format, filter, fields } = body as Record<string, unknown>;
  if (fields !== undefined && (!Array.isArray(fields) || fields.some((field) => typeof field !== 'string'))) {
    throw new ExportRequestError(400, 'BAD_REQUEST', 'fields: must be a list of field names.');
  }
  if (format !== undefined && typeof format !== 'string') {
    throw new ExportRequestError(400, 'BAD_REQUEST', 'format: must be "csv" or "ndjson".');
  }
  return { format: format ?? 'csv', filter: filter ?? null, filterIsText: false, fields: (fields as string[]) ?? null };
}

/** The filter as the `users` argument gets it; a bad one is refused with the message GraphQL gives. */
function userFilter(raw: unknown, isText: boolean, type: GraphQLInputType): UserFilter | null {
  if (raw === null) return null;
  let value = raw;
  if (isText) {
    if ((raw as string).length > MAX_BODY_BYTES) {
      throw new ExportRequestError(400, 'BAD_USER_INPUT', `filter: at most ${MAX_BODY_BYTES} characters.`);
    }
    try {
      value = JSON.parse(raw as string) as object;
    } catch {
      throw new ExportRequestError(400, 'BAD_USER_INPUT', 'filter: must be a UserFilter written as JSON.');
    }
  }
  try {
    return decodeInputValue(value, type, 'filter') as UserFilter | null;
  } catch (error) {
    if (error instanceof InputBoundsError) throw new ExportRequestError(400, 'BAD_USER_INPUT', error.message);
    throw error;
  }
}

function attachmentName(realm: string, format: ExportFormat): string {
  return `users-${realm}-${new Date().toISOString().slice(0, 10)}.${format === 'csv' ? 'csv' : 'ndjson'}`;
}

/**
 * `GET|POST /export/{realm}/users`: every user a filter selects, streamed as CSV or NDJSON, for a
 * bearer token of that realm holding `users:export`. Null for any other path.
 */
export async function handleExportRequest(
  request: Request,
  url: URL,
  deps: ExportRouteDeps,
  meta: { requestId: string; ipAddress?: string | undefined },
): Promise<Response | null> {
  const match = ROUTE.exec(url.pathname);
  if (!match) return null;
  if (request.method !== 'GET' && request.method !== 'POST') {
    return refusal(405, 'METHOD_NOT_ALLOWED', 'Use GET or POST.', { allow: 'GET, POST' });
  }
  const header = request.headers.get('authorization');
  const [scheme, token, extra] = header?.split(' ') ?? [];
  if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
    return refusal(401, 'UNAUTHENTICATED', 'Send "Authorization: Bearer <access token>".', {
      'www-authenticate': 'Bearer',
    });
  }
  let principal: Principal;
  try {
    principal = await deps.authenticate(token);
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    return refusal(401, 'UNAUTHENTICATED', error.message, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  // Another realm's export and one of no realm look alike.
  const realm = await findRealm(deps.prisma, decodeURIComponent(match[1]!));
  if (realm?.id !== principal.realmId) return refusal(404, 'NOT_FOUND', 'No such realm for this token.');
  const ctx = principalContext(deps.prisma, principal, meta);
  if (!principal.scopes.has(SCOPE)) {
    // Audited as GraphQL's refusals are, within the same per-caller limit.
    if (await deps.denialLimit.withinLimit(`${ctx.realmId}:${ctx.caller.id}`)) {
      await recordDenial(ctx, 'export', [{ field: `${request.method} /export/{realm}/users`, missingScopes: [SCOPE] }]);
    }
    return Response.json(
      { error: { code: 'FORBIDDEN', message: `Exporting users needs the scope ${SCOPE}.`, missingScopes: [SCOPE] } },
      { status: 403, headers: { 'cache-control': 'no-store' } },
    );
  }
  try {
    const params = await parameters(request, url);
    if (!FORMATS.has(params.format as ExportFormat)) {
      throw new ExportRequestError(400, 'BAD_REQUEST', 'format: must be "csv" or "ndjson".');
    }
    const format = params.format as ExportFormat;
    const filter = userFilter(params.filter, params.filterIsText, deps.userFilterType);
    const { stream } = await exportUsers(ctx, { format, filter, fields: params.fields, signal: request.signal });
    return new Response(stream, {
      headers: {
        'content-type':
          format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="${attachmentName(realm.name, format)}"`,
        'cache-control': 'no-store',
      },
    });
  } catch (error) {
    if (error instanceof ExportRequestError) return refusal(error.status, error.code, error.message);
    throw error;
  }
}
