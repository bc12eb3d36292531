import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import { serviceOf, type GraphQLContext } from '../../context.ts';
import { builder, requireScopes } from '../../graphql/builder.ts';
import { DeletePayload, payloadType, withGlobalDeletedId, deleteInputArg } from '../payloads.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import type { Application } from '../../generated/prisma/client.ts';
import { ResourceScopeRef } from '../resources/resources.schema.ts';
import { RoleRef } from '../roles/roles.schema.ts';
import type { UserErrorShape } from '../user-error.ts';
import {
  applicationListWhere,
  assignApplicationRoles,
  createApplication,
  deleteApplication,
  effectiveScopes,
  type GrantedScope,
  removeApplicationRole,
  rotateApplicationSecret,
  updateApplication,
} from './applications.service.ts';

const ApplicationTypeEnum = builder.enumType('ApplicationType', {
  description: 'The kind of an OAuth client application.',
  values: {
    SPA: { description: 'A single-page application running in a browser; public client without a secret.' },
    WEB: { description: 'A server-rendered web application; confidential client with a secret.' },
    NATIVE: { description: 'A mobile or desktop application; public client without a secret.' },
    M2M: { description: 'A machine-to-machine client (scripts, services) using client credentials.' },
  } as const,
});

/** Per request: the effective scopes of every application of the response, in one statement. */
const scopesLoader = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader<string, GrantedScope[]>(async (ids) => {
      const scopes = await effectiveScopes(serviceOf(ctx).db, serviceOf(ctx).realmId, ids);
      return ids.map((id) => scopes.get(id) ?? []);
    }),
);

/**
 * Per request: every scope each application of the response is granted, with its resource,
 * in a constant number of statements (loaded straight from the field resolvers, so that all
 * applications of a page fall into one batch).
 */
const scopeRowsLoader = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader(async (ids: readonly string[]) => {
      const granted = await effectiveScopes(serviceOf(ctx).db, serviceOf(ctx).realmId, ids);
      const scopeIds = [...new Set([...granted.values()].flat().map((scope) => scope.scopeId))];
      const rows = await serviceOf(ctx).db.resourceScope.findMany({
        where: { id: { in: scopeIds } },
        include: { resource: true },
      });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => (granted.get(id) ?? []).flatMap((scope) => byId.get(scope.scopeId) ?? []));
    }),
);

export const ApplicationRef = builder.prismaNode('Application', {
  description: 'An OAuth client of the realm.',
  id: { field: 'id', description: 'The global id of the application.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['applications:read']),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    type: t.expose('type', { type: ApplicationTypeEnum, description: 'The kind of client.' }),
    clientId: t.exposeString('clientId', { description: 'The public OAuth client id.' }),
    redirectUris: t.expose('redirectUris', { type: ['URL'], description: 'Allowed redirect URIs.' }),
    postLogoutRedirectUris: t.expose('postLogoutRedirectUris', {
      type: ['URL'],
      description: 'Where RP-initiated logout (`/oauth2/{realm}/session/end`) may send the browser back to.',
    }),
    roles: t.field({
      type: [RoleRef],
      description: 'The roles given to the application, by name. Reading them needs `roles:read` too.',
      select: (_args, _ctx, nestedSelection) => ({ roles: { select: { role: nestedSelection(true) } } }),
      resolve: (application) =>
        application.roles.map(({ role }) => role).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    }),
    scopes: t.stringList({
      description:
        'The management scopes (of the Roster Management API, `urn:roster:management-api`) the application’s roles grant, sorted: what its access tokens can carry. Scopes of other resources are not listed here, so a same-named scope of another API is never mistaken for a management scope; `effectiveScopes` lists every scope with its resource.',
      resolve: async (application, _args, ctx) =>
        (await scopesLoader(ctx).load(application.id)).filter((scope) => scope.management).map((scope) => scope.name),
    }),
    effectiveScopes: t.field({
      type: [ResourceScopeRef],
      description:
        'Every scope the application’s roles grant, of every resource, each once, sorted by resource indicator then name. Each names its `resource` (and `builtIn` is true for management scopes). Reading them needs `resources:read` or `roles:read` too.',
      resolve: (application, _args, ctx) => scopeRowsLoader(ctx).load(application.id),
    }),
    enabled: t.boolean({
      description:
        'Whether the application may get tokens; a disabled application’s tokens are refused from the next request on.',
      select: { disabledAt: true },
      resolve: (application) => application.disabledAt === null,
    }),
    builtIn: t.exposeBoolean('builtIn', {
      description:
        'Whether Roster made the application itself (the realm’s admin client or its console); it can still be changed like any other.',
    }),
    secretLastRotatedAt: t.expose('secretLastRotatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the client secret was last set; null for clients without a secret.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the application was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the application last changed.' }),
  }),
});

builder.queryField('application', (t) =>
  t.prismaField({
    type: 'Application',
    nullable: true,
    description: 'An application of the caller’s realm by id; null when there is none.',
    ...requireScopes(['applications:read']),
    args: {
      id: t.arg.globalID({ for: ApplicationRef, required: true, description: 'The global id of the application.' }),
    },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.application.findUnique({ ...query, where: { id: args.id.id } }),
  }),
);

