import type { Prisma, Tenant } from '../../generated/prisma/client.ts';
import type { ServiceContext } from '../../context.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { checkLabel, checkName } from '../input-checks.ts';
import {
  inTransaction,
  notFound,
  refused,
  userError,
  type DeleteResult,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';

const SLUG_MAX_LENGTH = 63;

/** A slug from a name: accents dropped, every run of other characters a hyphen, at most 63 characters. */
function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/^-+|-+$/g, '');
}

const checkSlug = (slug: string, field: string[], errors: UserErrorShape[]) => checkLabel(slug, 'slug', field, errors);

const slugTaken = (field: string[]) => userError('TAKEN', 'Another tenant of the realm already uses this slug.', field);

/** `input → Prisma where` of the `tenants` list. */
export function tenantListWhere(filter: { search?: string | null } | null | undefined): Prisma.TenantWhereInput {
  const search = filter?.search?.trim();
  if (!search) return {};
  return { OR: [{ name: { contains: search, mode: 'insensitive' } }, { slug: { contains: search.toLowerCase() } }] };
}

/** Creates a tenant; without a slug, one is derived from the name. */
export async function createTenant(
  ctx: ServiceContext,
  input: { name: string; slug?: string | null },
): Promise<MutationResult<'tenant', Tenant>> {
  const errors: UserErrorShape[] = [];
  const name = checkName(input.name, ['input', 'name'], errors);
  const slugField = ['input', 'slug'];
  const slug = input.slug == null ? slugify(name) : input.slug;
  if (input.slug == null) {
    if (!errors.length && !slug)
      errors.push(userError('REQUIRED', 'No slug can be derived from this name; give one.', slugField));
  } else checkSlug(slug, slugField, errors);
  if (errors.length) return refused('tenant', ...errors);

  return inTransaction(
    ctx,
    async (tx) => {
      if (await tx.tenant.count({ where: { slug } })) return refused('tenant', slugTaken(slugField));
      const tenant = await tx.tenant.create({ data: { realmId: ctx.realmId, name, slug } });
      await recordAudit(tx, ctx, {
        action: 'tenant.created',
        targetType: 'Tenant',
        targetId: tenant.id,
        changes: { name: tenant.name, slug: tenant.slug },
      });
      return { tenant, userErrors: [] };
    },
    // A concurrent create took the slug between the check and the insert.
    () => refused('tenant', slugTaken(slugField)),
  );
}

/** Renames a tenant or changes its slug; omitted fields stay as they are. */
export async function updateTenant(
  ctx: ServiceContext,
  input: { id: string; patch: { name?: string | null; slug?: string | null } },
): Promise<MutationResult<'tenant', Tenant>> {
  const { patch } = input;
  const errors: UserErrorShape[] = [];
  const data: { name?: string; slug?: string } = {};
  const at = (key: string) => ['input', 'patch', key];
  for (const key of ['name', 'slug'] as const) {
    if (patch[key] === null) errors.push(userError('REQUIRED', `The ${key} cannot be cleared.`, at(key)));
  }
  if (patch.name != null) data.name = checkName(patch.name, at('name'), errors);
  if (patch.slug != null) {
    checkSlug(patch.slug, at('slug'), errors);
    data.slug = patch.slug;
  }
  if (errors.length) return refused('tenant', ...errors);

  return inTransaction(
    ctx,
    async (tx) => {
      const before = await tx.tenant.findUnique({ where: { id: input.id } });
      if (!before) return refused('tenant', notFound('tenant', ['input', 'id']));
      const changes = diffFields(before, data);
      if (Object.keys(changes).length === 0) return { tenant: before, userErrors: [] };
      if (changes.slug && (await tx.tenant.count({ where: { slug: data.slug!, id: { not: before.id } } }))) {
        return refused('tenant', slugTaken(at('slug')));
      }
      const tenant = await tx.tenant.update({ where: { id: before.id }, data });
      await recordAudit(tx, ctx, {
        action: 'tenant.updated',
        targetType: 'Tenant',
        targetId: tenant.id,
        changes: changes as Prisma.InputJsonValue,
      });
      return { tenant, userErrors: [] };
    },
    () => refused('tenant', slugTaken(at('slug'))),
  );
}

/**
 * Deletes a tenant with its memberships, tenant-scoped role assignments and tenant-defined
 * roles (the schema cascades); the audit event counts what went with it.
 */
export async function deleteTenant(ctx: ServiceContext, id: string): Promise<DeleteResult> {
  return inTransaction(ctx, async (tx) => {
    const tenant = await tx.tenant.findUnique({
      where: { id },
      include: { _count: { select: { memberships: true, userRoles: true, roles: true } } },
    });
    if (!tenant) return refused('deletedId', notFound('tenant', ['input', 'id']));
    await tx.tenant.delete({ where: { id } });
    await recordAudit(tx, ctx, {
      action: 'tenant.deleted',
      targetType: 'Tenant',
      targetId: id,
      changes: {
        name: tenant.name,
        slug: tenant.slug,
        memberships: tenant._count.memberships,
        roleAssignments: tenant._count.userRoles,
        roles: tenant._count.roles,
      },
    });
    return { deletedId: id, userErrors: [] };
  });
}
