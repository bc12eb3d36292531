import type { UserFilter, UserOrder, UserStatus } from './generated/graphql.ts';

/** The state of the Users screen's filter panel. */
export type Tristate = '' | 'yes' | 'no';

export interface Filters {
  search: string;
  statuses: UserStatus[];
  roleId: string;
  emailVerified: Tristate;
  hasMfa: Tristate;
  sort: string;
}

const tristate = (value: Tristate) => (value === '' ? undefined : value === 'yes');

/** The API's filter for the panel's state; `withStatuses: false` leaves the status filter out (for its counts). */
export function userFilterOf(filters: Filters, withStatuses = true): UserFilter {
  const filter: UserFilter = {};
  const search = filters.search.trim();
  if (search) filter.search = search;
  if (withStatuses && filters.statuses.length) filter.statuses = filters.statuses;
  if (filters.roleId) filter.roleIds = [filters.roleId];
  const emailVerified = tristate(filters.emailVerified);
  if (emailVerified !== undefined) filter.emailVerified = emailVerified;
  const hasMfa = tristate(filters.hasMfa);
  if (hasMfa !== undefined) filter.hasMfa = hasMfa;
  return filter;
}

/** The sort orders offered, by the value of the Sort select. */
export const SORTS: Record<string, { label: string; order: UserOrder[] }> = {
  newest: { label: 'Newest first', order: [{ field: 'CREATED_AT', direction: 'DESC' }] },
  oldest: { label: 'Oldest first', order: [{ field: 'CREATED_AT', direction: 'ASC' }] },
  name: { label: 'Name, A to Z', order: [{ field: 'NAME', direction: 'ASC' }] },
  email: { label: 'Email, A to Z', order: [{ field: 'EMAIL', direction: 'ASC' }] },
  'last-login': { label: 'Last sign-in, latest first', order: [{ field: 'LAST_LOGIN_AT', direction: 'DESC' }] },
  status: { label: 'Status', order: [{ field: 'STATUS', direction: 'ASC' }] },
};

export const EMPTY_FILTERS: Filters = {
  search: '',
  statuses: [],
  roleId: '',
  emailVerified: '',
  hasMfa: '',
  sort: 'newest',
};

const STATUSES: readonly UserStatus[] = [
  'ACTIVE',
  'INVITED',
  'PENDING_VERIFICATION',
  'SUSPENDED',
  'INACTIVE',
  'DELETED',
];
const TRISTATES: readonly Tristate[] = ['', 'yes', 'no'];

const oneOf = <T extends string>(value: string | null, allowed: readonly T[], fallback: T): T =>
  allowed.includes(value as T) ? (value as T) : fallback;

/**
 * The panel's state from the page's query string (so that going back to the list, or a shared
 * link, restores it); values it does not know are left out.
 */
export function filtersFromParams(params: URLSearchParams): Filters {
  return {
    search: params.get('q') ?? '',
    statuses: [...new Set(params.get('status')?.split(',') ?? [])].filter((s): s is UserStatus =>
      STATUSES.includes(s as UserStatus),
    ),
    roleId: params.get('role') ?? '',
    emailVerified: oneOf(params.get('verified'), TRISTATES, ''),
    hasMfa: oneOf(params.get('mfa'), TRISTATES, ''),
    sort: oneOf(params.get('sort'), Object.keys(SORTS), EMPTY_FILTERS.sort),
  };
}

/** The query string of the panel's state: only what differs from no filter and the default sort. */
export function paramsOfFilters(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.search) params.set('q', filters.search);
  if (filters.statuses.length) params.set('status', filters.statuses.join(','));
  if (filters.roleId) params.set('role', filters.roleId);
  if (filters.emailVerified) params.set('verified', filters.emailVerified);
  if (filters.hasMfa) params.set('mfa', filters.hasMfa);
  if (filters.sort !== EMPTY_FILTERS.sort) params.set('sort', filters.sort);
  return params;
}
