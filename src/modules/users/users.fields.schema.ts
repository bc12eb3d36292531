import { createContextCache } from '@pothos/core';
import type { ProfileField, User } from '../../generated/prisma/client.ts';
import { serviceOf, type GraphQLContext } from '../../context.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import { encodeGlobalId } from '../../graphql/ids.ts';
import { resolveArrayConnection } from '@pothos/plugin-relay';
import { ApplicationRef } from '../applications/applications.schema.ts';
import { AuditEventConnectionRef } from '../audit/audit.schema.ts';
import { TenantConnectionRef, TenantRef } from '../tenants/tenants.schema.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { MfaFactorTypeEnum } from './users.inputs.schema.ts';

const PROFILE_FIELDS: Record<
  ProfileField,
  (user: Pick<User, 'name' | 'phone' | 'picture' | 'birthdate' | 'country'>) => unknown
> = {
  NAME: (user) => user.name,
  PHONE: (user) => user.phone,
  PICTURE: (user) => user.picture,
  BIRTHDATE: (user) => user.birthdate,
  COUNTRY: (user) => user.country,
};

/** The realm's settings, read once per request. */
const realmSettings = createContextCache((ctx: GraphQLContext) =>
  serviceOf(ctx).db.realm.findFirstOrThrow({ select: { requiredProfileFields: true } }),
);

builder.prismaObject('Identity', {
  description: 'A way the user signs in through an external identity provider.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The id of the link.' }),
    provider: t.exposeString('provider', { description: 'The provider, e.g. `google`.' }),
    providerUserId: t.exposeString('providerUserId', { description: 'The user’s id at the provider.' }),
    email: t.exposeString('email', { nullable: true, description: 'The email address the provider reported.' }),
    linkedAt: t.expose('linkedAt', { type: 'DateTime', description: 'When the identity was linked.' }),
  }),
});

const RoleAssignmentRef = builder.prismaObject('UserRole', {
  name: 'RoleAssignment',
  description: 'A role held by a user, realm-wide or inside one tenant.',
  fields: (t) => ({
    role: t.relation('role', { description: 'The role.' }),
    tenant: t.relation('tenant', {
      nullable: true,
      description: 'The tenant the role applies in; null for realm-wide.',
    }),
    assignedAt: t.expose('assignedAt', { type: 'DateTime', description: 'When the role was assigned.' }),
  }),
});

builder.prismaNode('MfaFactor', {
  description: 'A second authentication factor enrolled by a user. Secrets are never exposed.',
  id: { field: 'id', description: 'The global id of the factor.' },
  nullable: true,
  ...requireScopes(['users:read']),
  fields: (t) => ({
    type: t.expose('type', { type: MfaFactorTypeEnum, description: 'The kind of factor.' }),
    name: t.exposeString('name', { nullable: true, description: 'The label the user gave it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was enrolled.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'When it was last used.' }),
    transports: t.exposeStringList('transports', {
      description:
        'WEBAUTHN: how browsers reach the authenticator that holds the passkey, as it reported at registration (`internal`: the device itself; `hybrid`: a phone nearby; `usb`, `nfc`, `ble`: a security key). Empty for other factors.',
    }),
    backedUp: t.exposeBoolean('backedUp', {
      nullable: true,
      description:
        'WEBAUTHN: whether the passkey is synced to the user’s other devices (a backed-up, multi-device passkey) as its last use reported; null for other factors.',
    }),
  }),
});

const ImpersonationModeEnum = builder.enumType('ImpersonationMode', {
  description: 'What the token of an impersonation (token exchange, RFC 8693) may do.',
  values: {
    READ_ONLY: {
      description:
        'Only read scopes (those named `…:read`) and the OpenID Connect scopes `openid`, `profile`, `email`.',
    },
    FULL: {
      description:
        'Every scope the user holds (on the management API, only those the impersonating application holds too).',
    },
  } as const,
});

export const SessionRef = builder.prismaNode('Session', {
  description:
    'A signed-in session of a user in an application, or an impersonation of the user by an application (`impersonatedBy`).',
  id: { field: 'id', description: 'The global id of the session.' },
  nullable: true,
  // Select mode, as User: a page of sessions reads the columns asked for, not the JSON ones.
  select: { id: true },
  ...requireScopes(['users:read']),
  fields: (t) => ({
    user: t.relation('user', { description: 'The user.' }),
    application: t.relation('application', {
      nullable: true,
      description: 'The application the session started in (signed in to with credentials).',
      skipTypeScopes: true,
    }),
    applications: t.field({
      type: [ApplicationRef],
      description:
        'Every application signed in to with this session, in order of first sign-in: the one it started in, then each one single sign-on reached without credentials.',
      skipTypeScopes: true,
      select: {
        applications: {
          select: { application: true },
          orderBy: [{ firstSignInAt: 'asc' }, { applicationId: 'asc' }],
        },
      },
      resolve: (session) => session.applications.map((entry) => entry.application),
    }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: 'IP address at sign-in.' }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'User agent at sign-in.' }),
    device: t.exposeString('device', { nullable: true, description: 'Device description.' }),
    location: t.exposeString('location', { nullable: true, description: 'Approximate location.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the session started.' }),
    lastActiveAt: t.expose('lastActiveAt', { type: 'DateTime', description: 'Last activity.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      description:
        'When the session ends unless used again: the earlier of its start plus the realm’s `sessionMaxLifetimeSeconds` and its last activity plus its `sessionIdleTimeoutSeconds`.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked.' }),
    tenantId: t.field({
      type: 'ID',
      nullable: true,
      description:
        'The global id of the tenant the sign-in is within (the `tenant_id` claim of its tokens carries its database id); null when none.',
      select: { tenantId: true },
      resolve: (session) => (session.tenantId ? encodeGlobalId('Tenant', session.tenantId) : null),
    }),
    impersonatedBy: t.exposeString('impersonatedBy', {
      nullable: true,
      description:
        'Set when the session is an impersonation: the client id of the application that acts as the user (token exchange, the `act` claim of its token; `application` is that application). Null for the user’s own sign-ins. Revoking the session ends the impersonation’s token.',
    }),
    impersonationMode: t.expose('impersonationMode', {
      type: ImpersonationModeEnum,
      nullable: true,
      description: 'What the impersonation’s token may do; null for the user’s own sign-ins.',
    }),
  }),
});

