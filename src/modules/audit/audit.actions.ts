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
  'mail.template_reset': 'A realm’s own email template of a kind was dropped: the default applies again.',
  'mail.template_set': 'A realm’s own email template of a kind was set (`changed`: which of subject, text and HTML).',
  'mail.test_sent': 'A test email was written to the outbox (`sendTestEmail`; `recipient`: its address).',
  'outbox.message_dead':
    'An outbox message failed its last attempt and is dead (actor `system`; `lastError`: the last failure).',
  'outbox.message_retried': 'A dead outbox message was given a new series of attempts (`retryOutboxMessage`).',
  'realm.created':
    'A realm was created: in its own trail, and, when the system realm’s administrators created it (`createRealm`), in theirs.',
  'realm.deleted': 'A realm was deleted with everything in it (`deleteRealm`; in the system realm’s trail).',
  'realm.demo_seeded': 'A realm was filled with demo data.',
  'realm.renamed': 'A realm’s display name changed (`roster realm rename`; its name never changes).',
  'realm.settings_updated': 'The realm’s settings changed.',
  'recovery_request.submitted':
    'A user who lost their second factor asked to recover their account on the hosted sign-in page (actor: the user).',
  'recovery_request.approved':
    'An account recovery request was approved: the user was emailed a one-time recovery link (`approveRecoveryRequest`).',
  'recovery_request.denied': 'An account recovery request was denied and the user emailed why (`denyRecoveryRequest`).',
  'recovery_request.completed':
    'A user recovered their account through the link (actor: the user): new password, authenticator and recovery codes removed, sessions revoked, enrolment required at the next sign-in.',
  'recovery_request.expired':
    'An account recovery request expired: `cause` `time`, unanswered or approved with its link unused (actor `system`, written by the background worker), or `replaced`, a newer approval’s link replaced its own (actor: whoever approved that one).',
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
  'user.password_reset':
    'A user chose a new password through a one-time reset link (actor: the user); their sessions were revoked.',
  'user.password_reset_email_sent':
    'An email with a one-time password reset link was written to the outbox (`sendPasswordResetEmail`, or the user asked on the sign-in page: actor the user).',
  'user.password_expired': 'A user’s password was marked expired.',
  'user.email_verified':
    'A user confirmed their email address through a one-time link (actor: the user); a PENDING_VERIFICATION user became ACTIVE.',
  'user.verification_email_sent':
    'An email with a one-time link confirming the user’s address was written to the outbox (`sendVerificationEmail`).',
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
    'A user signed in through the hosted sign-in page (actor: the user; `method`: `password`, `password+totp`, `password+recovery_code`, `password+passkey` or `passkey`), or to another application of the realm with their live session (`sso`); failed attempts are login events.',
  'user.signed_out': 'A user signed out (RP-initiated logout) and its session ended (actor: the user).',
  'user.refresh_token_reused':
    'A rotated refresh token was used again: its grant, the session it belonged to and that session’s tokens were revoked.',
  'user.sessions_revoked': 'All of a user’s sessions were revoked.',
  'user.session_revoked': 'One session of a user was revoked.',
  'user.mfa_enrolled':
    'A user enrolled a second factor: an authenticator (with a fresh set of recovery codes), or a passkey (`type` `WEBAUTHN`).',
  'user.mfa_reset': 'A user’s TOTP and recovery-code factors were removed and its sessions revoked.',
  'user.passkeys_deleted': 'A user’s passkeys were removed and its sessions revoked.',
  'user.impersonated':
    'An application got a token of the user by token exchange (RFC 8693), to act as them (actor: the application; `mode`: `READ_ONLY` or `FULL`, with the session, resource and scopes).',
  'user.passkey_counter_regressed':
    'A passkey signed in with a signature counter not above the one stored (a cloned authenticator?): the sign-in was refused.',
  'user.identity_linked': 'An external identity was linked to a user.',
  'user.identity_unlinked': 'An external identity was unlinked from a user.',
  'user.note_added': 'An admin note was added to a user.',
  'user.unique_id_set': 'A user’s unique id was set.',
  'user.invited':
    'A user was invited by email (`inviteUser`; `tenantId` for an invitation to a tenant); a new address creates the user INVITED first.',
  'user.invitation_resent': 'A user’s invitation was sent again with a new link (`resendInvitation`).',
  'user.invitation_revoked': 'A user’s open invitation was revoked: its link works no more (`revokeInvitation`).',
  'user.invitation_accepted':
    'A user accepted an invitation on the hosted page (actor: the user): an INVITED user chose a password (and enrolled an authenticator or a passkey where the realm requires one: `mfaEnrolled` `TOTP` or `WEBAUTHN`) and became ACTIVE; a tenant invitation made it a member.',
  'users.exported':
    'Users were exported (`GET /export/{realm}/users`): the format, filter, fields and number of rows, and whether it ran to the end; never a value.',
  'webhook.endpoint_created': 'A webhook endpoint was created (`url`, `eventTypes`, `enabled`; never its secret).',
  'webhook.endpoint_updated':
    'A webhook endpoint changed (before/after of its URL, event types, enabled flag, description).',
  'webhook.endpoint_deleted': 'A webhook endpoint was deleted with its pending and past deliveries.',
  'webhook.secret_rotated': 'A webhook endpoint got a new signing secret (never the secret itself).',
  'webhook.delivery_replayed':
    'A webhook message was written again to be delivered once more (`replayWebhookDelivery`; `replayOf`: the original).',
} as const satisfies Record<`${string}.${string}`, string>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** `success` for a change; `denied` for a refused attempt (`authorization.denied`). */
export type AuditOutcome = 'success' | 'denied';
