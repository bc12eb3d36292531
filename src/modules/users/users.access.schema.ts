import { serviceOf } from '../../context.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import type { DecodedGlobalId } from '../../graphql/ids.ts';
import {
  USER_ACCESS_LIMITS,
  addUserToTenant,
  assignUserRoles,
  removeUserFromTenant,
  removeUserRole,
  setUserRoles,
} from './users.access.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import { TenantRef } from '../tenants/tenants.schema.ts';
import { UpdateUserPayload } from './users.payloads.schema.ts';
import { UserRef } from './users.schema.ts';

const AssignUserRolesInput = builder.inputType('AssignUserRolesInput', {
  description: 'Input of `assignUserRoles` and `setUserRoles`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    roleIds: t.globalIDList({
      for: RoleRef,
      required: true,
      description: `Global ids of roles (at most ${USER_ACCESS_LIMITS.rolesPerRequest}). Your token must hold every management scope the roles it adds carry.`,
    }),
    tenantId: t.globalID({
      for: TenantRef,
      description:
        'Assign inside this tenant (the user must be a member); realm-wide when omitted. A tenant-defined role can only be assigned inside its own tenant.',
    }),
  }),
});

const RemoveUserRoleInput = builder.inputType('RemoveUserRoleInput', {
  description: 'Input of `removeUserRole`.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    roleId: t.globalID({ for: RoleRef, required: true, description: 'The global id of the role to take away.' }),
    tenantId: t.globalID({
      for: TenantRef,
      description: 'The tenant the role was assigned in; omit for a realm-wide assignment.',
    }),
  }),
});

const UserTenantInput = builder.inputType('UserTenantInput', {
  description: 'A user and a tenant.',
  fields: (t) => ({
    userId: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }),
    tenantId: t.globalID({ for: TenantRef, required: true, description: 'The global id of the tenant.' }),
  }),
});

const rolesArgs = (input: {
  userId: DecodedGlobalId;
  roleIds: readonly DecodedGlobalId[];
  tenantId?: DecodedGlobalId | null;
}) => ({
  userId: input.userId.id,
  roleIds: input.roleIds.map(({ id }) => id),
  tenantId: input.tenantId?.id ?? null,
});

builder.mutationField('assignUserRoles', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Gives roles to a user, realm-wide or inside one tenant; roles already held there stay. Refused with FORBIDDEN_GRANT when the new roles carry management scopes your token lacks.',
    ...requireScopes(['users:roles']),
    args: {
      input: t.arg({
        type: AssignUserRolesInput,
        required: true,
        description: 'The user, the roles and the optional tenant.',
      }),
    },
    resolve: (_root, { input }, ctx) => assignUserRoles(serviceOf(ctx), rolesArgs(input)),
  }),
);

builder.mutationField('setUserRoles', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Makes `roleIds` exactly the user’s roles realm-wide (no `tenantId`) or inside one tenant; assignments elsewhere are untouched. An empty list removes every role of that scope.',
    ...requireScopes(['users:roles']),
    args: {
      input: t.arg({
        type: AssignUserRolesInput,
        required: true,
        description: 'The user, the roles and the optional tenant.',
      }),
    },
    resolve: (_root, { input }, ctx) => setUserRoles(serviceOf(ctx), rolesArgs(input)),
  }),
);

builder.mutationField('removeUserRole', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Takes one role from a user, realm-wide or inside one tenant. NOT_FOUND when the user does not hold it there.',
    ...requireScopes(['users:roles']),
    args: {
      input: t.arg({
        type: RemoveUserRoleInput,
        required: true,
        description: 'The user, the role and the optional tenant.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      removeUserRole(serviceOf(ctx), {
        userId: input.userId.id,
        roleId: input.roleId.id,
        tenantId: input.tenantId?.id ?? null,
      }),
  }),
);

const tenantArgs = (input: { userId: DecodedGlobalId; tenantId: DecodedGlobalId }) => ({
  userId: input.userId.id,
  tenantId: input.tenantId.id,
});

builder.mutationField('addUserToTenant', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Makes the user a member of a tenant; already a member is a success that changes nothing. In an ISOLATED_POOL realm a user belongs to at most one tenant (TENANCY_VIOLATION).',
    ...requireScopes(['users:write', 'tenants:write']),
    args: { input: t.arg({ type: UserTenantInput, required: true, description: 'The user and the tenant.' }) },
    resolve: (_root, { input }, ctx) => addUserToTenant(serviceOf(ctx), tenantArgs(input)),
  }),
);

builder.mutationField('removeUserFromTenant', (t) =>
  t.field({
    type: UpdateUserPayload,
    description:
      'Removes the user from a tenant, with every role the user held inside it. NOT_FOUND when it is not a member.',
    ...requireScopes(['users:write', 'tenants:write']),
    args: { input: t.arg({ type: UserTenantInput, required: true, description: 'The user and the tenant.' }) },
    resolve: (_root, { input }, ctx) => removeUserFromTenant(serviceOf(ctx), tenantArgs(input)),
  }),
);
