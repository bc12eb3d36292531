import { serviceOf } from '../../context.ts';
import { builder, requireScopesFor } from '../../graphql/builder.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { UserErrorCodeEnum, UserErrorRef } from '../user-error.schema.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import { USER_ACCESS_LIMITS } from './users.access.ts';
import {
  BULK_LIMITS,
  BULK_SKIP_REASONS,
  bulkUpdateUsers,
  type BulkFailed,
  type BulkSkipped,
  type BulkSkipReason,
  type BulkUpdateUsersResult,
  type BulkUserAction,
} from './users.bulk.ts';
import { UserStatusEnum } from './users.enums.schema.ts';
import { UserFilterInput, userFilterOf } from './users.inputs.schema.ts';
import { UserRef } from './users.schema.ts';
import { USER_LIMITS } from './users.validation.ts';

const n = (value: number) => value.toLocaleString('en-US');

/** The scopes of each action: those of the single-user mutation it repeats. */
const ACTION_SCOPES: Record<BulkUserAction, string[]> = {
  SUSPEND: ['users:write'],
  UNSUSPEND: ['users:write'],
  SET_STATUS: ['users:write'],
  ASSIGN_ROLES: ['users:roles'],
  REMOVE_ROLES: ['users:roles'],
  ADD_TO_TENANT: ['users:write', 'tenants:write'],
  REMOVE_FROM_TENANT: ['users:write', 'tenants:write'],
  REVOKE_SESSIONS: ['users:write'],
};

const scopesOf = (action: BulkUserAction) => ACTION_SCOPES[action].map((scope) => `\`${scope}\``).join(' and ');

const ACTIONS: Record<BulkUserAction, string> = {
  SUSPEND: `Like \`suspendUser\`: suspends each user (with \`reason\`) and, unless \`revokeSessions\` is false, revokes its sessions and refresh tokens. Skips deleted and already suspended users. Needs ${scopesOf('SUSPEND')}.`,
  UNSUSPEND: `Like \`unsuspendUser\`: lifts each user’s suspension (SUSPENDED → ACTIVE). Skips deleted users and users not suspended. Needs ${scopesOf('UNSUSPEND')}.`,
  SET_STATUS: `Like \`setUserStatus\`: moves each user to \`status\` along the status lifecycle (SUSPENDED suspends and revokes sessions; leaving SUSPENDED lifts the suspension). Skips deleted users and users already in the status; a move the lifecycle forbids fails with INVALID_STATE. Needs ${scopesOf('SET_STATUS')}.`,
  ASSIGN_ROLES: `Like \`assignUserRoles\`: gives each user the roles \`roleIds\` it lacks, realm-wide or inside \`tenantId\` (members only: others fail with INVALID_STATE). Skips deleted users and users holding every role already. Needs ${scopesOf('ASSIGN_ROLES')}.`,
  REMOVE_ROLES: `Like \`removeUserRole\`, for several roles: takes the roles \`roleIds\` from each user, realm-wide or inside \`tenantId\`. Skips users holding none of them there. Needs ${scopesOf('REMOVE_ROLES')}.`,
  ADD_TO_TENANT: `Like \`addUserToTenant\`: makes each user a member of \`tenantId\`. Skips members and deleted users; in an ISOLATED_POOL realm a member of another tenant fails with TENANCY_VIOLATION. Needs ${scopesOf('ADD_TO_TENANT')}.`,
  REMOVE_FROM_TENANT: `Like \`removeUserFromTenant\`: removes each user from \`tenantId\`, with the roles it held inside it. Skips users that are not members. Needs ${scopesOf('REMOVE_FROM_TENANT')}.`,
  REVOKE_SESSIONS: `Like \`revokeUserSessions\`: ends every active session of each user with its refresh tokens. Skips users without an active session. Needs ${scopesOf('REVOKE_SESSIONS')}.`,
};

