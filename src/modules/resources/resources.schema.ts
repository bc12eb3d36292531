import { builder, requireScopes } from '../../graphql/builder.ts';
import { DeletePayload, withGlobalDeletedId, deleteInputArg } from '../payloads.schema.ts';
import { UserErrorRef } from '../user-error.schema.ts';
import {
  addResourceScope,
  createResource,
  deleteResource,
  removeResourceScope,
  updateResource,
  updateResourceScope,
  type ResourceResult,
} from './resources.service.ts';
import { serviceOf } from '../../context.ts';

const SCOPE_NAME_DOC =
  'Lowercase segments separated by colons, each starting with a letter and containing only letters, digits, `_` and `-` ' +
  '(pattern `^[a-z][a-z0-9_-]*(:[a-z][a-z0-9_-]*)*$`, e.g. `read:posts`, `users:read`), at most 100 characters, unique per resource.';

const ResourceRef = builder.prismaNode('Resource', {
  description:
    'An API protected by access tokens, identified by its resource indicator (RFC 8707), with the scopes it defines.',
  id: { field: 'id', description: 'The global id of the resource.' },
  // node(id) of a missing (or another realm's) object resolves to null, not an error.
  nullable: true,
  ...requireScopes(['resources:read']),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name (1 to 100 characters).' }),
    indicator: t.expose('indicator', {
      type: 'URL',
      description:
        'The resource indicator: an absolute URI without fragment, unique in the realm; used as the access-token audience. It cannot change.',
    }),
    builtIn: t.exposeBoolean('builtIn', {
      description:
        'Whether Roster manages this resource itself (the Roster Management API); built-in resources and their scopes are read-only.',
    }),
    scopes: t.relation('scopes', {
      description: 'The scopes the resource defines, by name.',
      query: { orderBy: [{ name: 'asc' }, { id: 'asc' }] },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the resource was created.' }),
    updatedAt: t.expose('updatedAt', {
      type: 'DateTime',
      description: 'When the resource or one of its scopes last changed.',
    }),
  }),
});

export const ResourceScopeRef = builder.prismaNode('ResourceScope', {
  description: 'A permission defined by a resource, e.g. `users:read`; roles bundle scopes.',
  id: { field: 'id', description: 'The global id of the scope.' },
  nullable: true,
  // Readable with resources:read, and with roles:read (a role's scopes are part of the role).
  ...requireScopes(['resources:read'], ['roles:read']),
  fields: (t) => ({
    name: t.exposeString('name', { description: `The scope name as it appears in access tokens. ${SCOPE_NAME_DOC}` }),
    description: t.exposeString('description', {
      nullable: true,
      description: 'What the scope allows (at most 500 characters).',
    }),
    builtIn: t.boolean({
      description:
        'Whether the scope belongs to a built-in resource (a management scope of the Roster Management API); read-only.',
      select: { resource: { select: { builtIn: true } } },
      resolve: (scope) => scope.resource.builtIn,
    }),
    resource: t.relation('resource', { description: 'The resource that defines the scope.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the scope was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the scope last changed.' }),
  }),
});

builder.queryField('resource', (t) =>
  t.prismaField({
    type: 'Resource',
    nullable: true,
    description: 'An API resource of the caller’s realm by id; null when there is none.',
    ...requireScopes(['resources:read']),
    args: { id: t.arg.globalID({ for: ResourceRef, required: true, description: 'The global id of the resource.' }) },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.resource.findUnique({ ...query, where: { id: args.id.id } }),
  }),
);

builder.queryField('resources', (t) =>
  t.prismaConnection(
    {
      type: 'Resource',
      cursor: 'id',
      description:
        'API resources of the caller’s realm, oldest first (the built-in Roster Management API comes first).',
      ...requireScopes(['resources:read']),
      totalCount: (_root, _args, ctx) => serviceOf(ctx).db.resource.count(),
      resolve: (query, _root, _args, ctx) => serviceOf(ctx).db.resource.findMany({ ...query, orderBy: { id: 'asc' } }),
    },
    { name: 'ResourceConnection', description: 'A page of API resources.' },
    { name: 'ResourceEdge', description: 'An API resource in a page of resources.' },
  ),
);

