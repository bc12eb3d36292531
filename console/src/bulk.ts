/**
 * The Users screen's bulk actions and export, as far as they are not drawing: what each action
 * needs (scopes, arguments), what a selection sends, and how a dry run reads.
 */
import type {
  BulkSkipReason,
  BulkUpdateUsersInput,
  BulkUserAction,
  UserFilter,
  UserStatus,
} from './generated/graphql.ts';

/** The API's limit on users per `bulkUpdateUsers` call (BULK_LIMITS.users; a unit test holds them equal). */
export const BULK_LIMIT = 10_000;

export interface BulkActionInfo {
  label: string;
  /** The verb of the confirm button: "Suspend 3 users". */
  verb: string;
  /**
   * The scopes it needs: those `bulkUpdateUsers` asks for, and the one the console needs to list
   * the roles or tenants to choose from.
   */
  scopes: readonly string[];
  /** The argument it takes, besides the users. */
  argument: 'reason' | 'status' | 'roles' | 'tenant' | 'roles-in-tenant' | null;
}

export const BULK_ACTIONS: Record<BulkUserAction, BulkActionInfo> = {
  SUSPEND: { label: 'Suspend', verb: 'Suspend', scopes: ['users:write'], argument: 'reason' },
  UNSUSPEND: { label: 'Unsuspend', verb: 'Unsuspend', scopes: ['users:write'], argument: null },
  SET_STATUS: { label: 'Set the status', verb: 'Change the status of', scopes: ['users:write'], argument: 'status' },
  ASSIGN_ROLES: {
    label: 'Assign roles',
    verb: 'Assign roles to',
    scopes: ['users:roles'],
    argument: 'roles-in-tenant',
  },
  REMOVE_ROLES: {
    label: 'Remove roles',
    verb: 'Remove roles from',
    scopes: ['users:roles', 'roles:read'],
    argument: 'roles-in-tenant',
  },
  ADD_TO_TENANT: {
    label: 'Add to a tenant',
    verb: 'Add to the tenant',
    scopes: ['users:write', 'tenants:write', 'tenants:read'],
    argument: 'tenant',
  },
  REMOVE_FROM_TENANT: {
    label: 'Remove from a tenant',
    verb: 'Remove from the tenant',
    scopes: ['users:write', 'tenants:write', 'tenants:read'],
    argument: 'tenant',
  },
  REVOKE_SESSIONS: {
    label: 'Revoke sessions',
    verb: 'Revoke the sessions of',
    scopes: ['users:write'],
    argument: null,
  },
};

/** The scopes `action` needs that `scopes` lack. */
export const missingScopes = (action: BulkUserAction, scopes: ReadonlySet<string>) =>
  BULK_ACTIONS[action].scopes.filter((scope) => !scopes.has(scope));

/** Why `scopes` do not allow `action`, or null when they do. */
export function bulkActionReason(action: BulkUserAction, scopes: ReadonlySet<string>): string | null {
  const missing = missingScopes(action, scopes);
  if (!missing.length) return null;
  const names = missing.join(' and ');
  return `Needs the ${names} scope${missing.length > 1 ? 's' : ''}, which your roles do not grant.`;
}

/** The users a bulk action or export is about: those ticked, or every user matching the filter. */
export type Selection = { kind: 'ids'; ids: readonly string[] } | { kind: 'filter'; filter: UserFilter; count: number };

export const selectedCount = (selection: Selection) =>
  selection.kind === 'ids' ? selection.ids.length : selection.count;

/** Why "select all matching" cannot be offered for `total` users, or null when it can. */
export function selectAllReason(total: number): string | null {
  return total > BULK_LIMIT
    ? `${total.toLocaleString('en-US')} users match: a bulk action takes at most ${BULK_LIMIT.toLocaleString('en-US')}. Narrow the filter.`
    : null;
}

/** Ticks or unticks `ids` (a row, or the page's rows), keeping the order they were ticked in. */
export function toggle(selected: readonly string[], ids: readonly string[], on: boolean): string[] {
  if (!on) return selected.filter((id) => !ids.includes(id));
  return [...selected, ...ids.filter((id) => !selected.includes(id))];
}

/** The header checkbox of a page: all its rows ticked, some, or none. */
export function pageState(selected: readonly string[], pageIds: readonly string[]): 'all' | 'some' | 'none' {
  const ticked = pageIds.filter((id) => selected.includes(id)).length;
  return ticked === 0 ? 'none' : ticked === pageIds.length ? 'all' : 'some';
}

export interface BulkArguments {
  reason: string;
  status: UserStatus | '';
  roleIds: readonly string[];
  tenantId: string;
}

export const NO_ARGUMENTS: BulkArguments = { reason: '', status: '', roleIds: [], tenantId: '' };

/** The `bulkUpdateUsers` input for `action` on `selection`, with only the arguments it takes. */
export function bulkInputOf(
  selection: Selection,
  action: BulkUserAction,
  args: BulkArguments,
  dryRun: boolean,
): BulkUpdateUsersInput {
  const input: BulkUpdateUsersInput =
    selection.kind === 'ids'
      ? { ids: [...selection.ids], action, dryRun }
      : { filter: selection.filter, action, dryRun };
  switch (BULK_ACTIONS[action].argument) {
    case 'reason':
      if (args.reason.trim()) input.reason = args.reason.trim();
      break;
    case 'status':
      if (args.status) input.status = args.status;
      break;
    case 'roles-in-tenant':
      input.roleIds = [...args.roleIds];
      if (args.tenantId) input.tenantId = args.tenantId;
      break;
    case 'tenant':
      if (args.tenantId) input.tenantId = args.tenantId;
      break;
    case null:
      break;
  }
  return input;
}