const ApplicationFilter = builder.inputType('ApplicationFilter', {
  description: 'Narrows the `applications` list; conditions combine with AND.',
  fields: (t) => ({
    search: t.string({ description: 'Case-insensitive part of the name, or an exact client id.' }),
    types: t.field({
      type: [ApplicationTypeEnum],
      description: 'Only applications of these types; omitted or empty: all types.',
    }),
  }),
});

builder.queryField('applications', (t) =>
  t.prismaConnection(
    {
      type: 'Application',
      cursor: 'id',
      description: 'Applications of the caller’s realm, oldest first.',
      ...requireScopes(['applications:read']),
      args: { filter: t.arg({ type: ApplicationFilter, description: 'Which applications to list.' }) },
      totalCount: (_root, args, ctx) =>
        serviceOf(ctx).db.application.count({ where: applicationListWhere(args.filter) }),
      resolve: (query, _root, args, ctx) =>
        serviceOf(ctx).db.application.findMany({ ...query, where: applicationListWhere(args.filter) }),
    },
    { name: 'ApplicationConnection', description: 'A page of applications.' },
    { name: 'ApplicationEdge', description: 'An application in a page of applications.' },
  ),
);

const CreateApplicationInput = builder.inputType('CreateApplicationInput', {
  description: 'Input of `createApplication`.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Display name, 1 to 100 characters.' }),
    type: t.field({
      type: ApplicationTypeEnum,
      required: true,
      description: 'The kind of client; cannot be changed later.',
    }),
    redirectUris: t.field({
      type: ['URL'],
      description:
        'Allowed redirect URIs (at most 20): absolute, https (http only for 127.0.0.1, [::1] and localhost), without fragment. Required for SPA, WEB and NATIVE; not allowed for M2M.',
    }),
    postLogoutRedirectUris: t.field({
      type: ['URL'],
      description:
        'Where RP-initiated logout may send the browser back to (at most 20), under the same rules as redirect URIs; optional for SPA, WEB and NATIVE, not allowed for M2M.',
    }),
    roleIds: t.globalIDList({
      for: RoleRef,
      description: 'Roles to give the application. Your token must hold every management scope they carry.',
    }),
  }),
});

interface SecretResult {
  application: Application | null;
  clientSecret: string | null;
  userErrors: UserErrorShape[];
}

