import { builder, requireScopes } from '../../graphql/builder.ts';
import { serviceOf } from '../../context.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import { LINK_TTL_SECONDS } from './users.links.ts';
import { inviteUser, resendInvitation, revokeInvitation } from './users.invitations.ts';
import { SendUserEmailPayload } from './users.messages.schema.ts';
import { UpdateUserPayload } from './users.payloads.schema.ts';
import { UserRef } from './users.schema.ts';

const days = LINK_TTL_SECONDS.INVITATION / 86_400;

const InviteUserInput = builder.inputType('InviteUserInput', {
  description: 'Whom to invite, and to what.',
  fields: (t) => ({
    email: t.field({
      type: 'EmailAddress',
      required: true,
      description: 'The address the invitation goes to; a new one creates an INVITED user with it.',
    }),
    name: t.string({ description: 'The full name of a user the invitation creates; ignored for an existing user.' }),
    tenantId: t.globalID({
      for: TenantRef,
      description: 'Invite to this tenant: accepting makes the user a member. Omitted: an invitation to the realm.',
    }),
  }),
});

const InvitationInput = builder.inputType('InvitationInput', {
  description: 'Identifies one invitation: the user’s invitation to the realm, or to a tenant.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the invited user.' }),
    tenantId: t.globalID({
      for: TenantRef,
      description: 'The tenant of a tenant invitation; omitted for the invitation to the realm.',
    }),
  }),
});

const invitationArgs = (input: { userId: { id: string }; tenantId?: { id: string } | null }) => ({
  userId: input.userId.id,
  tenantId: input.tenantId?.id ?? null,
});

builder.mutationField('inviteUser', (t) =>
  t.field({
    type: SendUserEmailPayload,
    description: `Invites someone by email: a one-time link (working ${days} days) leads to a hosted page where they choose a password under the realm’s policy and become ACTIVE (then set up an authenticator at their first sign-in when the realm requires MFA). A new address creates an INVITED user, who cannot sign in until they accept. With \`tenantId\` the invitation is to that tenant, and accepting it makes the user a member; an existing user can be invited to a tenant this way. TAKEN when a user who is not INVITED has the address and no tenant is given (inviting an INVITED user again sends a new link); INVALID_STATE when the user is a member of the tenant already; TENANCY_VIOLATION when an ISOLATED_POOL realm’s user belongs to another tenant.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: InviteUserInput, required: true, description: 'Whom to invite, and to what.' }) },
    resolve: (_root, { input }, ctx) =>
      inviteUser(serviceOf(ctx), {
        email: input.email,
        name: input.name ?? null,
        tenantId: input.tenantId?.id ?? null,
      }),
  }),
);

builder.mutationField('resendInvitation', (t) =>
  t.field({
    type: SendUserEmailPayload,
    description: `Sends the user’s invitation again with a new link (working ${days} days); the earlier link stops working. Works after the earlier one expired. INVALID_STATE when the user was never invited (to this tenant), the invitation was revoked (send a new one with \`inviteUser\`) or accepted already.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: InvitationInput, required: true, description: 'The invitation.' }) },
    resolve: (_root, { input }, ctx) => resendInvitation(serviceOf(ctx), invitationArgs(input)),
  }),
);

builder.mutationField('revokeInvitation', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Revokes the user’s open invitation: its link stops working at once. An INVITED user stays INVITED (delete it with `deleteUser`, or invite it again). INVALID_STATE when no invitation is open (none was sent, or it was accepted, revoked or has expired).',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: InvitationInput, required: true, description: 'The invitation.' }) },
    resolve: (_root, { input }, ctx) => revokeInvitation(serviceOf(ctx), invitationArgs(input)),
  }),
);
