import type { PrismaClient, UserStatus } from '../../generated/prisma/client.ts';
import { systemContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { DEFAULT_REALM_NAME } from '../realm/realm.service.ts';
import { ensureRealm } from '../realm/realm.lifecycle.ts';

const GIVEN = [
  'Ada',
  'Grace',
  'Alan',
  'Linus',
  'Margaret',
  'Ken',
  'Barbara',
  'Dennis',
  'Frances',
  'Edsger',
  'Radia',
  'Tim',
];
const FAMILY = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Lee',
];
const PLACES = [
  { country: 'GB', region: 'England', city: 'London', timezone: 'Europe/London', locale: 'en-GB' },
  { country: 'US', region: 'California', city: 'San Francisco', timezone: 'America/Los_Angeles', locale: 'en-US' },
  { country: 'DE', region: 'Berlin', city: 'Berlin', timezone: 'Europe/Berlin', locale: 'de-DE' },
  { country: 'FR', region: 'Île-de-France', city: 'Paris', timezone: 'Europe/Paris', locale: 'fr-FR' },
  { country: 'JP', region: 'Tokyo', city: 'Tokyo', timezone: 'Asia/Tokyo', locale: 'ja-JP' },
];
const STATUSES: UserStatus[] = [
  'ACTIVE',
  'ACTIVE',
  'ACTIVE',
  'ACTIVE',
  'INVITED',
  'PENDING_VERIFICATION',
  'INACTIVE',
  'SUSPENDED',
];

/** A small deterministic PRNG (mulberry32), so demo data is the same on every machine. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills the default realm with deterministic demo users, tenants, roles and activity. Idempotent per email. */
export async function seedDemo(prisma: PrismaClient, options: { users: number }) {
  const { realm } = await ensureRealm(prisma, DEFAULT_REALM_NAME);
  const ctx = systemContext(prisma, realm.id);
  const random = prng(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const realmId = realm.id;

  return ctx.db.$transaction(
    async (tx) => {
      const tenants = await Promise.all(
        ['acme', 'globex', 'initech'].map((slug) =>
          tx.tenant.upsert({
            where: { realmId_slug: { realmId, slug } },
            create: { realmId, slug, name: slug[0]!.toUpperCase() + slug.slice(1) },
            update: {},
          }),
        ),
      );
      const roles = [];
      for (const name of ['Support', 'Billing admin', 'Viewer']) {
        const found = await tx.role.findFirst({ where: { name, tenantId: null } });
        roles.push(found ?? (await tx.role.create({ data: { realmId, name, description: `Demo role ${name}.` } })));
      }
      let created = 0;
      for (let i = 0; i < options.users; i++) {
        const given = pick(GIVEN);
        const family = pick(FAMILY);
        const email = `${given}.${family}.${i}@example.com`.toLowerCase();
        if (await tx.user.findFirst({ where: { email }, select: { id: true } })) continue;
        const place = pick(PLACES);
        const status = pick(STATUSES);
        const createdAt = new Date(Date.now() - Math.floor(random() * 365) * 86_400_000);
        const user = await tx.user.create({
          data: {
            realmId,
            email,
            emailVerified: random() < 0.8,
            username: `${given}${family}${i}`.toLowerCase(),
            name: `${given} ${family}`,
            givenName: given,
            familyName: family,
            ...place,
            status,
            suspendedReason: status === 'SUSPENDED' ? 'Demo: suspicious activity' : null,
            suspendedAt: status === 'SUSPENDED' ? new Date() : null,
            createdAt,
            lastLoginAt: random() < 0.7 ? new Date(createdAt.getTime() + Math.floor(random() * 86_400_000 * 30)) : null,
            metadata: { source: 'seed-demo' },
          },
        });
        const tenant = pick(tenants);
        await tx.tenantMembership.create({ data: { realmId, tenantId: tenant.id, userId: user.id } });
        await tx.userRole.create({ data: { realmId, userId: user.id, roleId: pick(roles).id } });
        if (random() < 0.3) {
          await tx.identity.create({
            data: {
              realmId,
              userId: user.id,
              provider: pick(['google', 'github', 'microsoft']),
              providerUserId: `demo-${i}`,
            },
          });
        }
        if (random() < 0.25)
          await tx.mfaFactor.create({ data: { realmId, userId: user.id, type: 'TOTP', name: 'Authenticator' } });
        created++;
      }
      await recordAudit(tx, ctx, {
        action: 'realm.demo_seeded',
        targetType: 'Realm',
        targetId: realmId,
        changes: { users: created },
      });
      return { users: created, tenants: tenants.length, roles: roles.length };
    },
    { timeout: 120_000 },
  );
}