const BulkUserActionEnum = builder.enumType('BulkUserAction', {
  description: 'What `bulkUpdateUsers` does to each user: one of the single-user mutations, with its rules and scopes.',
  values: Object.fromEntries(Object.entries(ACTIONS).map(([name, description]) => [name, { description }])) as Record<
    BulkUserAction,
    { description: string }
  >,
});

const BulkSkipReasonEnum = builder.enumType('BulkSkipReason', {
  description: 'Why `bulkUpdateUsers` left a selected user as it was, with nothing wrong.',
  values: Object.fromEntries(
    Object.entries(BULK_SKIP_REASONS).map(([name, description]) => [name, { description }]),
  ) as Record<BulkSkipReason, { description: string }>,
});

const onlyFor = (actions: string) => `Only for ${actions}; refused with INVALID for other actions.`;

const BulkUpdateUsersInput = builder.inputType('BulkUpdateUsersInput', {
  description: `Input of \`bulkUpdateUsers\`: the users (\`ids\` or \`filter\`, exactly one), the \`action\`, and the arguments that action takes (another action’s argument is refused with INVALID, a missing one with REQUIRED).`,
  fields: (t) => ({
    ids: t.globalIDList({
      for: UserRef,
      description: `Global ids of the users (at most ${n(BULK_LIMITS.users)}; repeated ids count once). Deleted users included. An id naming no user of the realm refuses the whole call with NOT_FOUND.`,
      extensions: { maxItems: BULK_LIMITS.users },
    }),
    filter: t.field({
      type: UserFilterInput,
      description: `The users matching this filter, as \`users(filter:)\` selects them (deleted users only with \`includeDeleted\`). More than ${n(BULK_LIMITS.users)} refuses the whole call with LIMIT_EXCEEDED. Each user is checked against it again when its turn comes.`,
    }),
    action: t.field({ type: BulkUserActionEnum, required: true, description: 'What to do to each user.' }),
    status: t.field({
      type: UserStatusEnum,
      description: `The new status. Required by SET_STATUS (not DELETED: use \`deleteUsers\`). ${onlyFor('SET_STATUS')}`,
    }),
    reason: t.string({
      description: `Why (at most ${USER_LIMITS.reason} characters): the suspension reason, recorded in each user’s audit event. ${onlyFor('SUSPEND and SET_STATUS')}`,
    }),
    revokeSessions: t.boolean({
      description: `Also revoke each suspended user’s sessions and refresh tokens (default true). ${onlyFor('SUSPEND')}`,
    }),
    roleIds: t.globalIDList({
      for: RoleRef,
      description: `Global ids of the roles (1 to ${USER_ACCESS_LIMITS.rolesPerRequest}). Required by ASSIGN_ROLES and REMOVE_ROLES; an unknown role refuses the whole call with NOT_FOUND. For ASSIGN_ROLES your token must hold every management scope each role carries (FORBIDDEN_GRANT otherwise, even if every user holds the role already), and a tenant-defined role goes only inside its own tenant. ${onlyFor('ASSIGN_ROLES and REMOVE_ROLES')}`,
    }),
    tenantId: t.globalID({
      for: TenantRef,
      description: `The global id of the tenant. Required by ADD_TO_TENANT and REMOVE_FROM_TENANT; for ASSIGN_ROLES and REMOVE_ROLES, the tenant the roles are held inside (realm-wide when omitted). An unknown tenant refuses the whole call with NOT_FOUND. ${onlyFor('those four actions')}`,
    }),
    dryRun: t.boolean({
      defaultValue: false,
      description:
        'Only count: the answer is what the call would do now, and nothing changes (no audit event of a change). Default false.',
    }),
  }),
});

const listed = `The global ids of the first ${BULK_LIMITS.listedIds} of them, in id order.`;

const BulkSkippedUsers = builder.objectRef<BulkSkipped>('BulkSkippedUsers').implement({
  description: 'Selected users `bulkUpdateUsers` left as they were, for one reason.',
  fields: (t) => ({
    reason: t.field({ type: BulkSkipReasonEnum, description: 'Why.', resolve: (group) => group.reason }),
    count: t.exposeInt('count', { description: 'How many users.' }),
    userIds: t.idList({
      description: listed,
      resolve: (group) => group.userIds.map((id) => encodeGlobalId('User', id)),
    }),
  }),
});