const CreateApplicationPayload = builder.objectRef<SecretResult>('CreateApplicationPayload').implement({
  description: 'Result of creating an application or rotating its secret: the only time the client secret is shown.',
  fields: (t) => ({
    application: t.field({
      type: ApplicationRef,
      nullable: true,
      description: 'The application; null when the mutation did not apply.',
      resolve: (payload) => payload.application,
    }),
    clientSecret: t.exposeString('clientSecret', {
      nullable: true,
      description:
        'The new client secret of a WEB or M2M application. Shown only in this response and stored only as a hash: keep it now. Null for SPA and NATIVE applications.',
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the mutation did not apply; empty on success. When not empty, nothing changed.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

const ApplicationPayload = payloadType(
  'ApplicationPayload',
  'application',
  ApplicationRef,
  'Result of an application change.',
  'The application after the change; null when it failed.',
);

const urls = (uris: readonly URL[] | null | undefined) => (uris == null ? uris : uris.map((uri) => uri.href));

builder.mutationField('createApplication', (t) =>
  t.field({
    type: CreateApplicationPayload,
    description:
      'Creates an application with a generated client id. WEB and M2M applications get a client secret, returned once in the payload.',
    ...requireScopes(['applications:write']),
    args: { input: t.arg({ type: CreateApplicationInput, required: true, description: 'The application to create.' }) },
    resolve: (_root, { input }, ctx) =>
      createApplication(serviceOf(ctx), {
        name: input.name,
        type: input.type,
        redirectUris: urls(input.redirectUris),
        postLogoutRedirectUris: urls(input.postLogoutRedirectUris),
        roleIds: input.roleIds?.map(({ id }) => id) ?? null,
      }),
  }),
);

const ApplicationPatch = builder.inputType('ApplicationPatch', {
  description: 'Changes to an application; omitted fields stay as they are.',
  fields: (t) => ({
    name: t.string({ description: 'New display name, 1 to 100 characters; cannot be null.' }),
    redirectUris: t.field({
      type: ['URL'],
      description:
        'The new full list of redirect URIs, under the same rules as at creation; null clears it (M2M only).',
    }),
    postLogoutRedirectUris: t.field({
      type: ['URL'],
      description:
        'The new full list of post-logout redirect URIs, under the same rules as at creation; null clears it.',
    }),
    enabled: t.boolean({
      description:
        'false disables the application: it gets no tokens and its tokens are refused from the next request on; true enables it again. Cannot be null. The last enabled application holding the built-in admin role cannot be disabled (INVALID_STATE).',
    }),
  }),
});

const UpdateApplicationInput = builder.inputType('UpdateApplicationInput', {
  description: 'Input of `updateApplication`.',
  fields: (t) => ({
    id: t.globalID({ for: ApplicationRef, required: true, description: 'The global id of the application.' }),
    patch: t.field({ type: ApplicationPatch, required: true, description: 'The changes.' }),
  }),
});

builder.mutationField('updateApplication', (t) =>
  t.field({
    type: ApplicationPayload,
    description:
      'Renames an application, replaces its redirect or post-logout redirect URIs, or disables or enables it.',
    ...requireScopes(['applications:write']),
    args: {
      input: t.arg({ type: UpdateApplicationInput, required: true, description: 'The application and its changes.' }),
    },
    resolve: (_root, { input }, ctx) =>
      updateApplication(serviceOf(ctx), {
        id: input.id.id,
        patch: {
          ...(input.patch.name === undefined ? {} : { name: input.patch.name }),
          ...(input.patch.redirectUris === undefined ? {} : { redirectUris: urls(input.patch.redirectUris) }),
          ...(input.patch.postLogoutRedirectUris === undefined
            ? {}
            : { postLogoutRedirectUris: urls(input.patch.postLogoutRedirectUris) }),
          ...(input.patch.enabled === undefined ? {} : { enabled: input.patch.enabled }),
        },
      }),
  }),
);

builder.mutationField('deleteApplication', (t) =>
  t.field({
    type: DeletePayload,
    description:
      'Deletes an application with its secrets and role grants; its access tokens are refused from the next request on. The last application holding the built-in admin role cannot be deleted.',
    ...requireScopes(['applications:write']),
    args: { input: t.arg(deleteInputArg('Application', 'The application to delete.')) },
    resolve: async (_root, { input }, ctx) => {
      const result = await deleteApplication(serviceOf(ctx), input.id.id);
      return withGlobalDeletedId(result, 'Application');
    },
  }),
);

const RotateApplicationSecretInput = builder.inputType('RotateApplicationSecretInput', {
  description: 'Input of `rotateApplicationSecret`.',
  fields: (t) => ({
    id: t.globalID({
      for: ApplicationRef,
      required: true,
      description: 'The global id of a WEB or M2M application.',
    }),
    previousSecretValidForSeconds: t.int({
      defaultValue: 0,
      description:
        'How long older secrets keep working, 0 to 604800 (7 days); 0 revokes them at once. Lets deployments switch to the new secret without downtime.',
    }),
  }),
});

builder.mutationField('rotateApplicationSecret', (t) =>
  t.field({
    type: CreateApplicationPayload,
    description: 'Gives a WEB or M2M application a new client secret, returned once in the payload.',
    ...requireScopes(['applications:write']),
    args: {
      input: t.arg({
        type: RotateApplicationSecretInput,
        required: true,
        description: 'The application and the rotation window.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      rotateApplicationSecret(serviceOf(ctx), {
        id: input.id.id,
        previousSecretValidForSeconds: input.previousSecretValidForSeconds,
      }),
  }),
);

const AssignApplicationRolesInput = builder.inputType('AssignApplicationRolesInput', {
  description: 'Input of `assignApplicationRoles`.',
  fields: (t) => ({
    applicationId: t.globalID({
      for: ApplicationRef,
      required: true,
      description: 'The global id of the application.',
    }),
    roleIds: t.globalIDList({
      for: RoleRef,
      required: true,
      description: 'Realm-wide roles to add (at most 100). Your token must hold every management scope they carry.',
    }),
  }),
});

builder.mutationField('assignApplicationRoles', (t) =>
  t.field({
    type: ApplicationPayload,
    description:
      'Gives roles to an application; roles it already holds stay. Its next tokens can carry the roles’ management scopes.',
    ...requireScopes(['applications:write']),
    args: {
      input: t.arg({
        type: AssignApplicationRolesInput,
        required: true,
        description: 'The application and the roles.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      assignApplicationRoles(serviceOf(ctx), {
        applicationId: input.applicationId.id,
        roleIds: input.roleIds.map(({ id }) => id),
      }),
  }),
);

const RemoveApplicationRoleInput = builder.inputType('RemoveApplicationRoleInput', {
  description: 'Input of `removeApplicationRole`.',
  fields: (t) => ({
    applicationId: t.globalID({
      for: ApplicationRef,
      required: true,
      description: 'The global id of the application.',
    }),
    roleId: t.globalID({ for: RoleRef, required: true, description: 'The global id of a role the application holds.' }),
  }),
});

builder.mutationField('removeApplicationRole', (t) =>
  t.field({
    type: ApplicationPayload,
    description:
      'Takes a role from an application; its existing tokens lose the role’s scopes at their next request. NOT_FOUND when the application does not hold it; the last application holding the built-in admin role keeps it (INVALID_STATE).',
    ...requireScopes(['applications:write']),
    args: {
      input: t.arg({ type: RemoveApplicationRoleInput, required: true, description: 'The application and the role.' }),
    },
    resolve: (_root, { input }, ctx) =>
      removeApplicationRole(serviceOf(ctx), {
        applicationId: input.applicationId.id,
        roleId: input.roleId.id,
      }),
  }),
);
