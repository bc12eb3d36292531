import type { AuthMethod, MfaFactorType, UserFilter, UserOrder, UserStatus } from './generated/graphql.ts';

/** The state of the Users screen's filter panel. */
export type Tristate = '' | 'yes' | 'no';

export interface Filters {
  search: string;
  statuses: UserStatus[];
  roleId: string;
  tenantIds: string[];
  authMethods: AuthMethod[];
  mfaTypes: MfaFactorType[];
  oauthProviders: string[];
  countries: string[];
  locales: string[];
  emailVerified: Tristate;
  phoneVerified: Tristate;
  hasMfa: Tristate;
  hasPassword: Tristate;
  isLocked: Tristate;
  neverLoggedIn: Tristate;
  /** Days, as the select's value; '' for any time. */
  createdInLastDays: string;
  inactiveForDays: string;
  sort: string;
}

/** The panel's filters that pick any of several values: each has counts that ignore its own choice. */
export type ListFacet =
  'statuses' | 'tenantIds' | 'authMethods' | 'mfaTypes' | 'oauthProviders' | 'countries' | 'locales';

type TristateFacet = 'emailVerified' | 'phoneVerified' | 'hasMfa' | 'hasPassword' | 'isLocked' | 'neverLoggedIn';

/** Query-string names of the list filters and yes/no filters (`status` and `role` predate the rest). */
const LIST_PARAMS: Record<ListFacet, string> = {
  statuses: 'status',
  tenantIds: 'tenant',
  authMethods: 'method',
  mfaTypes: 'factor',
  oauthProviders: 'provider',
  countries: 'country',
  locales: 'locale',
};
const TRISTATE_PARAMS: Record<TristateFacet, string> = {
  emailVerified: 'verified',
  phoneVerified: 'phone-verified',
  hasMfa: 'mfa',
  hasPassword: 'password',
  isLocked: 'locked',
  neverLoggedIn: 'never-signed-in',
};

/** The day counts the "Created within" and "Inactive for" selects offer. */
export const DAY_CHOICES = ['1', '7', '30', '90', '365'] as const;

const tristate = (value: Tristate) => (value === '' ? undefined : value === 'yes');

/**
 * The API's filter for the panel's state. `leaveOut` names a list filter to leave out: its
 * counts show how many users each of its values would match given every other filter.
 */
export function userFilterOf(filters: Filters, leaveOut: ListFacet | null = null): UserFilter {
  const filter: UserFilter = {};
  const search = filters.search.trim();
  if (search) filter.search = search;
  for (const facet of Object.keys(LIST_PARAMS) as ListFacet[]) {
    if (facet !== leaveOut && filters[facet].length) (filter as Record<ListFacet, unknown>)[facet] = filters[facet];
  }
  if (filters.roleId) filter.roleIds = [filters.roleId];
  for (const facet of Object.keys(TRISTATE_PARAMS) as TristateFacet[]) {
    const value = tristate(filters[facet]);
    if (value !== undefined) filter[facet] = value;
  }
  if (filters.createdInLastDays) filter.createdInLastDays = Number(filters.createdInLastDays);
  if (filters.inactiveForDays) filter.inactiveForDays = Number(filters.inactiveForDays);
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
  tenantIds: [],
  authMethods: [],
  mfaTypes: [],
  oauthProviders: [],
  countries: [],
  locales: [],
  emailVerified: '',
  phoneVerified: '',
  hasMfa: '',
  hasPassword: '',
  isLocked: '',
  neverLoggedIn: '',
  createdInLastDays: '',
  inactiveForDays: '',
  sort: 'newest',
};

/** The values a list filter may take from the query string; null: any (ids, providers, codes). */
const KNOWN: Partial<Record<ListFacet, readonly string[]>> = {
  statuses: ['ACTIVE', 'INVITED', 'PENDING_VERIFICATION', 'SUSPENDED', 'INACTIVE', 'DELETED'],
  authMethods: ['EMAIL_CODE', 'OAUTH', 'PASSKEY', 'PASSWORD', 'PHONE'],
  mfaTypes: ['RECOVERY_CODES', 'TOTP', 'WEBAUTHN'],
};
const TRISTATES: readonly Tristate[] = ['', 'yes', 'no'];

const oneOf = <T extends string>(value: string | null, allowed: readonly T[], fallback: T): T =>
  allowed.includes(value as T) ? (value as T) : fallback;

/**
 * The panel's state from the page's query string (so that going back to the list, or a shared
 * link, restores it); values it does not know are left out.
 */
export function filtersFromParams(params: URLSearchParams): Filters {
  const filters: Filters = { ...EMPTY_FILTERS, search: params.get('q') ?? '', roleId: params.get('role') ?? '' };
  for (const [facet, name] of Object.entries(LIST_PARAMS) as [ListFacet, string][]) {
    const values = [...new Set(params.get(name)?.split(',') ?? [])].filter(
      (value) => value !== '' && (KNOWN[facet]?.includes(value) ?? true),
    );
    (filters as unknown as Record<ListFacet, string[]>)[facet] = values;
  }
  for (const [facet, name] of Object.entries(TRISTATE_PARAMS) as [TristateFacet, string][]) {
    filters[facet] = oneOf(params.get(name), TRISTATES, '');
  }
  filters.createdInLastDays = oneOf(params.get('created-within'), ['', ...DAY_CHOICES], '');
  filters.inactiveForDays = oneOf(params.get('inactive-for'), ['', ...DAY_CHOICES], '');
  filters.sort = oneOf(params.get('sort'), Object.keys(SORTS), EMPTY_FILTERS.sort);
  return filters;
}

/** The query string of the panel's state: only what differs from no filter and the default sort. */
export function paramsOfFilters(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.search) params.set('q', filters.search);
  for (const [facet, name] of Object.entries(LIST_PARAMS) as [ListFacet, string][]) {
    if (filters[facet].length) params.set(name, filters[facet].join(','));
  }
  if (filters.roleId) params.set('role', filters.roleId);
  for (const [facet, name] of Object.entries(TRISTATE_PARAMS) as [TristateFacet, string][]) {
    if (filters[facet]) params.set(name, filters[facet]);
  }
  if (filters.createdInLastDays) params.set('created-within', filters.createdInLastDays);
  if (filters.inactiveForDays) params.set('inactive-for', filters.inactiveForDays);
  if (filters.sort !== EMPTY_FILTERS.sort) params.set('sort', filters.sort);
  return params;
}