const SKIP_REASONS: Record<BulkSkipReason, string> = {
  NOT_FOUND: 'erased meanwhile',
  NO_LONGER_MATCHES: 'no longer match the filter',
  DELETED: 'deleted (restore them first)',
  ALREADY_SUSPENDED: 'already suspended',
  NOT_SUSPENDED: 'not suspended',
  SAME_STATUS: 'already in that status',
  ALREADY_ASSIGNED: 'already hold the roles',
  NOT_ASSIGNED: 'hold none of the roles',
  ALREADY_MEMBER: 'already members',
  NOT_MEMBER: 'not members',
  NO_ACTIVE_SESSIONS: 'no active session',
};

interface Counts {
  matchedCount: number;
  changedCount: number;
  skippedCount: number;
  failedCount: number;
  skipped: readonly { reason: BulkSkipReason; count: number }[];
  failed: readonly { message: string; count: number }[];
}

const were = (count: number) => (count === 1 ? 'was' : 'were');
const users = (count: number) => `${count.toLocaleString('en-US')} ${count === 1 ? 'user' : 'users'}`;

/**
 * A bulk payload's counts in words, line by line: what a dry run would do (skips and failures
 * when there are any), or what the run did (changed, skipped and failed, always).
 */
export function describeCounts(result: Counts, dryRun: boolean): string[] {
  const lines = [
    `${users(result.matchedCount)} selected.`,
    `${users(result.changedCount)} ${dryRun ? 'would be' : were(result.changedCount)} changed.`,
  ];
  if (result.skippedCount || !dryRun) {
    const why = result.skipped.map((group) => `${group.count.toLocaleString('en-US')} ${SKIP_REASONS[group.reason]}`);
    const verb = dryRun ? 'would be' : were(result.skippedCount);
    lines.push(`${users(result.skippedCount)} ${verb} skipped${why.length ? `: ${why.join('; ')}` : ''}.`);
  }
  if (result.failedCount || !dryRun) {
    const why = result.failed.map((group) => `${group.count.toLocaleString('en-US')}: ${group.message}`);
    const verb = dryRun ? 'would fail' : 'failed';
    lines.push(`${users(result.failedCount)} ${verb}${why.length ? `: ${why.join('; ')}` : '.'}`);
  }
  return lines;
}

export type ExportFormat = 'csv' | 'ndjson';

/**
 * The columns an export can have, in the order they are written, with their labels: the API's
 * exportable fields, and `customAttributes` for one column per custom attribute.
 */
export const EXPORT_COLUMNS: readonly { field: string; label: string }[] = [
  { field: 'id', label: 'Id' },
  { field: 'email', label: 'Email' },
  { field: 'emailVerified', label: 'Email verified' },
  { field: 'phone', label: 'Phone' },
  { field: 'phoneVerified', label: 'Phone verified' },
  { field: 'username', label: 'Username' },
  { field: 'uniqueId', label: 'Unique id' },
  { field: 'name', label: 'Name' },
  { field: 'givenName', label: 'Given name' },
  { field: 'familyName', label: 'Family name' },
  { field: 'nickname', label: 'Nickname' },
  { field: 'status', label: 'Status' },
  { field: 'suspendedReason', label: 'Suspension reason' },
  { field: 'country', label: 'Country' },
  { field: 'region', label: 'Region' },
  { field: 'city', label: 'City' },
  { field: 'locale', label: 'Locale' },
  { field: 'timezone', label: 'Time zone' },
  { field: 'createdAt', label: 'Created' },
  { field: 'updatedAt', label: 'Updated' },
  { field: 'lastLoginAt', label: 'Last sign-in' },
  { field: 'lastActiveAt', label: 'Last active' },
  { field: 'deletedAt', label: 'Deleted' },
  { field: 'customAttributes', label: 'Every custom attribute' },
];

/** The columns of an export that names none (the API's default). */
export const DEFAULT_EXPORT_COLUMNS: readonly string[] = [
  'id',
  'email',
  'emailVerified',
  'username',
  'name',
  'status',
  'createdAt',
  'lastLoginAt',
  'customAttributes',
];

/** The `fields` of an export of the chosen columns, in the list's order; null for the API's default. */
export function exportFieldsOf(chosen: ReadonlySet<string>): string[] | null {
  const same =
    chosen.size === DEFAULT_EXPORT_COLUMNS.length && DEFAULT_EXPORT_COLUMNS.every((field) => chosen.has(field));
  return same ? null : EXPORT_COLUMNS.map((column) => column.field).filter((field) => chosen.has(field));
}

/** The file name from an export's `content-disposition`, or one made up from the realm and the format. */
export function exportFileName(disposition: string | null, realm: string, format: ExportFormat): string {
  const named = disposition && /filename="([^"\\/]+)"/.exec(disposition)?.[1];
  return named || `users-${realm}.${format}`;
}
