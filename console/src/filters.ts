import type {
  AuthMethod,
  CustomAttributeCondition,
  CustomAttributeType,
  MfaFactorType,
  UserFilter,
  UserOrder,
  UserStatus,
} from './generated/graphql.ts';

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
  regions: string[];
  cities: string[];
  timezones: string[];
  genders: string[];
  applicationIds: string[];
  emailVerified: Tristate;
  phoneVerified: Tristate;
  hasMfa: Tristate;
  hasPassword: Tristate;
  isLocked: Tristate;
  neverLoggedIn: Tristate;
  hasOAuth: Tristate;
  profileComplete: Tristate;
  hasPicture: Tristate;
  hasBio: Tristate;
  hasLocation: Tristate;
  /** Days, as the select's value; '' for any time. */
  createdInLastDays: string;
  inactiveForDays: string;
  activeInLastDays: string;
  /** Calendar days (`YYYY-MM-DD`, the browser's time zone), both ends included; '' for open. */
  createdFrom: string;
  createdTo: string;
  signedInFrom: string;
  signedInTo: string;
  /** Whole numbers as typed; '' for open. */
  ageMin: string;
  ageMax: string;
  failedMin: string;
  failedMax: string;
  attributes: AttributeCondition[];
  includeDeleted: boolean;
  sort: string;
}

/** How a custom attribute condition compares: the CustomAttributeCondition field it sets. */
export type AttributeOp = 'equals' | 'contains' | 'gte' | 'lte' | 'exists';

/** One condition on a custom attribute; `value` is typed as the attribute is (a boolean for `exists`). */
export interface AttributeCondition {
  key: string;
  op: AttributeOp;
  value: string | number | boolean;
}

/** The panel's filters that pick any of several values: each has counts that ignore its own choice. */
export type ListFacet =
  | 'statuses'
  | 'tenantIds'
  | 'authMethods'
  | 'mfaTypes'
  | 'oauthProviders'
  | 'countries'
  | 'locales'
  | 'regions'
  | 'cities'
  | 'timezones'
  | 'genders'
  | 'applicationIds';

type TristateFacet =
  | 'emailVerified'
  | 'phoneVerified'
  | 'hasMfa'
  | 'hasPassword'
  | 'isLocked'
  | 'neverLoggedIn'
  | 'hasOAuth'
  | 'profileComplete'
  | 'hasPicture'
  | 'hasBio'
  | 'hasLocation';

type DayFacet = 'createdInLastDays' | 'inactiveForDays' | 'activeInLastDays';
type DateFacet = 'createdFrom' | 'createdTo' | 'signedInFrom' | 'signedInTo';
type NumberFacet = 'ageMin' | 'ageMax' | 'failedMin' | 'failedMax';

/** Query-string names of the list filters and yes/no filters (`status` and `role` predate the rest). */
const LIST_PARAMS: Record<ListFacet, string> = {
  statuses: 'status',
  tenantIds: 'tenant',
  authMethods: 'method',
  mfaTypes: 'factor',
  oauthProviders: 'provider',
  countries: 'country',
  locales: 'locale',
  regions: 'region',
  cities: 'city',
  timezones: 'timezone',
  genders: 'gender',
  applicationIds: 'application',
};
const TRISTATE_PARAMS: Record<TristateFacet, string> = {
  emailVerified: 'verified',
  phoneVerified: 'phone-verified',
  hasMfa: 'mfa',
  hasPassword: 'password',
  isLocked: 'locked',
  neverLoggedIn: 'never-signed-in',
  hasOAuth: 'provider-linked',
  profileComplete: 'profile-complete',
  hasPicture: 'picture',
  hasBio: 'bio',
  hasLocation: 'location',
};
const DAY_PARAMS: Record<DayFacet, string> = {
  createdInLastDays: 'created-within',
  inactiveForDays: 'inactive-for',
  activeInLastDays: 'active-within',
};
const DATE_PARAMS: Record<DateFacet, string> = {
  createdFrom: 'created-from',
  createdTo: 'created-to',
  signedInFrom: 'signed-in-from',
  signedInTo: 'signed-in-to',
};
const NUMBER_PARAMS: Record<NumberFacet, string> = {
  ageMin: 'age-min',
  ageMax: 'age-max',
  failedMin: 'failed-min',
  failedMax: 'failed-max',
};

