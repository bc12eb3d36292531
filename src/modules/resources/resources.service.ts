import type { Prisma, PrismaClient, Resource, ResourceScope } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { MANAGEMENT_API_INDICATOR } from '../../auth/scopes.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { checkDescription, checkName } from '../input-checks.ts';
import {
  inTransaction,
  isUserError,
  notFound,
  refused,
  userError,
  type DeleteResult,
  type UserErrorShape,
} from '../user-error.ts';

const INDICATOR_MAX_LENGTH = 2048;
const SCOPE_NAME_MAX_LENGTH = 100;
/**
 * Scope names: lowercase segments separated by colons, each starting with a letter and made of
 * letters, digits, `_` and `-` (`users:read`, `read:posts`, `billing`). Always a valid OAuth
 * scope token (RFC 6749 §3.3).
 */
const SCOPE_NAME = /^[a-z][a-z0-9_-]*(?::[a-z][a-z0-9_-]*)*$/;
const SCOPE_NAME_RULE =
  'lowercase segments separated by colons, each starting with a letter and containing only letters, digits, `_` and `-` (e.g. `read:posts`, `users:read`), at most 100 characters';

export interface ResourceResult {
  resource: Resource | null;
  /** The scope added or changed, for scope mutations. */
  scope?: ResourceScope | null;
  userErrors: UserErrorShape[];
}

/** Indicators in this namespace belong to Roster's own APIs (`urn:roster:management-api`). */
const RESERVED_NAMESPACE = MANAGEMENT_API_INDICATOR.slice(0, MANAGEMENT_API_INDICATOR.lastIndexOf(':') + 1);

/**
 * Whether an indicator names, or could be mistaken for, one of Roster's own APIs: the
 * `urn:roster:` namespace compared ignoring case and percent-encoding, so neither
 * `urn:ROSTER:management-api` nor `urn:roster:management-api/` can pass for it.
 */
function isReservedIndicator(href: string): boolean {
  let text = href.toLowerCase();
  try {
    text = decodeURIComponent(text);
  } catch {
    // A malformed escape decodes to nothing else.
  }
  return text.trim().startsWith(RESERVED_NAMESPACE);
}

const failed = (...userErrors: UserErrorShape[]): ResourceResult => ({
  ...refused('resource', ...userErrors),
  scope: null,
});

/**
 * Checks a resource indicator (RFC 8707: an absolute URI without a fragment) and returns it in
 * normalized form, as stored and compared.
 */
function checkIndicator(value: string, field: string[], errors: UserErrorShape[]): string {
  if (value.length > INDICATOR_MAX_LENGTH) {
    errors.push(userError('TOO_LONG', `The indicator must be at most ${INDICATOR_MAX_LENGTH} characters.`, field));
    return value;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.push(userError('INVALID', 'The indicator must be an absolute URI.', field));
    return value;
  }
  if (url.href.includes('#')) {
    errors.push(userError('INVALID', 'The indicator must not contain a fragment (`#…`).', field));
  } else if (url.username || url.password) {
    errors.push(userError('INVALID', 'The indicator must not contain user information.', field));
  } else if (isReservedIndicator(url.href)) {
    errors.push(
      userError(
        'RESERVED',
        `Indicators starting with \`${RESERVED_NAMESPACE}\` (in any case) are reserved for Roster's own APIs.`,
        field,
      ),
    );
  }
  return url.href;
}

function checkScopeName(value: string, field: string[], errors: UserErrorShape[]): string {
  if (!value) errors.push(userError('REQUIRED', 'The scope name must not be empty.', field));
  else if (value.length > SCOPE_NAME_MAX_LENGTH) {
    errors.push(userError('TOO_LONG', `The scope name must be at most ${SCOPE_NAME_MAX_LENGTH} characters.`, field));
  } else if (!SCOPE_NAME.test(value)) {
    errors.push(userError('INVALID', `The scope name must be ${SCOPE_NAME_RULE}.`, field));
  }
  return value;
}

/** The resource, or the NOT_FOUND / INVALID_STATE (built-in) error at `field`. */
async function writableResource(tx: RealmTx, id: string, field: string[]): Promise<Resource | UserErrorShape> {
  const resource = await tx.resource.findUnique({ where: { id } });
  if (!resource) return notFound('resource', field);
  if (resource.builtIn) {
    return userError(
      'INVALID_STATE',
      'The built-in Roster Management API resource and its scopes are read-only.',
      field,
    );
  }
  return resource;
}

