import type {
  MfaPolicy,
  Prisma,
  PrismaClient,
  ProfileField,
  Realm,
  TenancyMode,
} from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { usersInSeveralTenants } from './realm.queries.ts';
import { MANAGEMENT_ADMIN_ROLE_NAME } from '../../auth/scopes.ts';
import { diffFields, recordAudit } from '../audit/audit.service.ts';
import { LABEL } from '../input-checks.ts';
import { userError, type UserErrorShape } from '../user-error.ts';
import { UUID } from '../../auth/ids.ts';
import { checkSender } from '../mail/mail.service.ts';

export const DEFAULT_REALM_NAME = 'default';

/** A realm by id or by name (both are accepted wherever a path takes `{realmId}`). */
export function findRealm(prisma: PrismaClient, idOrName: string): Promise<Realm | null> {
  if (UUID.test(idOrName)) return prisma.realm.findUnique({ where: { id: idOrName.toLowerCase() } });
  if (!LABEL.test(idOrName)) return Promise.resolve(null);
  return prisma.realm.findUnique({ where: { name: idOrName } });
}

/** The built-in admin role of a realm, holding every management scope. */
export async function managementAdminRole(tx: RealmTx) {
  return tx.role.findFirstOrThrow({ where: { builtIn: true, name: MANAGEMENT_ADMIN_ROLE_NAME, tenantId: null } });
}

export interface RealmSettingsPatch {
  tenancyMode?: TenancyMode | null;
  requireEmailVerification?: boolean | null;
  mfaPolicy?: MfaPolicy | null;
  requiredProfileFields?: ProfileField[] | null;
  accessTokenTtlSeconds?: number | null;
  maxFailedSignIns?: number | null;
  failedSignInWindowSeconds?: number | null;
  lockoutSeconds?: number | null;
  sessionIdleTimeoutSeconds?: number | null;
  sessionMaxLifetimeSeconds?: number | null;
  /** null: the server's default sender. */
  mailFrom?: string | null;
  impersonationEnabled?: boolean | null;
  impersonateAdministrators?: boolean | null;
  webhookResponseRetentionDays?: number | null;
  passwordMinLength?: number | null;
}

/** Bounds of the numeric settings, and how the error message names them. */
const NUMERIC_SETTINGS = {
  accessTokenTtlSeconds: { min: 300, max: 86_400, unit: ' (5 minutes to 24 hours)' },
  maxFailedSignIns: { min: 1, max: 100, unit: '' },
  failedSignInWindowSeconds: { min: 60, max: 86_400, unit: ' (1 minute to 24 hours)' },
  lockoutSeconds: { min: 60, max: 86_400, unit: ' (1 minute to 24 hours)' },
  sessionIdleTimeoutSeconds: { min: 300, max: 31_536_000, unit: ' (5 minutes to 365 days)' },
  sessionMaxLifetimeSeconds: { min: 300, max: 31_536_000, unit: ' (5 minutes to 365 days)' },
  webhookResponseRetentionDays: { min: 1, max: 365, unit: ' days' },
  passwordMinLength: { min: 8, max: 128, unit: ' characters' },
} as const;

/** Validates and applies a settings patch; on any error nothing changes. */
export async function updateRealmSettings(
  ctx: ServiceContext,
  patch: RealmSettingsPatch,
): Promise<{ realm: Realm | null; userErrors: UserErrorShape[] }> {
  const errors: UserErrorShape[] = [];
  const at = (name: string) => ['input', 'patch', name];
  for (const key of [
    'tenancyMode',
    'requireEmailVerification',
    'mfaPolicy',
    'requiredProfileFields',
    'impersonationEnabled',
    'impersonateAdministrators',
    ...(Object.keys(NUMERIC_SETTINGS) as (keyof typeof NUMERIC_SETTINGS)[]),
  ] as const) {
    if (patch[key] === null) errors.push(userError('REQUIRED', `${key} cannot be cleared.`, at(key)));
  }
  for (const [key, { min, max, unit }] of Object.entries(NUMERIC_SETTINGS)) {
    const value = patch[key as keyof typeof NUMERIC_SETTINGS];
    if (typeof value === 'number' && (value < min || value > max)) {
      errors.push(userError('INVALID', `${key} must be between ${min} and ${max}${unit}.`, at(key)));
    }
  }
  if (typeof patch.mailFrom === 'string') errors.push(...checkSender(patch.mailFrom, at('mailFrom')));
  if (errors.length) return { realm: null, userErrors: errors };

  return ctx.db.$transaction(async (tx) => {
    const before = await tx.realm.findFirstOrThrow({});
    const idle = patch.sessionIdleTimeoutSeconds ?? before.sessionIdleTimeoutSeconds;
    const lifetime = patch.sessionMaxLifetimeSeconds ?? before.sessionMaxLifetimeSeconds;
    if (idle > lifetime) {
      return {
        realm: null,
        userErrors: [
          userError(
            'INVALID',
            `sessionIdleTimeoutSeconds (${idle}) cannot exceed sessionMaxLifetimeSeconds (${lifetime}).`,
            at(patch.sessionIdleTimeoutSeconds != null ? 'sessionIdleTimeoutSeconds' : 'sessionMaxLifetimeSeconds'),
          ),
        ],
      };
    }
    if (patch.tenancyMode === 'ISOLATED_POOL' && before.tenancyMode !== 'ISOLATED_POOL') {
      const count = await usersInSeveralTenants(tx, ctx.realmId);
      if (count > 0) {
        return {
          realm: null,
          userErrors: [
            userError(
              'INVALID_STATE',
              `${count} user${count === 1 ? ' belongs' : 's belong'} to more than one tenant; remove the extra memberships before switching to ISOLATED_POOL.`,
              at('tenancyMode'),
            ),
          ],
        };
      }
    }
    const data = Object.fromEntries(
      Object.entries({
        ...patch,
        requiredProfileFields: patch.requiredProfileFields ? [...new Set(patch.requiredProfileFields)] : undefined,
      }).filter(([, value]) => value !== undefined && value !== null),
    ) as Prisma.RealmUpdateInput;
    if (patch.mailFrom !== undefined) data.mailFrom = patch.mailFrom?.trim() || null;
    const changes = diffFields(before as unknown as Record<string, unknown>, data as Record<string, unknown>);
    if (Object.keys(changes).length === 0) return { realm: before, userErrors: [] };
    const realm = await tx.realm.update({ where: { id: ctx.realmId }, data });
    await recordAudit(tx, ctx, {
      action: 'realm.settings_updated',
      targetType: 'Realm',
      targetId: realm.id,
      changes: changes as Prisma.InputJsonValue,
    });
    return { realm, userErrors: [] };
  });
}
