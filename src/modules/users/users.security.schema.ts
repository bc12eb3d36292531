import { builder, requireScopes } from '../../graphql/builder.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import { SessionRef } from './users.fields.schema.ts';
import { UpdateUserPayload, UserIdInput } from './users.payloads.schema.ts';
import { UserRef } from './users.schema.ts';
import { unlockUser } from './users.lockout.ts';
import {
  SECURITY_LIMITS,
  addAdminNote,
  deleteUserPasskeys,
  linkUserIdentity,
  resetUserMfa,
  revokeSession,
  revokeUserSessions,
  setUserUniqueId,
  unlinkUserIdentity,
  type RevokeSessionsResult,
} from './users.security.ts';
import { serviceOf } from '../../context.ts';

const RevokeSessionsPayload = builder.objectRef<RevokeSessionsResult>('RevokeSessionsPayload').implement({
  description: 'Result of revoking sessions.',
  fields: (t) => ({
    revokedSessionIds: t.idList({
      description:
        'Global ids of the sessions this call revoked (empty when none was active). Their refresh tokens no longer work.',
      resolve: (payload) => payload.revokedSessionIds.map((id) => encodeGlobalId('Session', id)),
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why nothing was revoked; empty on success.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

builder.mutationField('revokeUserSessions', (t) =>
  t.field({
    type: RevokeSessionsPayload,
    description:
      'Ends every active session of a user now: the sessions and all their refresh tokens are revoked in one transaction, so the next refresh fails.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => revokeUserSessions(serviceOf(ctx), input.id.id),
  }),
);

const RevokeSessionInput = builder.inputType('RevokeSessionInput', {
  description: 'Input of `revokeSession`.',
  fields: (t) => ({
    sessionId: t.globalID({ for: SessionRef, required: true, description: 'The global id of the session.' }),
  }),
});

builder.mutationField('revokeSession', (t) =>
  t.field({
    type: RevokeSessionsPayload,
    description: 'Ends one session now, with its refresh tokens. INVALID_STATE when it is already revoked or expired.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: RevokeSessionInput, required: true, description: 'The session.' }) },
    resolve: (_root, { input }, ctx) => revokeSession(serviceOf(ctx), input.sessionId.id),
  }),
);

builder.mutationField('resetUserMfa', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Removes the user’s TOTP and recovery-code factors (passkeys stay) and revokes its sessions in the same transaction. Nothing to remove: success, nothing changes.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => resetUserMfa(serviceOf(ctx), input.id.id),
  }),
);

builder.mutationField('unlockUser', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Lifts the user’s lockout now and clears its failed sign-in count and lockout history (each lockout without a successful sign-in between lasts twice the previous one). A user neither locked nor with failed sign-ins gets INVALID_STATE.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => unlockUser(serviceOf(ctx), { id: input.id.id }),
  }),
);

builder.mutationField('deleteUserPasskeys', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Removes the user’s passkeys (WebAuthn factors) and revokes its sessions in the same transaction. No passkey: success, nothing changes.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => deleteUserPasskeys(serviceOf(ctx), input.id.id),
  }),
);

const LinkUserIdentityInput = builder.inputType('LinkUserIdentityInput', {
  description: 'Input of `linkUserIdentity`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    provider: t.string({
      required: true,
      description: `The identity provider: lowercase letters, digits and hyphens, 1 to ${SECURITY_LIMITS.providerLength} characters, e.g. \`google\`.`,
    }),
    providerUserId: t.string({
      required: true,
      description: `The user’s id at the provider, 1 to ${SECURITY_LIMITS.providerUserIdLength} characters. The provider and this id are unique per realm.`,
    }),
    email: t.field({ type: 'EmailAddress', description: 'The email address the provider reports, if any.' }),
  }),
});

builder.mutationField('linkUserIdentity', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Links an external identity (social or enterprise login) to a user. TAKEN when another user of the realm has it; linking it again to the same user is a success that changes nothing.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: LinkUserIdentityInput, required: true, description: 'The user and the identity.' }) },
    resolve: (_root, { input }, ctx) =>
      linkUserIdentity(serviceOf(ctx), {
        userId: input.userId.id,
        provider: input.provider,
        providerUserId: input.providerUserId,
        email: input.email ?? null,
      }),
  }),
);

const UnlinkUserIdentityInput = builder.inputType('UnlinkUserIdentityInput', {
  description: 'Input of `unlinkUserIdentity`: the identity is named by provider and provider user id.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    provider: t.string({ required: true, description: 'The identity provider, e.g. `google`.' }),
    providerUserId: t.string({ required: true, description: 'The user’s id at the provider.' }),
  }),
});

builder.mutationField('unlinkUserIdentity', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Unlinks an external identity from a user. Refused (INVALID_STATE) when it is the user’s last way to sign in: no password, no other identity, no passkey, no verified email or phone.',
    ...requireScopes(['users:write']),
    args: {
      input: t.arg({ type: UnlinkUserIdentityInput, required: true, description: 'The user and the identity.' }),
    },
    resolve: (_root, { input }, ctx) =>
      unlinkUserIdentity(serviceOf(ctx), {
        userId: input.userId.id,
        provider: input.provider,
        providerUserId: input.providerUserId,
      }),
  }),
);

const AddAdminNoteInput = builder.inputType('AddAdminNoteInput', {
  description: 'Input of `addAdminNote`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    body: t.string({
      required: true,
      description: `The note, 1 to ${SECURITY_LIMITS.noteLength} characters after trimming; line breaks and tabs are kept.`,
    }),
  }),
});

builder.mutationField('addAdminNote', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Leaves a note on a user, authored by the caller (your client id, or your user id when you are signed in as a person); it appears first in `User.adminNotes`. The user’s `version` does not change.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: AddAdminNoteInput, required: true, description: 'The user and the note.' }) },
    resolve: (_root, { input }, ctx) => addAdminNote(serviceOf(ctx), { userId: input.userId.id, body: input.body }),
  }),
);

const SetUserUniqueIdInput = builder.inputType('SetUserUniqueIdInput', {
  description: 'Input of `setUserUniqueId`: give `uniqueId` (null clears it) or `generate: true`.',
  fields: (t) => ({
    id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    uniqueId: t.string({
      description: `The new unique id, 1 to ${SECURITY_LIMITS.uniqueIdLength} characters after trimming, unique per realm (deleted users included); null clears it.`,
    }),
    generate: t.boolean({
      defaultValue: false,
      description:
        'Generate a random unused unique id (`usr_` and 20 lowercase letters and digits) instead of giving one.',
    }),
    expectedVersion: t.int({ description: 'Refuse (VERSION_CONFLICT) unless the user is at this version.' }),
  }),
});

builder.mutationField('setUserUniqueId', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Sets, generates or clears the user’s external unique id (employee number, legacy id). TAKEN when another user of the realm has it.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: SetUserUniqueIdInput, required: true, description: 'The user and the unique id.' }) },
    resolve: (_root, { input }, ctx) =>
      setUserUniqueId(serviceOf(ctx), {
        id: input.id.id,
        ...(input.uniqueId === undefined ? {} : { uniqueId: input.uniqueId }),
        generate: input.generate ?? false,
        expectedVersion: input.expectedVersion ?? null,
      }),
  }),
);