/** The day counts the "Created within" and "Inactive for" selects offer. */
export const DAY_CHOICES = ['1', '7', '30', '90', '365'] as const;

const tristate = (value: Tristate) => (value === '' ? undefined : value === 'yes');

/** Whether `value` is a calendar day `YYYY-MM-DD` that exists. */
export function isCalendarDay(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return day.toISOString().slice(0, 10) === value;
}

/** The instant a calendar day starts in the browser's time zone, `days` days later. */
function startOfDay(value: string, days = 0): string {
  const [year, month, day] = value.split('-').map(Number);
  return new Date(year!, month! - 1, day! + days).toISOString();
}

const WHOLE_NUMBER = /^\d{1,5}$/;
const ATTRIBUTE_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;
const ATTRIBUTE_OPS: readonly AttributeOp[] = ['equals', 'contains', 'gte', 'lte', 'exists'];

/** The API's condition for one of the panel's custom attribute conditions. */
const conditionOf = (condition: AttributeCondition): CustomAttributeCondition => ({
  key: condition.key,
  [condition.op]: condition.value,
});

/** A condition as the query string writes it: `key.op.value`, the value as JSON. */
const attributeParam = (condition: AttributeCondition) =>
  `${condition.key}.${condition.op}.${JSON.stringify(condition.value)}`;

function attributeOfParam(param: string): AttributeCondition | null {
  const [key = '', op = '', ...rest] = param.split('.');
  if (!ATTRIBUTE_KEY.test(key) || !ATTRIBUTE_OPS.includes(op as AttributeOp)) return null;
  let value: unknown;
  try {
    value = JSON.parse(rest.join('.'));
  } catch {
    return null;
  }
  const fits =
    op === 'exists'
      ? typeof value === 'boolean'
      : op === 'contains'
        ? typeof value === 'string'
        : ['string', 'number', 'boolean'].includes(typeof value) && !(op !== 'equals' && typeof value === 'boolean');
  return fits ? { key, op: op as AttributeOp, value: value as AttributeCondition['value'] } : null;
}

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
  for (const facet of Object.keys(DAY_PARAMS) as DayFacet[]) {
    if (filters[facet]) filter[facet] = Number(filters[facet]);
  }
  if (filters.createdFrom) filter.createdAfter = startOfDay(filters.createdFrom);
  if (filters.createdTo) filter.createdBefore = startOfDay(filters.createdTo, 1);
  if (filters.signedInFrom) filter.lastLoginAfter = startOfDay(filters.signedInFrom);
  if (filters.signedInTo) filter.lastLoginBefore = startOfDay(filters.signedInTo, 1);
  if (filters.ageMin) filter.ageMin = Number(filters.ageMin);
  if (filters.ageMax) filter.ageMax = Number(filters.ageMax);
  if (filters.failedMin) filter.failedLoginAttemptsMin = Number(filters.failedMin);
  if (filters.failedMax) filter.failedLoginAttemptsMax = Number(filters.failedMax);
  if (filters.attributes.length) filter.customAttributes = filters.attributes.map(conditionOf);
  if (filters.includeDeleted) filter.includeDeleted = true;
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
  regions: [],
  cities: [],
  timezones: [],
  genders: [],
  applicationIds: [],
  emailVerified: '',
  phoneVerified: '',
  hasMfa: '',
  hasPassword: '',
  isLocked: '',
  neverLoggedIn: '',
  hasOAuth: '',
  profileComplete: '',
  hasPicture: '',
  hasBio: '',
  hasLocation: '',
  createdInLastDays: '',
  inactiveForDays: '',
  activeInLastDays: '',
  createdFrom: '',
  createdTo: '',
  signedInFrom: '',
  signedInTo: '',
  ageMin: '',
  ageMax: '',
  failedMin: '',
  failedMax: '',
  attributes: [],
  includeDeleted: false,
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
  for (const [facet, name] of Object.entries(DAY_PARAMS) as [DayFacet, string][]) {
    filters[facet] = oneOf(params.get(name), ['', ...DAY_CHOICES], '');
  }
  for (const [facet, name] of Object.entries(DATE_PARAMS) as [DateFacet, string][]) {
    const value = params.get(name) ?? '';
    filters[facet] = isCalendarDay(value) ? value : '';
  }
  for (const [facet, name] of Object.entries(NUMBER_PARAMS) as [NumberFacet, string][]) {
    const value = params.get(name) ?? '';
    filters[facet] = WHOLE_NUMBER.test(value) ? String(Number(value)) : '';
  }
  filters.attributes = params
    .getAll('attr')
    .map(attributeOfParam)
    .filter((condition): condition is AttributeCondition => condition !== null);
  filters.includeDeleted = params.get('deleted') === 'include';
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
  for (const [facet, name] of [
    ...Object.entries(DAY_PARAMS),
    ...Object.entries(DATE_PARAMS),
    ...Object.entries(NUMBER_PARAMS),
  ] as [DayFacet | DateFacet | NumberFacet, string][]) {
    if (filters[facet]) params.set(name, filters[facet]);
  }
  for (const condition of filters.attributes) params.append('attr', attributeParam(condition));
  if (filters.includeDeleted) params.set('deleted', 'include');
  if (filters.sort !== EMPTY_FILTERS.sort) params.set('sort', filters.sort);
  return params;
}

