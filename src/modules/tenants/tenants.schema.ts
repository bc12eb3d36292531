import { builder, requireScopes } from '../../graphql/builder.ts';
import { FIRST_ARGUMENT } from '../../graphql/query-limits.ts';
import { DeletePayload, payloadType, withGlobalDeletedId, deleteInputArg } from '../payloads.schema.ts';
import { resolveUserConnection } from '../users/users.connection.schema.ts';
import { UserFilterInput, userFilterOf } from '../users/users.inputs.schema.ts';
import { memberOfTenant } from '../users/users.queries.ts';
import { UserConnectionRef } from '../users/users.schema.ts';
import { createTenant, deleteTenant, tenantListWhere, updateTenant } from './tenants.service.ts';
import { serviceOf } from '../../context.ts';

export const TenantRef = builder.prismaNode('Tenant', {
  description: 'An organisation inside the realm, grouping users and scoping their roles.',
  id: { field: 'id', description: 'The global id of the tenant.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['tenants:read']),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    slug: t.exposeString('slug', { description: 'URL-friendly unique name: lowercase letters, digits and hyphens.' }),
    memberCount: t.relationCount('memberships', {
      description: 'How many users (not deleted) belong to the tenant.',
      where: { user: { deletedAt: null } },
    }),
    users: t.field({
      type: UserConnectionRef,
      description: 'The members of the tenant matching `filter`, newest first. Reading them needs `users:read` too.',
      ...requireScopes(['users:read']),
      args: {
        first: t.arg.int({ description: `Return at most this many users from the start: ${FIRST_ARGUMENT}` }),
        after: t.arg.string({ description: 'Return users after this cursor.' }),
        filter: t.arg({ type: UserFilterInput, description: 'Which members to list; all (not deleted) when omitted.' }),
      },
      resolve: (tenant, args, ctx, info) =>
        resolveUserConnection(
          ctx,
          info,
          { first: args.first ?? null, after: args.after ?? null, filter: userFilterOf(args.filter) },
          memberOfTenant(tenant.id),
        ),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the tenant was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the tenant last changed.' }),
  }),
});

builder.queryField('tenant', (t) =>
  t.prismaField({
    type: 'Tenant',
    nullable: true,
    description: 'A tenant of the caller’s realm by id; null when there is none.',
    ...requireScopes(['tenants:read']),
    args: { id: t.arg.globalID({ for: TenantRef, required: true, description: 'The global id of the tenant.' }) },
    resolve: (query, _root, args, ctx) => serviceOf(ctx).db.tenant.findUnique({ ...query, where: { id: args.id.id } }),
  }),
);

const TenantFilter = builder.inputType('TenantFilter', {
  description: 'Narrows the `tenants` list.',
  fields: (t) => ({
    search: t.string({ description: 'Case-insensitive part of the name or slug.' }),
  }),
});

/** Also the type of `User.tenants`. */
export const TenantConnectionRef = builder.connectionObject(
  {
    type: TenantRef,
    name: 'TenantConnection',
    description: 'A page of tenants.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'The number of tenants in the whole list, across all pages.',
        // Lets the Prisma plugin skip loading rows when only the count is asked for.
        extensions: { pothosPrismaTotalCount: true },
        resolve: (connection) => (connection as unknown as { totalCount: () => number | Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'TenantEdge', description: 'A tenant in a page of tenants.' },
);

builder.queryField('tenants', (t) =>
  t.prismaConnection(
    {
      type: 'Tenant',
      cursor: 'id',
      description: 'Tenants of the caller’s realm, oldest first.',
      ...requireScopes(['tenants:read']),
      args: { filter: t.arg({ type: TenantFilter, description: 'Which tenants to list.' }) },
      totalCount: (_root, args, ctx) => serviceOf(ctx).db.tenant.count({ where: tenantListWhere(args.filter) }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.tenant.findMany({ ...query, where: tenantListWhere(args.filter) }),
    },
    TenantConnectionRef,
  ),
);

const TenantPayload = payloadType(
  'TenantPayload',
  'tenant',
  TenantRef,
  'Result of a tenant change.',
  'The tenant after the change; null when it failed.',
);

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  description: 'Input of `createTenant`.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Display name, 1 to 100 characters.' }),
    slug: t.string({
      description:
        'Unique name in the realm: 1 to 63 lowercase letters, digits and inner hyphens. Derived from the name when omitted.',
    }),
  }),
});

builder.mutationField('createTenant', (t) =>
  t.field({
    type: TenantPayload,
    description: 'Creates a tenant.',
    ...requireScopes(['tenants:write']),
    args: { input: t.arg({ type: CreateTenantInput, required: true, description: 'The tenant to create.' }) },
    resolve: (_root, { input }, ctx) => createTenant(serviceOf(ctx), { name: input.name, slug: input.slug }),
  }),
);

const TenantPatch = builder.inputType('TenantPatch', {
  description: 'Changes to a tenant; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: 'New display name, 1 to 100 characters; cannot be null.' }),
    slug: t.string({ description: 'New slug, unique in the realm; cannot be null.' }),
  }),
});

const UpdateTenantInput = builder.inputType('UpdateTenantInput', {
  description: 'Input of `updateTenant`.',
  fields: (t) => ({
    id: t.globalID({ for: TenantRef, required: true, description: 'The global id of the tenant.' }),
    patch: t.field({ type: TenantPatch, required: true, description: 'The changes.' }),
  }),
});

builder.mutationField('updateTenant', (t) =>
  t.field({
    type: TenantPayload,
    description: 'Renames a tenant or changes its slug.',
    ...requireScopes(['tenants:write']),
    args: { input: t.arg({ type: UpdateTenantInput, required: true, description: 'The tenant and its changes.' }) },
    resolve: (_root, { input }, ctx) => updateTenant(serviceOf(ctx), { id: input.id.id, patch: input.patch }),
  }),
);

builder.mutationField('deleteTenant', (t) =>
  t.field({
    type: DeletePayload,
    description:
      'Deletes a tenant with its memberships, its tenant-scoped role assignments and the roles it defines. Users stay.',
    ...requireScopes(['tenants:write']),
    args: { input: t.arg(deleteInputArg('Tenant', 'The tenant to delete.')) },
    resolve: async (_root, { input }, ctx) => {
      const result = await deleteTenant(serviceOf(ctx), input.id.id);
      return withGlobalDeletedId(result, 'Tenant');
    },
  }),
);

builder.queryField('tenantBySlug', (t) =>
  t.prismaField({
    type: 'Tenant',
    nullable: true,
    description:
      'The tenant of the caller’s realm with this slug (slugs are lowercase: the value is lowercased first); null when there is none.',
    ...requireScopes(['tenants:read']),
    args: { slug: t.arg.string({ required: true, description: 'The slug.' }) },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.tenant.findFirst({ ...query, where: { slug: args.slug.trim().toLowerCase() } }),
  }),
);