builder.prismaObject('LoginEvent', {
  description: 'One sign-in attempt.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The id of the event.' }),
    createdAt: t.expose('at', { type: 'DateTime', description: 'When it happened.' }),
    at: t.expose('at', {
      type: 'DateTime',
      description: 'When it happened.',
      deprecationReason: 'Use `createdAt`, the name every other type uses.',
    }),
    success: t.exposeBoolean('success', { description: 'Whether the sign-in succeeded.' }),
    method: t.exposeString('method', {
      description:
        'How: `password`, `password+totp`, `password+recovery_code`, `sso` (a live session signed the user in to another application), later e.g. `oauth:google`.',
    }),
    failureReason: t.exposeString('failureReason', { nullable: true, description: 'Why it failed.' }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: 'Client IP address.' }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'Client user agent.' }),
    tenantId: t.field({
      type: 'ID',
      nullable: true,
      description:
        'The global id of the tenant the sign-in asked for or was within; null when none. Kept as recorded when the tenant is deleted.',
      resolve: (event) => (event.tenantId ? encodeGlobalId('Tenant', event.tenantId) : null),
    }),
  }),
});

builder.prismaObject('AdminNote', {
  description: 'A note an administrator left on a user.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The id of the note.' }),
    body: t.exposeString('body', { description: 'The note text.' }),
    author: t.exposeString('author', {
      description:
        'Who wrote it, as the audit trail names actors (`AuditEvent.actorId`): the client id of an application, or the user id of a person signed in through one (e.g. the console).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was written.' }),
  }),
});

