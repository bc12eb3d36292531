import type { Caller, Denial, RealmTx } from '../../context.ts';
import { noteGrantDenial, userError, type UserErrorShape } from '../user-error.ts';

/** What a mutation is about to hand out: scopes directly (to a role), or roles (to a user or application). */
export type Grant = { scopeIds: readonly string[] } | { roleIds: readonly string[] };

/**
 * The management scopes (scopes of the built-in Roster Management API resource) that `grant`
 * carries and the caller lacks, sorted. One statement.
 */
export async function ungrantableScopes(
  tx: Pick<RealmTx, 'resourceScope'>,
  caller: Pick<Caller, 'scopes'>,
  grant: Grant,
): Promise<string[]> {
  const ids = 'scopeIds' in grant ? grant.scopeIds : grant.roleIds;
  if (ids.length === 0) return [];
  const carried = await tx.resourceScope.findMany({
    where: {
      resource: { builtIn: true },
      ...('scopeIds' in grant
        ? { id: { in: [...grant.scopeIds] } }
        : { roles: { some: { roleId: { in: [...grant.roleIds] } } } }),
    },
    select: { name: true },
  });
  return [...new Set(carried.map((scope) => scope.name).filter((name) => !caller.scopes.has(name)))].sort();
}

/**
 * No privilege escalation: a caller may hand out management scopes (directly, or through roles)
 * only when its own token holds every one of them. Returns the FORBIDDEN_GRANT error at `field`
 * naming the scopes the caller lacks, or null when the grant is allowed; a refusal is noted on
 * `ctx` for the denial audit. Call it inside the transaction that makes the grant, before writing.
 */
export async function assertCanGrant(
  tx: Pick<RealmTx, 'resourceScope'>,
  ctx: { caller: Pick<Caller, 'scopes'>; denials?: Denial[] | undefined },
  grant: Grant,
  field: string[],
): Promise<UserErrorShape | null> {
  const missing = await ungrantableScopes(tx, ctx.caller, grant);
  if (missing.length === 0) return null;
  noteGrantDenial(ctx, missing);
  return userError(
    'FORBIDDEN_GRANT',
    `Your access token does not hold ${missing.join(', ')}, so you cannot grant ${missing.length === 1 ? 'it' : 'them'}.`,
    field,
  );
}
