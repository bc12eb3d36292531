/**
 * Every audit action Roster writes, `<noun>.<past-tense verb>`, with its meaning. `recordAudit`
 * takes only these names; the README lists the same table (a unit test keeps them equal).
 */
export const AUDIT_ACTIONS = {
  'application.created': 'An application was created (also the bootstrap administration client).',
  'application.updated': 'An application’s settings changed.',
  'application.deleted': 'An application was deleted.',
  'application.secret_rotated': 'An application got a new client secret.',
  'application.roles_assigned': 'Roles were assigned to an application.',
  'application.role_removed': 'A role was removed from an application.',
  'authorization.denied':
    'A request was refused with `FORBIDDEN`, or a mutation with `FORBIDDEN_GRANT` (outcome `DENIED`).',
  'custom_attribute.created': 'A custom attribute definition was created.',
  'custom_attribute.updated': 'A custom attribute definition changed.',
  'custom_attribute.deleted': 'A custom attribute definition was deleted.',
  'realm.created':
    'A realm was created: in its own trail, and, when the system realm’s administrators created it (`createRealm`), in theirs.',
  'realm.deleted': 'A realm was deleted with everything in it (`deleteRealm`; in the system realm’s trail).',
  'realm.demo_seeded': 'A realm was filled with demo data.',
  'realm.renamed': 'A realm’s display name changed (`roster realm rename`; its name never changes).',
  'realm.settings_updated': 'The realm’s settings changed.',
  'resource.created': 'An API resource was created (also the built-in management API).',
  'resource.updated': 'An API resource changed.',
  'resource.deleted': 'An API resource was deleted.',
  'resource.scope_added': 'A scope was added to an API resource.',
  'resource.scope_updated': 'A scope of an API resource changed.',
  'resource.scope_removed': 'A scope was removed from an API resource.',
  'role.created': 'A role was created (also the built-in administrator role).',
  'role.updated': 'A role changed.',
  'role.deleted': 'A role was deleted.',
  'role.scopes_assigned': 'Scopes were assigned to a role.',
  'role.scope_removed': 'A scope was removed from a role.',
  'tenant.created': 'A tenant was created.',
  'tenant.updated': 'A tenant changed.',
  'tenant.deleted': 'A tenant was deleted.',
  'user.created': 'A user was created.',
  'user.updated': 'A user’s profile changed (not its email, phone or username).',
  'user.replaced': 'A user’s profile was replaced as a whole (not its email, phone or username).',
  'user.credentials_changed': 'A user’s email, phone or username changed (by an update or a replacement).',
  'user.status_changed': 'A user’s status changed (other than a suspension or its lifting).',
  'user.suspended': 'A user was suspended (its sessions revoked unless the caller asked otherwise).',
  'user.unsuspended': 'A user’s suspension was lifted.',
  'user.locked': 'A user’s account was locked after repeated failed sign-ins.',
  'user.unlocked': 'A user’s lockout and failed sign-in count were cleared by an administrator.',
  'user.password_set': 'A user’s password was set.',
  'user.password_changed':
    'A user changed their expired or temporary password on the hosted sign-in page (actor: the user); their other sessions were revoked.',
  'user.password_expired': 'A user’s password was marked expired.',
  'user.deleted': 'A user was soft-deleted.',
  'user.erased': 'A user was deleted for good (its identifiers scrubbed from the audit trail).',
  'user.restored': 'A soft-deleted user was restored.',
  'user.roles_assigned': 'Roles were assigned to a user.',
  'user.roles_set': 'A user’s roles were replaced.',
  'user.role_removed':
    'A role was removed from a user (`removed`: its name), or several at once by `bulkUpdateUsers` (`removed`: their names).',
  'user.tenant_added': 'A user was added to a tenant.',
  'user.tenant_removed': 'A user was removed from a tenant.',
  'user.permissions_granted':
    'Scopes were granted to a user directly, without a role (`added`: each scope with its resource’s indicator).',
  'user.permissions_revoked':
    'Direct grants of scopes were taken from a user (`removed`: each scope with its resource’s indicator).',
  'user.applications_assigned': 'Applications were recorded as a user’s (`User.applications`) by an administrator.',
  'user.application_removed': 'An application was removed from a user’s (`User.applications`).',
  'user.signed_in':
    'A user signed in through the hosted sign-in page (actor: the user; `method`: `password`, `password+totp` or `password+recovery_code`), or to another application of the realm with their live session (`sso`); failed attempts are login events.',
  'user.signed_out': 'A user signed out (RP-initiated logout) and its session ended (actor: the user).',
  'user.refresh_token_reused':
    'A rotated refresh token was used again: its grant, the session it belonged to and that session’s tokens were revoked.',
  'user.sessions_revoked': 'All of a user’s sessions were revoked.',
  'user.session_revoked': 'One session of a user was revoked.',
  'user.mfa_enrolled': 'A user enrolled a second factor (with a fresh set of recovery codes).',
  'user.mfa_reset': 'A user’s TOTP and recovery-code factors were removed and its sessions revoked.',
  'user.passkeys_deleted': 'A user’s passkeys were removed and its sessions revoked.',
  'user.identity_linked': 'An external identity was linked to a user.',
  'user.identity_unlinked': 'An external identity was unlinked from a user.',
  'user.note_added': 'An admin note was added to a user.',
  'user.unique_id_set': 'A user’s unique id was set.',
  'users.exported':
    'Users were exported (`GET /export/{realm}/users`): the format, filter, fields and number of rows, and whether it ran to the end; never a value.',
} as const satisfies Record<`${string}.${string}`, string>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** `success` for a change; `denied` for a refused attempt (`authorization.denied`). */
export type AuditOutcome = 'success' | 'denied';