const ResourcePayload = builder.objectRef<ResourceResult>('ResourcePayload').implement({
  description: 'Result of a change to an API resource or its scopes.',
  fields: (t) => ({
    resource: t.field({
      type: ResourceRef,
      nullable: true,
      description: 'The resource after the change; null when the change did not apply.',
      resolve: (payload) => payload.resource,
    }),
    scope: t.field({
      type: ResourceScopeRef,
      nullable: true,
      description: 'The scope added or changed by `addResourceScope` or `updateResourceScope`; null otherwise.',
      resolve: (payload) => payload.scope ?? null,
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the mutation did not apply; empty on success. When not empty, nothing changed.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

const CreateResourceInput = builder.inputType('CreateResourceInput', {
  description: 'Input of `createResource`.',
  fields: (t) => ({
    name: t.string({
      required: true,
      description: 'Display name, 1 to 100 characters (surrounding spaces are trimmed).',
    }),
    indicator: t.field({
      type: 'URL',
      required: true,
      description:
        'Resource indicator: an absolute URI without fragment or user information, at most 2048 characters, unique in the realm (TAKEN otherwise). Stored normalized. The `urn:roster:` namespace, in any case or encoding, is reserved for Roster’s own APIs such as `urn:roster:management-api` (RESERVED).',
    }),
  }),
});

const ResourcePatch = builder.inputType('ResourcePatch', {
  description: 'Changes to a resource; omitted fields stay as they are. The indicator cannot change.',
  fields: (t) => ({
    name: t.string({ description: 'New display name, 1 to 100 characters; cannot be null.' }),
  }),
});

const UpdateResourceInput = builder.inputType('UpdateResourceInput', {
  description: 'Input of `updateResource`.',
  fields: (t) => ({
    id: t.globalID({ for: ResourceRef, required: true, description: 'The global id of the resource.' }),
    patch: t.field({ type: ResourcePatch, required: true, description: 'The changes.' }),
  }),
});

const AddResourceScopeInput = builder.inputType('AddResourceScopeInput', {
  description: 'Input of `addResourceScope`.',
  fields: (t) => ({
    resourceId: t.globalID({ for: ResourceRef, required: true, description: 'The global id of the resource.' }),
    name: t.string({ required: true, description: `The scope name. ${SCOPE_NAME_DOC}` }),
    description: t.string({ description: 'What the scope allows, at most 500 characters.' }),
  }),
});

const ResourceScopePatch = builder.inputType('ResourceScopePatch', {
  description: 'Changes to a scope; omitted fields stay as they are, an explicit null clears the description.',
  fields: (t) => ({
    name: t.string({ description: `New scope name; cannot be null. ${SCOPE_NAME_DOC}` }),
    description: t.string({ description: 'New description, at most 500 characters; null clears it.' }),
  }),
});

const UpdateResourceScopeInput = builder.inputType('UpdateResourceScopeInput', {
  description: 'Input of `updateResourceScope`.',
  fields: (t) => ({
    resourceId: t.globalID({ for: ResourceRef, required: true, description: 'The global id of the resource.' }),
    scopeId: t.globalID({
      for: ResourceScopeRef,
      required: true,
      description: 'The global id of one of the resource’s scopes.',
    }),
    patch: t.field({ type: ResourceScopePatch, required: true, description: 'The changes.' }),
  }),
});

const RemoveResourceScopeInput = builder.inputType('RemoveResourceScopeInput', {
  description: 'Input of `removeResourceScope`.',
  fields: (t) => ({
    resourceId: t.globalID({ for: ResourceRef, required: true, description: 'The global id of the resource.' }),
    scopeId: t.globalID({
      for: ResourceScopeRef,
      required: true,
      description: 'The global id of one of the resource’s scopes.',
    }),
  }),
});

builder.mutationField('createResource', (t) =>
  t.field({
    type: ResourcePayload,
    description: 'Creates an API resource without scopes; add them with `addResourceScope`.',
    ...requireScopes(['resources:write']),
    args: { input: t.arg({ type: CreateResourceInput, required: true, description: 'The new resource.' }) },
    resolve: (_root, { input }, ctx) =>
      createResource(serviceOf(ctx), { name: input.name, indicator: input.indicator.href }),
  }),
);

builder.mutationField('updateResource', (t) =>
  t.field({
    type: ResourcePayload,
    description: 'Renames an API resource. Built-in resources are read-only (INVALID_STATE).',
    ...requireScopes(['resources:write']),
    args: { input: t.arg({ type: UpdateResourceInput, required: true, description: 'The resource and its changes.' }) },
    resolve: (_root, { input }, ctx) => updateResource(serviceOf(ctx), input.id.id, input.patch),
  }),
);

builder.mutationField('deleteResource', (t) =>
  t.field({
    type: DeletePayload,
    description:
      'Deletes an API resource and its scopes; every role and user loses those scopes. Built-in resources cannot be deleted (INVALID_STATE).',
    ...requireScopes(['resources:write']),
    args: { input: t.arg(deleteInputArg('Resource', 'The resource to delete.')) },
    resolve: async (_root, { input }, ctx) => {
      const result = await deleteResource(serviceOf(ctx), input.id.id);
      return withGlobalDeletedId(result, 'Resource');
    },
  }),
);

builder.mutationField('addResourceScope', (t) =>
  t.field({
    type: ResourcePayload,
    description: 'Adds a scope to an API resource. Built-in resources are read-only (INVALID_STATE).',
    ...requireScopes(['resources:write']),
    args: {
      input: t.arg({ type: AddResourceScopeInput, required: true, description: 'The resource and the new scope.' }),
    },
    resolve: (_root, { input }, ctx) =>
      addResourceScope(serviceOf(ctx), {
        resourceId: input.resourceId.id,
        name: input.name,
        description: input.description ?? null,
      }),
  }),
);

builder.mutationField('updateResourceScope', (t) =>
  t.field({
    type: ResourcePayload,
    description:
      'Renames or re-describes a scope of an API resource; roles holding it keep it. Built-in scopes are read-only (INVALID_STATE).',
    ...requireScopes(['resources:write']),
    args: {
      input: t.arg({ type: UpdateResourceScopeInput, required: true, description: 'The scope and its changes.' }),
    },
    resolve: (_root, { input }, ctx) =>
      updateResourceScope(serviceOf(ctx), {
        resourceId: input.resourceId.id,
        scopeId: input.scopeId.id,
        patch: input.patch,
      }),
  }),
);

builder.mutationField('removeResourceScope', (t) =>
  t.field({
    type: ResourcePayload,
    description:
      'Removes a scope from an API resource and from every role and user holding it. Built-in scopes are read-only (INVALID_STATE).',
    ...requireScopes(['resources:write']),
    args: { input: t.arg({ type: RemoveResourceScopeInput, required: true, description: 'The scope to remove.' }) },
    resolve: (_root, { input }, ctx) =>
      removeResourceScope(serviceOf(ctx), {
        resourceId: input.resourceId.id,
        scopeId: input.scopeId.id,
      }),
  }),
);

builder.queryField('resourceByIndicator', (t) =>
  t.prismaField({
    type: 'Resource',
    nullable: true,
    description:
      'The API resource of the caller’s realm with this indicator (compared in the normalized URI form it is stored in), the built-in Roster Management API included; null when there is none.',
    ...requireScopes(['resources:read']),
    args: {
      indicator: t.arg({ type: 'URL', required: true, description: 'The resource indicator (an absolute URI).' }),
    },
    resolve: (query, _root, args, ctx) =>
      serviceOf(ctx).db.resource.findFirst({ ...query, where: { indicator: new URL(args.indicator).href } }),
  }),
);