/** A change to a resource's scopes is a change to the resource. */
const touch = (tx: RealmTx, id: string) => tx.resource.update({ where: { id }, data: { updatedAt: new Date() } });

export interface CreateResourceInput {
  name: string;
  indicator: string;
}

export async function createResource(ctx: ServiceContext, input: CreateResourceInput): Promise<ResourceResult> {
  const errors: UserErrorShape[] = [];
  const name = checkName(input.name, ['input', 'name'], errors);
  const indicator = checkIndicator(input.indicator, ['input', 'indicator'], errors);
  if (errors.length) return failed(...errors);
  const taken = () =>
    failed(userError('TAKEN', 'Another resource of this realm has this indicator.', ['input', 'indicator']));

  return inTransaction(
    ctx,
    async (tx) => {
      if (await tx.resource.findFirst({ where: { indicator }, select: { id: true } })) return taken();
      const resource = await tx.resource.create({ data: { realmId: ctx.realmId, name, indicator } });
      await recordAudit(tx, ctx, {
        action: 'resource.created',
        targetType: 'Resource',
        targetId: resource.id,
        changes: { name, indicator },
      });
      return { resource, scope: null, userErrors: [] };
    },
    taken,
  );
}

export interface ResourcePatch {
  name?: string | null;
}

export async function updateResource(ctx: ServiceContext, id: string, patch: ResourcePatch): Promise<ResourceResult> {
  const errors: UserErrorShape[] = [];
  let name: string | undefined;
  if (patch.name === null)
    errors.push(userError('REQUIRED', 'The name cannot be cleared.', ['input', 'patch', 'name']));
  else if (patch.name !== undefined) name = checkName(patch.name, ['input', 'patch', 'name'], errors);
  if (errors.length) return failed(...errors);

  return inTransaction(ctx, async (tx) => {
    const before = await writableResource(tx, id, ['input', 'id']);
    if (isUserError(before)) return failed(before);
    const changes = diffFields({ name: before.name }, name === undefined ? {} : { name });
    if (Object.keys(changes).length === 0) return { resource: before, scope: null, userErrors: [] };
    const resource = await tx.resource.update({ where: { id }, data: { name: name! } });
    await recordAudit(tx, ctx, {
      action: 'resource.updated',
      targetType: 'Resource',
      targetId: id,
      changes: changes as Prisma.InputJsonValue,
    });
    return { resource, scope: null, userErrors: [] };
  });
}

/** Deletes a resource with its scopes; every role and user loses those scopes. */
export async function deleteResource(ctx: ServiceContext, id: string): Promise<DeleteResult> {
  return inTransaction(ctx, async (tx) => {
    const resource = await writableResource(tx, id, ['input', 'id']);
    if (isUserError(resource)) return refused('deletedId', resource);
    const scopes = await tx.resourceScope.findMany({
      where: { resourceId: id },
      select: { name: true },
      orderBy: { name: 'asc' },
    });
    const roleGrantsRemoved = await tx.roleScope.count({ where: { scope: { resourceId: id } } });
    const userPermissionsRemoved = await tx.userPermission.count({ where: { scope: { resourceId: id } } });
    // Scopes, their role grants and direct user permissions go with it (foreign keys cascade).
    await tx.resource.delete({ where: { id } });
    await recordAudit(tx, ctx, {
      action: 'resource.deleted',
      targetType: 'Resource',
      targetId: id,
      changes: {
        name: resource.name,
        indicator: resource.indicator,
        scopes: scopes.map((s) => s.name),
        roleGrantsRemoved,
        userPermissionsRemoved,
      },
    });
    return { deletedId: id, userErrors: [] };
  });
}

export interface AddResourceScopeInput {
  resourceId: string;
  name: string;
  description?: string | null;
}

export async function addResourceScope(ctx: ServiceContext, input: AddResourceScopeInput): Promise<ResourceResult> {
  const errors: UserErrorShape[] = [];
  const name = checkScopeName(input.name, ['input', 'name'], errors);
  const description = checkDescription(input.description ?? null, ['input', 'description'], errors);
  if (errors.length) return failed(...errors);
  const taken = () => failed(userError('TAKEN', 'The resource already has a scope with this name.', ['input', 'name']));

  return inTransaction(
    ctx,
    async (tx) => {
      const resource = await writableResource(tx, input.resourceId, ['input', 'resourceId']);
      if (isUserError(resource)) return failed(resource);
      if (await tx.resourceScope.findFirst({ where: { resourceId: resource.id, name }, select: { id: true } }))
        return taken();
      const scope = await tx.resourceScope.create({
        data: { realmId: ctx.realmId, resourceId: resource.id, name, description },
      });
      const updated = await touch(tx, resource.id);
      await recordAudit(tx, ctx, {
        action: 'resource.scope_added',
        targetType: 'Resource',
        targetId: resource.id,
        changes: { scopeId: scope.id, name, description },
      });
      return { resource: updated, scope, userErrors: [] };
    },
    taken,
  );
}

