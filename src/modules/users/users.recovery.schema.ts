import type { OutboxMessage, RecoveryRequest } from '../../generated/prisma/client.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import { serviceOf } from '../../context.ts';
import { OutboxMessageRef } from '../outbox/outbox.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import type { UserErrorShape } from '../user-error.ts';
import { LINK_TTL_SECONDS } from './users.links.ts';
import {
  approveRecoveryRequest,
  denyRecoveryRequest,
  effectiveStatus,
  RECOVERY_LIMITS,
  recoveryListWhere,
} from './users.recovery.ts';

const RecoveryRequestStatusEnum = builder.enumType('RecoveryRequestStatus', {
  description: 'Where an account recovery request stands.',
  values: {
    PENDING: { description: 'Waiting for an administrator’s answer.' },
    APPROVED: { description: 'Approved: the user was emailed a one-time recovery link, not used yet.' },
    DENIED: { description: 'Denied; the user was emailed the reason.' },
    EXPIRED: {
      description:
        'Not answered in time, approved but its link not used in time, or approved and then replaced by a newer approval for the same user.',
    },
    COMPLETED: { description: 'The user recovered the account through the link.' },
  } as const,
});

const pendingDays = RECOVERY_LIMITS.pendingSeconds / 86_400;
const linkHours = LINK_TTL_SECONDS.ACCOUNT_RECOVERY / 3600;

const RecoveryRequestRef = builder.prismaNode('RecoveryRequest', {
  description: `A request by a user who lost their second factor to get their account back, submitted on the hosted sign-in page. An administrator approves it (the user gets a one-time link that sets a new password and removes the authenticator) or denies it. It expires unanswered after ${pendingDays} days, and once approved with its link (${linkHours} hours).`,
  id: { field: 'id', description: 'The global id of the request.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['users:read']),
  fields: (t) => ({
    user: t.relation('user', { description: 'The user whose account it is about.' }),
    status: t.field({
      type: RecoveryRequestStatusEnum,
      description: 'Where it stands now (a request past its expiry reads EXPIRED).',
      select: { status: true, expiresAt: true },
      resolve: (request) => effectiveStatus(request),
    }),
    reason: t.exposeString('reason', {
      description: `The user’s own words (at most ${RECOVERY_LIMITS.reason} characters): treat as untrusted text.`,
    }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: 'The address it was submitted from.' }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'The browser it was submitted from.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was submitted.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      description: 'When a pending request expires unanswered; once approved, when its link expires.',
    }),
    decidedAt: t.expose('decidedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was approved or denied; null before.',
    }),
    decidedBy: t.exposeString('decidedBy', {
      nullable: true,
      description: 'Who approved or denied it: `application:<client id>` or `user:<id>`.',
    }),
    denialReason: t.exposeString('denialReason', {
      nullable: true,
      description: 'Why it was denied, as the user was told; null unless denied.',
    }),
    completedAt: t.expose('completedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the user recovered the account through the link; null before.',
    }),
  }),
});

const RecoveryRequestConnectionRef = builder.connectionObject(
  {
    type: RecoveryRequestRef,
    name: 'RecoveryRequestConnection',
    description: 'A page of account recovery requests.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'The number of requests matching, across all pages.',
        extensions: { pothosPrismaTotalCount: true },
        resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'RecoveryRequestEdge', description: 'An account recovery request in a page of requests.' },
);

const RecoveryRequestFilter = builder.inputType('RecoveryRequestFilter', {
  description: 'Which account recovery requests to list.',
  fields: (t) => ({
    status: t.field({
      type: RecoveryRequestStatusEnum,
      description: 'Requests that stand there now (EXPIRED includes requests past their expiry).',
    }),
  }),
});

builder.queryField('recoveryRequests', (t) =>
  t.prismaConnection(
    {
      type: 'RecoveryRequest',
      cursor: 'id',
      description: 'The account recovery requests of the caller’s realm, newest first.',
      ...requireScopes(['users:read']),
      args: {
        filter: t.arg({ type: RecoveryRequestFilter, description: 'Which requests to list; all when omitted.' }),
      },
      totalCount: (_root, args, ctx) =>
        serviceOf(ctx).db.recoveryRequest.count({ where: recoveryListWhere(args.filter) }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.recoveryRequest.findMany({
          ...query,
          where: recoveryListWhere(args.filter),
          orderBy: { id: 'desc' },
        }),
    },
    RecoveryRequestConnectionRef,
  ),
);

const RecoveryRequestPayload = builder
  .objectRef<{
    recoveryRequest: RecoveryRequest | null;
    message: OutboxMessage | null;
    userErrors: UserErrorShape[];
  }>('RecoveryRequestPayload')
  .implement({
    description: 'Result of answering an account recovery request.',
    fields: (t) => ({
      recoveryRequest: t.field({
        type: RecoveryRequestRef,
        nullable: true,
        description: 'The request after the answer; null when nothing changed.',
        resolve: (payload) => payload.recoveryRequest,
      }),
      message: t.field({
        type: OutboxMessageRef,
        nullable: true,
        description:
          'The email to the user in the outbox (reading it needs `realm:read`); its body is never readable. Null when nothing was sent.',
        resolve: (payload) => payload.message,
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: 'Why nothing changed; empty on success.',
        resolve: (payload) => payload.userErrors,
      }),
    }),
  });

const ApproveRecoveryRequestInput = builder.inputType('ApproveRecoveryRequestInput', {
  description: 'Input of `approveRecoveryRequest`.',
  fields: (t) => ({
    id: t.globalID({ for: RecoveryRequestRef, required: true, description: 'The global id of a PENDING request.' }),
  }),
});

const DenyRecoveryRequestInput = builder.inputType('DenyRecoveryRequestInput', {
  description: 'Input of `denyRecoveryRequest`.',
  fields: (t) => ({
    id: t.globalID({ for: RecoveryRequestRef, required: true, description: 'The global id of a PENDING request.' }),
    reason: t.string({
      required: true,
      description: `Why it is denied, emailed to the user (1 to ${RECOVERY_LIMITS.reason} characters).`,
    }),
  }),
});

builder.mutationField('approveRecoveryRequest', (t) =>
  t.field({
    type: RecoveryRequestPayload,
    description: `Approves a PENDING account recovery request: the user is emailed a one-time link (working ${linkHours} hours) to a hosted page where they choose a new password; their TOTP and recovery-code factors are then removed, their sessions revoked, and they must set up an authenticator at their next sign-in. The request expires with the link. EXPIRED when it is past its expiry; INVALID_STATE when it was answered, the user is deleted or has no email address.`,
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: ApproveRecoveryRequestInput, required: true, description: 'The request.' }) },
    resolve: (_root, { input }, ctx) => approveRecoveryRequest(serviceOf(ctx), input.id.id),
  }),
);

builder.mutationField('denyRecoveryRequest', (t) =>
  t.field({
    type: RecoveryRequestPayload,
    description:
      'Denies a PENDING account recovery request and emails the user the reason; nothing about the account changes. EXPIRED when it is past its expiry; INVALID_STATE when it was answered or the user is deleted; REQUIRED, TOO_LONG or INVALID for the reason.',
    ...requireScopes(['users:write']),
    args: { input: t.arg({ type: DenyRecoveryRequestInput, required: true, description: 'The request and why.' }) },
    resolve: (_root, { input }, ctx) => denyRecoveryRequest(serviceOf(ctx), { id: input.id.id, reason: input.reason }),
  }),
);