/** How many of the panel's further filters are set (shown on the closed section). */
export function moreFiltersSet(filters: Filters): number {
  const lists = [filters.regions, filters.cities, filters.timezones, filters.genders, filters.applicationIds];
  const values = [
    filters.activeInLastDays,
    filters.createdFrom,
    filters.createdTo,
    filters.signedInFrom,
    filters.signedInTo,
    filters.ageMin,
    filters.ageMax,
    filters.failedMin,
    filters.failedMax,
    filters.hasOAuth,
    filters.profileComplete,
    filters.hasPicture,
    filters.hasBio,
    filters.hasLocation,
  ];
  return (
    lists.filter((list) => list.length).length +
    values.filter(Boolean).length +
    filters.attributes.length +
    (filters.includeDeleted ? 1 : 0)
  );
}

/** What the attribute filter needs of a realm's custom attribute definition. */
export interface AttributeDefinition {
  key: string;
  displayName: string;
  type: CustomAttributeType;
  options?: readonly string[] | null;
}

/** The comparisons each type of attribute offers, with their labels. */
export const OPS_BY_TYPE: Record<CustomAttributeType, [AttributeOp, string][]> = {
  STRING: [
    ['contains', 'contains'],
    ['equals', 'is'],
    ['exists', 'is set or not'],
  ],
  ENUM: [
    ['equals', 'is'],
    ['exists', 'is set or not'],
  ],
  BOOLEAN: [
    ['equals', 'is'],
    ['exists', 'is set or not'],
  ],
  NUMBER: [
    ['equals', 'is'],
    ['gte', 'is at least'],
    ['lte', 'is at most'],
    ['exists', 'is set or not'],
  ],
  DATE: [
    ['equals', 'is'],
    ['gte', 'is on or after'],
    ['lte', 'is on or before'],
    ['exists', 'is set or not'],
  ],
};

/** A condition as a sentence, for the list of chosen ones. */
export function describeCondition(condition: AttributeCondition, definition: AttributeDefinition | undefined): string {
  const name = definition?.displayName ?? condition.key;
  if (condition.op === 'exists') return `${name} ${condition.value ? 'is set' : 'is not set'}`;
  const op = OPS_BY_TYPE[definition?.type ?? 'STRING'].find(([candidate]) => candidate === condition.op)?.[1];
  const value = typeof condition.value === 'boolean' ? (condition.value ? 'yes' : 'no') : String(condition.value);
  return `${name} ${op ?? condition.op} ${value}`;
}

/**
 * The condition the attribute form describes, typed as the attribute is, or why it cannot be
 * added (the API would refuse it).
 */
export function conditionOfForm(
  definition: AttributeDefinition,
  op: AttributeOp,
  text: string,
): AttributeCondition | { error: string } {
  const key = definition.key;
  if (op === 'exists' || definition.type === 'BOOLEAN') return { key, op, value: text === 'true' };
  const value = text.trim();
  if (!value) return { error: 'Enter a value.' };
  if (definition.type === 'NUMBER') {
    const number = Number(value);
    return Number.isFinite(number) ? { key, op, value: number } : { error: 'Enter a number.' };
  }
  if (definition.type === 'DATE' && !isCalendarDay(value)) return { error: 'Enter a date.' };
  return { key, op, value };
}
