/** The scopes of the Roster Management API, the built-in resource of every realm. */
const MANAGEMENT_SCOPES = {
  'users:read': 'Read users, their profile, security state, roles and tenants.',
  'users:write': 'Create, update, suspend and delete users; manage their sessions and credentials.',
  'users:roles': 'Assign and remove roles of users.',
  'users:export': 'Export users in bulk.',
  'users:impersonate': "Get a user's token by token exchange (RFC 8693), to act as the user (impersonation).",
  'roles:read': 'Read roles and their scopes.',
  'roles:write': 'Create, update and delete roles and change their scopes.',
  'applications:read': 'Read applications.',
  'applications:write': 'Create, update and delete applications, rotate their secrets and roles.',
  'resources:read': 'Read API resources and their scopes.',
  'resources:write': 'Create, update and delete API resources and their scopes.',
  'tenants:read': 'Read tenants and their members.',
  'tenants:write': 'Create, update and delete tenants.',
  'audit:read': 'Read the audit trail.',
  'realm:read': 'Read the realm and its settings.',
  'realm:write': 'Change the realm settings.',
} as const;

export type ManagementScope = keyof typeof MANAGEMENT_SCOPES;

/**
 * The scopes only the system realm's management API has: other realms as wholes (their names,
 * sizes, creation and deletion), never their contents.
 */
export const SYSTEM_SCOPES = {
  'realms:read': 'List the realms with their number of users (system realm only).',
  'realms:write': 'Create and delete realms (system realm only).',
} as const;

/** The scopes of a realm's management API: the system realm's also has `SYSTEM_SCOPES`. */
export function managementScopesOf(realm: { system: boolean }): Record<string, string> {
  return realm.system ? { ...MANAGEMENT_SCOPES, ...SYSTEM_SCOPES } : MANAGEMENT_SCOPES;
}

export const MANAGEMENT_SCOPE_NAMES = Object.keys(MANAGEMENT_SCOPES) as ManagementScope[];

export const MANAGEMENT_API_NAME = 'Roster Management API';
/** Resource indicator and access-token audience of the management API (same in every realm). */
export const MANAGEMENT_API_INDICATOR = 'urn:roster:management-api';
export const MANAGEMENT_ADMIN_ROLE_NAME = 'Roster Administrator';

/** True when `granted` satisfies one alternative of `alternatives` (outer: any, inner: all). */
export function satisfies(granted: ReadonlySet<string>, alternatives: readonly (readonly string[])[]): boolean {
  return alternatives.some((all) => all.every((scope) => granted.has(scope)));
}

/** The scopes the caller lacks for the closest alternative (fewest missing). */
export function missingScopes(granted: ReadonlySet<string>, alternatives: readonly (readonly string[])[]): string[] {
  const candidates = alternatives.map((all) => all.filter((scope) => !granted.has(scope)));
  return candidates.sort((a, b) => a.length - b.length)[0] ?? [];
}

/** The OpenID Connect scopes that ask for claims about the user (none of them changes anything). */
const CLAIM_SCOPES = new Set(['openid', 'profile', 'email']);

/**
 * Whether a scope only reads: the OpenID Connect claim scopes and, by Roster's naming convention
 * for API scopes (`<noun>:<verb>`), those whose verb is `read`. An impersonation in READ_ONLY mode
 * gets only these.
 */
export function isReadScope(scope: string): boolean {
  return CLAIM_SCOPES.has(scope) || scope.endsWith(':read');
}
