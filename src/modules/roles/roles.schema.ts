import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import { serviceOf, type GraphQLContext } from '../../context.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import { FIRST_ARGUMENT } from '../../graphql/query-limits.ts';
import { likeLiteral } from '../input-checks.ts';
import { DeletePayload, payloadType, withGlobalDeletedId, deleteInputArg } from '../payloads.schema.ts';
import { ResourceScopeRef } from '../resources/resources.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import { resolveUserConnection } from '../users/users.connection.schema.ts';
import { holderOfRole } from '../users/users.queries.ts';
import { UserConnectionRef } from '../users/users.schema.ts';
import { roleUserCounts } from './roles.queries.ts';
import { assignRoleScopes, createRole, deleteRole, removeRoleScope, roleWhere, updateRole } from './roles.service.ts';

/**
 * Per request: the number of distinct users (not deleted) holding each role, globally or in
 * any tenant — one statement for all roles of a response.
 */
const userCounts = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader<string, number>(async (roleIds) => {
      const service = serviceOf(ctx);
      const counts = await roleUserCounts(service.db, service.realmId, roleIds);
      return roleIds.map((id) => counts.get(id) ?? 0);
    }),
);

export const RoleRef = builder.prismaNode('Role', {
  description: 'A named bundle of scopes, given to users (globally or inside a tenant) and to applications.',
  id: { field: 'id', description: 'The global id of the role.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  // Select mode, as User: a list of role names reads names, not whole rows.
  select: { id: true },
  ...requireScopes(['roles:read']),
  fields: (t) => ({
    name: t.exposeString('name', {
      description:
        'Name, 1 to 100 characters, unique (ignoring case) among the realm-wide roles, or among the roles of its tenant.',
    }),
    description: t.exposeString('description', {
      nullable: true,
      description: 'What the role is for (at most 500 characters).',
    }),
    builtIn: t.exposeBoolean('builtIn', {
      description:
        'Whether Roster manages this role itself (the administrator role): it cannot be deleted or renamed, nor lose its management scopes.',
    }),
    tenant: t.relation('tenant', {
      nullable: true,
      description: 'The tenant that defines the role; null for realm-wide roles. Reading it needs `tenants:read`.',
    }),
    scopes: t.field({
      type: [ResourceScopeRef],
      description:
        'The scopes the role grants, sorted by name. Different resources may define scopes of the same name: each scope names its `resource`, and `builtIn` is true for management scopes.',
      select: (_args, _ctx, nestedSelection) => ({
        scopes: { select: { scope: nestedSelection(true) }, orderBy: [{ scope: { name: 'asc' } }, { scopeId: 'asc' }] },
      }),
      resolve: (role) => role.scopes.map((grant) => grant.scope),
    }),
    userCount: t.int({
      description: 'How many users (not deleted) hold the role, globally or in any tenant.',
      resolve: (role, _args, ctx) => userCounts(ctx).load(role.id),
    }),
    users: t.field({
      type: UserConnectionRef,
      description: 'Users (not deleted) holding the role, globally or in any tenant, newest first.',
      ...requireScopes(['users:read']),
      args: {
        first: t.arg.int({ description: `Return at most this many users from the start: ${FIRST_ARGUMENT}` }),
        after: t.arg.string({ description: 'Return users after this cursor.' }),
      },
      resolve: (role, args, ctx, info) =>
        resolveUserConnection(
          ctx,
          info,
          { first: args.first ?? null, after: args.after ?? null },
          holderOfRole(role.id),
        ),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the role was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the role or its scopes last changed.' }),
  }),
});

const RoleFilter = builder.inputType('RoleFilter', {
  description: 'Which roles to list; conditions combine with AND.',
  fields: (t) => ({
    search: t.string({ description: 'Case-insensitive text contained in the name or the description.' }),
    tenantId: t.globalID({
      for: TenantRef,
      description: 'Only the roles defined by this tenant (global id of a Tenant).',
    }),
  }),
});

builder.queryField('role', (t) =>
  t.prismaField({
    type: 'Role',
    nullable: true,
    description: 'A role of the caller’s realm by id; null when there is none.',
    ...requireScopes(['roles:read']),
    args: { id: t.arg.globalID({ for: RoleRef, required: true, description: 'The global id of the role.' }) },
    resolve: (query, _root, args, ctx) => serviceOf(ctx).db.role.findUnique({ ...query, where: { id: args.id.id } }),
  }),
);

builder.queryField('roles', (t) =>
  t.prismaConnection(
    {
      type: 'Role',
      cursor: 'id',
      description: 'Roles of the caller’s realm (realm-wide and tenant-defined) matching `filter`, by name.',
      ...requireScopes(['roles:read']),
      args: { filter: t.arg({ type: RoleFilter, description: 'Which roles to list; all when omitted.' }) },
      totalCount: (_root, args, ctx) => serviceOf(ctx).db.role.count({ where: roleFilterWhere(args.filter) }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.role.findMany({
          ...query,
          where: roleFilterWhere(args.filter),
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
        }),
    },
    { name: 'RoleConnection', description: 'A page of roles.' },
    { name: 'RoleEdge', description: 'A role in a page of roles.' },
  ),
);

function roleFilterWhere(filter: { search?: string | null; tenantId?: { id: string } | null } | null | undefined) {
  return roleWhere({ search: filter?.search ?? null, tenantId: filter?.tenantId?.id ?? null });
}

const RolePayload = payloadType(
  'RolePayload',
  'role',
  RoleRef,
  'Result of a change to a role.',
  'The role after the change; null when the change did not apply.',
);

const CreateRoleInput = builder.inputType('CreateRoleInput', {
  description: 'Input of `createRole`.',
  fields: (t) => ({
    name: t.string({
      required: true,
      description:
        'Name, 1 to 100 characters (trimmed), unique ignoring case among the realm-wide roles, or among the roles of `tenantId`.',
    }),
    description: t.string({ description: 'What the role is for, at most 500 characters.' }),
    scopeIds: t.globalIDList({
      for: ResourceScopeRef,
      description:
        'Global ids of the scopes the role grants (at most 100). Management scopes need the caller’s own token to hold them (FORBIDDEN_GRANT).',
    }),
    tenantId: t.globalID({
      for: TenantRef,
      description: 'Defines the role inside this tenant (global id of a Tenant); realm-wide when omitted.',
    }),
  }),
});

const RolePatch = builder.inputType('RolePatch', {
  description: 'Changes to a role; omitted fields stay as they are, an explicit null clears the description.',
  fields: (t) => ({
    name: t.string({
      description: 'New name, 1 to 100 characters; cannot be null. The built-in role cannot be renamed.',
    }),
    description: t.string({ description: 'New description, at most 500 characters; null clears it.' }),
  }),
});

const UpdateRoleInput = builder.inputType('UpdateRoleInput', {
  description: 'Input of `updateRole`.',
  fields: (t) => ({
    id: t.globalID({ for: RoleRef, required: true, description: 'The global id of the role.' }),
    patch: t.field({ type: RolePatch, required: true, description: 'The changes.' }),
  }),
});

const AssignRoleScopesInput = builder.inputType('AssignRoleScopesInput', {
  description: 'Input of `assignRoleScopes`.',
  fields: (t) => ({
    roleId: t.globalID({ for: RoleRef, required: true, description: 'The global id of the role.' }),
    scopeIds: t.globalIDList({
      for: ResourceScopeRef,
      required: true,
      description:
        'Global ids of the scopes to add (1 to 100); scopes the role already has are ignored. Management scopes need the caller’s own token to hold them (FORBIDDEN_GRANT).',
    }),
  }),
});

const RemoveRoleScopeInput = builder.inputType('RemoveRoleScopeInput', {
  description: 'Input of `removeRoleScope`.',
  fields: (t) => ({
    roleId: t.globalID({ for: RoleRef, required: true, description: 'The global id of the role.' }),
    scopeId: t.globalID({
      for: ResourceScopeRef,
      required: true,
      description: 'The global id of a scope the role has (NOT_FOUND otherwise).',
    }),
  }),
});

builder.mutationField('createRole', (t) =>
  t.field({
    type: RolePayload,
    description: 'Creates a role, realm-wide or inside a tenant, with its initial scopes.',
    ...requireScopes(['roles:write']),
    args: { input: t.arg({ type: CreateRoleInput, required: true, description: 'The new role.' }) },
    resolve: (_root, { input }, ctx) =>
      createRole(serviceOf(ctx), {
        name: input.name,
        description: input.description ?? null,
        scopeIds: (input.scopeIds ?? []).map(({ id }) => id),
        tenantId: input.tenantId?.id ?? null,
      }),
  }),
);

builder.mutationField('updateRole', (t) =>
  t.field({
    type: RolePayload,
    description: 'Renames or re-describes a role.',
    ...requireScopes(['roles:write']),
    args: { input: t.arg({ type: UpdateRoleInput, required: true, description: 'The role and its changes.' }) },
    resolve: (_root, { input }, ctx) => updateRole(serviceOf(ctx), input.id.id, input.patch),
  }),
);

builder.mutationField('deleteRole', (t) =>
  t.field({
    type: DeletePayload,
    description:
      'Deletes a role and every assignment of it to users and applications. The built-in role cannot be deleted (INVALID_STATE).',
    ...requireScopes(['roles:write']),
    args: { input: t.arg(deleteInputArg('Role', 'The role to delete.')) },
    resolve: async (_root, { input }, ctx) => {
      const result = await deleteRole(serviceOf(ctx), input.id.id);
      return withGlobalDeletedId(result, 'Role');
    },
  }),
);

builder.mutationField('assignRoleScopes', (t) =>
  t.field({
    type: RolePayload,
    description:
      'Adds scopes to a role. A caller can only grant management scopes its own token holds (FORBIDDEN_GRANT).',
    ...requireScopes(['roles:write']),
    args: {
      input: t.arg({ type: AssignRoleScopesInput, required: true, description: 'The role and the scopes to add.' }),
    },
    resolve: (_root, { input }, ctx) =>
      assignRoleScopes(serviceOf(ctx), {
        roleId: input.roleId.id,
        scopeIds: input.scopeIds.map(({ id }) => id),
      }),
  }),
);

builder.mutationField('removeRoleScope', (t) =>
  t.field({
    type: RolePayload,
    description: 'Takes one scope away from a role. The built-in role keeps its management scopes (INVALID_STATE).',
    ...requireScopes(['roles:write']),
    args: {
      input: t.arg({ type: RemoveRoleScopeInput, required: true, description: 'The role and the scope to remove.' }),
    },
    resolve: (_root, { input }, ctx) =>
      removeRoleScope(serviceOf(ctx), {
        roleId: input.roleId.id,
        scopeId: input.scopeId.id,
      }),
  }),
);

builder.queryField('roleByName', (t) =>
  t.prismaField({
    type: 'Role',
    nullable: true,
    description:
      'The role with this name (ignoring case and surrounding spaces) in the caller’s realm: among the realm-wide roles, or with `tenantId` among the roles that tenant defines; null when there is none. Role names are unique only within those scopes.',
    ...requireScopes(['roles:read']),
    args: {
      name: t.arg.string({ required: true, description: 'The role name.' }),
      tenantId: t.arg.globalID({
        for: TenantRef,
        description: 'Look among the roles this tenant defines; among the realm-wide roles when omitted.',
      }),
    },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.role.findFirst({
        ...query,
        where: {
          name: { equals: likeLiteral(args.name.trim()), mode: 'insensitive' },
          tenantId: args.tenantId?.id ?? null,
        },
        orderBy: { id: 'asc' },
      }),
  }),
);