builder.prismaObjectFields('User', (t) => ({
  tenants: t.connection(
    {
      type: TenantRef,
      description: 'Tenants the user belongs to, in joining order. Reading them needs `tenants:read` too.',
      // A user belongs to few tenants (one in ISOLATED_POOL realms): load them all, page in memory.
      select: { tenantMemberships: { orderBy: { joinedAt: 'asc' }, select: { tenant: true } } },
      resolve: (user, args) => {
        const tenants = user.tenantMemberships.map(({ tenant }) => tenant);
        return { ...resolveArrayConnection({ args }, tenants), totalCount: () => tenants.length } as never;
      },
    },
    TenantConnectionRef,
  ),
  auditEvents: t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      description:
        'Audit events about this user, newest first (loaded per user: for many users use `auditEvents(filter: { targetId })`). Reading them needs `audit:read` too.',
      totalCount: (user, _args, ctx) => serviceOf(ctx).db.auditEvent.count({ where: { targetId: user.id } }),
      resolve: (query, user, _args, ctx) =>
        serviceOf(ctx).db.auditEvent.findMany({
          ...query,
          where: { targetId: user.id },
          orderBy: [{ at: 'desc' }, { id: 'desc' }],
        }),
    },
    AuditEventConnectionRef,
  ),
  profileComplete: t.boolean({
    description: 'Whether every profile field the realm requires is set.',
    select: { name: true, phone: true, picture: true, birthdate: true, country: true },
    resolve: async (user, _args, ctx) => {
      const { requiredProfileFields } = await realmSettings(ctx);
      return requiredProfileFields.every((field) => {
        const value = PROFILE_FIELDS[field](user);
        return value !== null && value !== undefined && value !== '';
      });
    },
  }),
  identities: t.relation('identities', {
    description: 'Linked identity providers.',
    query: { orderBy: { linkedAt: 'asc' } },
  }),
  roleAssignments: t.relation('roles', {
    type: RoleAssignmentRef,
    description: 'Every role the user holds, realm-wide and per tenant.',
    query: { orderBy: { assignedAt: 'asc' } },
  }),
  roles: t.field({
    type: [RoleRef],
    description:
      'Distinct roles the user holds. With `tenantId`: the roles effective in that tenant (realm-wide ones and that tenant’s).',
    args: { tenantId: t.arg.globalID({ for: TenantRef, description: 'A tenant to narrow to.' }) },
    select: (args, _ctx, nestedSelection) => ({
      roles: {
        where: args.tenantId ? { OR: [{ tenantId: null }, { tenantId: args.tenantId.id }] } : {},
        select: { role: nestedSelection(true) },
      },
    }),
    resolve: (user) => {
      const seen = new Map(user.roles.map(({ role }) => [role.id, role]));
      return [...seen.values()];
    },
  }),
  permissions: t.stringList({
    description:
      'Effective scope names, of every resource: from every role held (realm-wide and per tenant) and direct grants, sorted. Different resources may define scopes of the same name; `roles { scopes { resource { indicator } } }` tells them apart.',
    select: {
      // The arguments of `roleAssignments`: equal ones let Pothos read both in one relation load.
      roles: {
        orderBy: { assignedAt: 'asc' },
        select: { role: { select: { scopes: { select: { scope: { select: { name: true } } } } } } },
      },
      permissions: { select: { scope: { select: { name: true } } } },
    },
    resolve: (user) =>
      [
        ...new Set([
          ...user.roles.flatMap(({ role }) => role.scopes.map(({ scope }) => scope.name)),
          ...user.permissions.map(({ scope }) => scope.name),
        ]),
      ].sort(),
  }),
  applications: t.field({
    type: [ApplicationRef],
    description: 'Applications the user has signed in to or was granted.',
    select: (_args, _ctx, nestedSelection) => ({
      applications: { orderBy: { createdAt: 'asc' }, select: { application: nestedSelection(true) } },
    }),
    resolve: (user) => user.applications.map(({ application }) => application),
  }),
  mfaFactors: t.relation('mfaFactors', {
    description: 'Enrolled second factors.',
    query: { orderBy: { createdAt: 'asc' } },
  }),
  sessions: t.relatedConnection(
    'sessions',
    {
      cursor: 'id',
      description: 'Sessions, newest first.',
      args: {
        activeOnly: t.arg.boolean({
          defaultValue: true,
          description: 'Only sessions neither revoked nor expired (default true).',
        }),
      },
      query: (args) => ({
        where: args.activeOnly ? { revokedAt: null, expiresAt: { gt: new Date() } } : {},
        orderBy: { id: 'desc' },
      }),
      totalCount: true,
    },
    { name: 'SessionConnection', description: 'A page of sessions.' },
    { name: 'SessionEdge', description: 'A session in a page of sessions.' },
  ),
  loginHistory: t.relatedConnection(
    'loginEvents',
    {
      cursor: 'id',
      description: 'Sign-in attempts, newest first.',
      query: { orderBy: { id: 'desc' } },
      totalCount: true,
    },
    { name: 'LoginEventConnection', description: 'A page of sign-in attempts.' },
    { name: 'LoginEventEdge', description: 'A sign-in attempt in a page.' },
  ),
  adminNotes: t.relation('adminNotes', {
    description: 'Notes administrators left, newest first.',
    query: { orderBy: { createdAt: 'desc' } },
  }),
}));