const BulkFailedUsers = builder.objectRef<BulkFailed>('BulkFailedUsers').implement({
  description:
    'Selected users the rules of the single-user mutation did not let `bulkUpdateUsers` change, for one reason: what that mutation would have answered as a user error.',
  fields: (t) => ({
    code: t.field({
      type: UserErrorCodeEnum,
      description: 'The reason, for programs.',
      resolve: (group) => group.code,
    }),
    message: t.exposeString('message', { description: 'A human-readable explanation.' }),
    count: t.exposeInt('count', { description: 'How many users.' }),
    userIds: t.idList({
      description: listed,
      resolve: (group) => group.userIds.map((id) => encodeGlobalId('User', id)),
    }),
  }),
});

const BulkUpdateUsersPayload = builder.objectRef<BulkUpdateUsersResult>('BulkUpdateUsersPayload').implement({
  description:
    'Result of `bulkUpdateUsers`: every selected user is counted once, as changed, skipped or failed (`matchedCount` = `changedCount` + `skippedCount` + `failedCount`).',
  fields: (t) => ({
    action: t.field({ type: BulkUserActionEnum, description: 'The action.', resolve: (payload) => payload.action }),
    dryRun: t.exposeBoolean('dryRun', { description: 'Whether this was a dry run: then nothing changed.' }),
    matchedCount: t.exposeInt('matchedCount', {
      description: 'How many users the ids or the filter selected (0 when `userErrors` is not empty).',
    }),
    changedCount: t.exposeInt('changedCount', {
      description: 'How many users were changed (with `dryRun`: would be), each with one audit event.',
    }),
    skippedCount: t.exposeInt('skippedCount', { description: 'How many users were left as they were: see `skipped`.' }),
    failedCount: t.exposeInt('failedCount', {
      description: 'How many users the rules did not let the call change: see `failed`.',
    }),
    skipped: t.field({
      type: [BulkSkippedUsers],
      description: 'The skipped users by reason, most frequent first.',
      resolve: (payload) => payload.skipped,
    }),
    failed: t.field({
      type: [BulkFailedUsers],
      description: 'The failed users by reason, most frequent first.',
      resolve: (payload) => payload.failed,
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the call was refused as a whole; empty when it ran. When not empty, nothing changed.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

builder.mutationField('bulkUpdateUsers', (t) =>
  t.field({
    type: BulkUpdateUsersPayload,
    description: `Applies one action to many users — given by \`ids\` or selected by \`filter\`, at most ${n(BULK_LIMITS.users)} — with the rules and the scopes of the single-user mutation it repeats (see \`BulkUserAction\`): the escalation guard included. Users are processed in id order, ${BULK_LIMITS.chunk} per transaction, each user changed with its own audit event (the action name of the single-user mutation, and \`bulk: true\` in \`changes\`). If the call stops midway (an error, a lost connection), every user is either fully changed or untouched, and repeating the call skips those already changed. Concurrent calls over the same users change each user once. \`dryRun\` answers the same counts without changing anything.`,
    ...requireScopesFor([['users:write'], ['users:roles']], ({ input }: { input: { action: BulkUserAction } }) => [
      ACTION_SCOPES[input.action],
    ]),
    args: {
      input: t.arg({
        type: BulkUpdateUsersInput,
        required: true,
        description: 'The users, the action and its arguments.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      bulkUpdateUsers(serviceOf(ctx), {
        ids: input.ids?.map(({ id }) => id) ?? null,
        filter: userFilterOf(input.filter),
        action: input.action,
        status: input.status,
        reason: input.reason,
        revokeSessions: input.revokeSessions,
        roleIds: input.roleIds?.map(({ id }) => id) ?? null,
        tenantId: input.tenantId?.id ?? null,
        dryRun: input.dryRun,
      }),
  }),
);