interface ResourceScopePatch {
  name?: string | null;
  description?: string | null;
}

export interface UpdateResourceScopeInput {
  resourceId: string;
  scopeId: string;
  patch: ResourceScopePatch;
}

export async function updateResourceScope(
  ctx: ServiceContext,
  input: UpdateResourceScopeInput,
): Promise<ResourceResult> {
  const errors: UserErrorShape[] = [];
  const data: { name?: string; description?: string | null } = {};
  const { patch } = input;
  if (patch.name === null)
    errors.push(userError('REQUIRED', 'The scope name cannot be cleared.', ['input', 'patch', 'name']));
  else if (patch.name !== undefined) data.name = checkScopeName(patch.name, ['input', 'patch', 'name'], errors);
  if (patch.description !== undefined) {
    data.description = checkDescription(patch.description, ['input', 'patch', 'description'], errors);
  }
  if (errors.length) return failed(...errors);
  const taken = () =>
    failed(userError('TAKEN', 'The resource already has a scope with this name.', ['input', 'patch', 'name']));

  return inTransaction(
    ctx,
    async (tx) => {
      const resource = await writableResource(tx, input.resourceId, ['input', 'resourceId']);
      if (isUserError(resource)) return failed(resource);
      const before = await tx.resourceScope.findFirst({ where: { id: input.scopeId, resourceId: resource.id } });
      if (!before)
        return failed(userError('NOT_FOUND', 'The resource has no scope with this id.', ['input', 'scopeId']));
      const changes = diffFields({ name: before.name, description: before.description }, data);
      if (Object.keys(changes).length === 0) return { resource, scope: before, userErrors: [] };
      if (
        changes.name &&
        (await tx.resourceScope.findFirst({
          where: { resourceId: resource.id, name: data.name!, id: { not: before.id } },
          select: { id: true },
        }))
      ) {
        return taken();
      }
      const scope = await tx.resourceScope.update({ where: { id: before.id }, data });
      const updated = await touch(tx, resource.id);
      await recordAudit(tx, ctx, {
        action: 'resource.scope_updated',
        targetType: 'Resource',
        targetId: resource.id,
        changes: { scopeId: scope.id, ...changes },
      });
      return { resource: updated, scope, userErrors: [] };
    },
    taken,
  );
}

export interface RemoveResourceScopeInput {
  resourceId: string;
  scopeId: string;
}

/** Removes a scope from its resource and from every role and user that had it. */
export async function removeResourceScope(
  ctx: ServiceContext,
  input: RemoveResourceScopeInput,
): Promise<ResourceResult> {
  return inTransaction(ctx, async (tx) => {
    const resource = await writableResource(tx, input.resourceId, ['input', 'resourceId']);
    if (isUserError(resource)) return failed(resource);
    const scope = await tx.resourceScope.findFirst({ where: { id: input.scopeId, resourceId: resource.id } });
    if (!scope) return failed(userError('NOT_FOUND', 'The resource has no scope with this id.', ['input', 'scopeId']));
    const rolesAffected = await tx.roleScope.count({ where: { scopeId: scope.id } });
    const userPermissionsRemoved = await tx.userPermission.count({ where: { scopeId: scope.id } });
    // Role grants and direct user permissions of the scope go with it (foreign keys cascade).
    await tx.resourceScope.delete({ where: { id: scope.id } });
    const updated = await touch(tx, resource.id);
    await recordAudit(tx, ctx, {
      action: 'resource.scope_removed',
      targetType: 'Resource',
      targetId: resource.id,
      changes: { scopeId: scope.id, name: scope.name, rolesAffected, userPermissionsRemoved },
    });
    return { resource: updated, scope: null, userErrors: [] };
  });
}

/** The scope names of the realm's API resource with this indicator (sorted), or null when it has none. */
export async function resourceScopeNames(
  prisma: PrismaClient,
  realmId: string,
  indicator: string,
): Promise<string[] | null> {
  const resource = await prisma.resource.findUnique({
    where: { realmId_indicator: { realmId, indicator } },
    select: { scopes: { select: { name: true } } },
  });
  return resource ? resource.scopes.map((scope) => scope.name).sort() : null;
}
