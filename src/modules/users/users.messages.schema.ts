import type { OutboxMessage, User } from '../../generated/prisma/client.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import { serviceOf } from '../../context.ts';
import { OutboxMessageRef } from '../outbox/outbox.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import type { UserErrorShape } from '../user-error.ts';
import { LINK_TTL_SECONDS } from './users.links.ts';
import { sendUserLink } from './users.messages.ts';
import { UserIdInput } from './users.payloads.schema.ts';
import { UserRef } from './users.schema.ts';

export const SendUserEmailPayload = builder
  .objectRef<{ user: User | null; message: OutboxMessage | null; userErrors: UserErrorShape[] }>('SendUserEmailPayload')
  .implement({
    description: 'Result of writing an email with a one-time link to a user.',
    fields: (t) => ({
      user: t.field({
        type: UserRef,
        nullable: true,
        description: 'The user; null when nothing was sent.',
        resolve: (payload) => payload.user,
      }),
      message: t.field({
        type: OutboxMessageRef,
        nullable: true,
        description:
          'The email in the outbox (reading it needs `realm:read`); its body, holding the link, is never readable.',
        resolve: (payload) => payload.message,
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: 'Why nothing was sent; empty on success. When not empty, nothing changed.',
        resolve: (payload) => payload.userErrors,
      }),
    }),
  });

const hours = (seconds: number) => seconds / 3600;

builder.mutationField('sendVerificationEmail', (t) =>
  t.field({
    type: SendUserEmailPayload,
    description: `Emails the user a one-time link (working ${hours(LINK_TTL_SECONDS.EMAIL_VERIFICATION)} hours) to a hosted page that confirms their address: \`emailVerified\` becomes true, and a PENDING_VERIFICATION user ACTIVE. A newer link replaces the user’s earlier ones. INVALID_STATE when the user has no email address or it is verified already; a deleted user is refused.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => sendUserLink(serviceOf(ctx), { id: input.id.id }, 'EMAIL_VERIFICATION'),
  }),
);

builder.mutationField('sendPasswordResetEmail', (t) =>
  t.field({
    type: SendUserEmailPayload,
    description: `Emails the user a one-time link (working ${hours(LINK_TTL_SECONDS.PASSWORD_RESET)} hour) to a hosted page where they choose a new password (the realm’s policy applies; their sessions are revoked). A newer link replaces the user’s earlier ones. INVALID_STATE when the user has no email address; a deleted user is refused.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: UserIdInput, required: true, description: 'The user.' }) },
    resolve: (_root, { input }, ctx) => sendUserLink(serviceOf(ctx), { id: input.id.id }, 'PASSWORD_RESET'),
  }),
);
