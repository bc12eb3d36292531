import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient, UserStatus } from '../../generated/prisma/client.ts';
import { systemContext, type RealmTx } from '../../context.ts';
import { MANAGEMENT_API_INDICATOR } from '../../auth/scopes.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { createApplicationRecord } from '../applications/applications.service.ts';
import { ensureRealm } from '../realm/realm.lifecycle.ts';
import { hashPassword } from '../users/users.passwords.ts';
import { openSession, signInWithPassword } from '../users/users.signin.ts';

/** Every demo user with a password has this one, so that anyone can sign in as them. */
export const DEMO_PASSWORD = 'demo-password-correct-horse';

/** At most this many users per run: one transaction writes them all. */
export const MAX_DEMO_USERS = 10_000;

const GIVEN = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger', 'Radia'];
const FAMILY = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Allen'];
const PLACES = [
  { country: 'GB', region: 'England', city: 'London', timezone: 'Europe/London', locale: 'en-GB' },
  { country: 'US', region: 'California', city: 'San Francisco', timezone: 'America/Los_Angeles', locale: 'en-US' },
  { country: 'DE', region: 'Berlin', city: 'Berlin', timezone: 'Europe/Berlin', locale: 'de-DE' },
  { country: 'FR', region: 'Île-de-France', city: 'Paris', timezone: 'Europe/Paris', locale: 'fr-FR' },
  { country: 'JP', region: 'Tokyo', city: 'Tokyo', timezone: 'Asia/Tokyo', locale: 'ja-JP' },
];
/** Weighted: most users are active. */
const STATUSES: UserStatus[] = [
  'ACTIVE',
  'ACTIVE',
  'ACTIVE',
  'ACTIVE',
  'ACTIVE',
  'INVITED',
  'PENDING_VERIFICATION',
  'INACTIVE',
  'SUSPENDED',
];
const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
];
/** Demo roles and the scopes they hold: management scopes, and those of the demo Billing API. */
const ROLES: { name: string; description: string; management: string[]; billing: string[] }[] = [
  {
    name: 'Support',
    description: 'Finds users and helps them.',
    management: ['users:read', 'users:write'],
    billing: [],
  },
  {
    name: 'Viewer',
    description: 'Reads users and the audit trail.',
    management: ['users:read', 'audit:read'],
    billing: [],
  },
  {
    name: 'Billing admin',
    description: 'Manages invoices.',
    management: [],
    billing: ['invoices:read', 'invoices:write'],
  },
];
const BILLING = { name: 'Billing API (demo)', indicator: 'https://billing.example.com/api' };
const CONSOLE = { name: 'Demo console', redirectUri: 'http://localhost:5173/callback' };
const DAY = 86_400_000;

/** A small deterministic PRNG (mulberry32), so demo data is the same on every machine. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoSummary {
  realm: string;
  users: number;
  tenants: number;
  roles: number;
  /** Sign-ins made through the sign-in runtime's own functions (a session each). */
  signIns: number;
  /** Failed sign-ins made the same way (wrong passwords). */
  failedSignIns: number;
}

/**
 * Fills realm `realmName` (created if needed) with demo data whose every state is one the product
 * could reach, and no date in the future:
 * - tenants; roles holding scopes (of the management API, and of a demo Billing API); a SPA;
 * - users created over the past year: INVITED ones without password or sign-in, PENDING ones
 *   unverified and never signed in, ACTIVE ones signed in between their creation and now,
 *   INACTIVE ones last seen months ago, SUSPENDED ones with the time and reason, their sessions
 *   revoked; their past sign-ins as login events, the last one at `lastLoginAt`;
 * - then, through the sign-in runtime's own functions (`signInWithPassword`, `openSession`), a
 *   few live sign-ins with sessions and a few wrong passwords, as the hosted pages record them.
 * Users are keyed by email: running it again adds only users not there yet.
 */
export async function seedDemo(
  prisma: PrismaClient,
  options: { users: number; realm: string; now?: Date },
): Promise<DemoSummary> {
  const { realm } = await ensureRealm(prisma, options.realm);
  const realmId = realm.id;
  const ctx = systemContext(prisma, realmId);
  // One generator per user (seeded by its number): user i is the same on every run, whoever
  // was there already.
  let random = prng(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const now = (options.now ?? new Date()).getTime();
  const between = (from: number, to: number) => new Date(from + Math.floor(random() * Math.max(0, to - from)));
  const passwordHash = await hashPassword(DEMO_PASSWORD);

  const seeded = await ctx.db.$transaction(
    async (tx) => {
      const tenants = [];
      for (const slug of ['acme', 'globex', 'initech']) {
        tenants.push(
          await tx.tenant.upsert({
            where: { realmId_slug: { realmId, slug } },
            create: { realmId, slug, name: slug[0]!.toUpperCase() + slug.slice(1) },
            update: {},
          }),
        );
      }
      const roles = await demoRoles(tx, realmId);
      const app =
        (await tx.application.findFirst({ where: { name: CONSOLE.name, type: 'SPA' } })) ??
        (
          await createApplicationRecord(tx, {
            realmId,
            name: CONSOLE.name,
            type: 'SPA',
            redirectUris: [CONSOLE.redirectUri],
          })
        ).application;

      const active: { email: string; tenantId: string }[] = [];
      let created = 0;
      for (let i = 0; i < options.users; i++) {
        random = prng(1_000 + i);
        const given = pick(GIVEN);
        const family = pick(FAMILY);
        const email = `${given}.${family}.${i}@example.com`.toLowerCase();
        const place = pick(PLACES);
        const status = pick(STATUSES);
        const tenant = pick(tenants);
        const createdAt = between(now - 365 * DAY, now - DAY);
        if (await tx.user.findFirst({ where: { email }, select: { id: true } })) continue;
        const signsIn = status === 'ACTIVE' || status === 'INACTIVE' || status === 'SUSPENDED';
        // Active users were seen in the last month; inactive ones not for at least three.
        const lastLoginAt = !signsIn
          ? null
          : status === 'INACTIVE'
            ? between(createdAt.getTime(), Math.max(createdAt.getTime(), now - 90 * DAY))
            : between(Math.max(createdAt.getTime(), now - 30 * DAY), now - 60_000);
        const suspendedAt = status === 'SUSPENDED' ? between(lastLoginAt!.getTime(), now) : null;
        const user = await tx.user.create({
          data: {
            realmId,
            email,
            emailVerified: status !== 'PENDING_VERIFICATION' && status !== 'INVITED',
            username: `${given}${family}${i}`.toLowerCase(),
            name: `${given} ${family}`,
            givenName: given,
            familyName: family,
            ...place,
            status,
            passwordHash: status === 'INVITED' ? null : passwordHash,
            passwordAlgorithm: status === 'INVITED' ? null : 'ARGON2ID',
            suspendedReason: suspendedAt ? 'Demo: chargeback under review' : null,
            suspendedAt,
            createdAt,
            updatedAt: suspendedAt ?? lastLoginAt ?? createdAt,
            lastLoginAt,
            lastActiveAt: lastLoginAt,
            metadata: { source: 'seed-demo' },
          },
        });
        await tx.tenantMembership.create({
          data: { realmId, tenantId: tenant.id, userId: user.id, joinedAt: createdAt },
        });
        await tx.userRole.create({ data: { realmId, userId: user.id, roleId: pick(roles).id, assignedAt: createdAt } });
        const mfa = random() < 0.25 && signsIn;
        if (mfa) {
          await tx.mfaFactor.create({
            data: { realmId, userId: user.id, type: 'TOTP', name: 'Authenticator', createdAt },
          });
        }
        if (lastLoginAt) {
          await pastSignIns(
            tx,
            { realmId, userId: user.id, applicationId: app.id, tenantId: tenant.id },
            {
              from: createdAt.getTime(),
              last: lastLoginAt,
              suspendedAt,
              lifetimeMs: realm.sessionIdleTimeoutSeconds * 1000,
              userAgent: pick(BROWSERS),
              random,
            },
          );
          // Live sign-ins below are password-only: one with a second factor would wait for its code.
          if (status === 'ACTIVE' && !mfa) active.push({ email, tenantId: tenant.id });
        }
        created++;
      }
      await recordAudit(tx, ctx, {
        action: 'realm.demo_seeded',
        targetType: 'Realm',
        targetId: realmId,
        changes: { users: created },
      });
      return { created, tenants: tenants.length, roles: roles.length, applicationId: app.id, active };
    },
    { timeout: 600_000, maxWait: 60_000 },
  );

  // Live activity through the runtime's functions: what the hosted pages write on a sign-in.
  let signIns = 0;
  let failedSignIns = 0;
  for (const [n, user] of seeded.active.slice(0, 10).entries()) {
    const attempt = {
      realmId,
      identifier: user.email,
      applicationId: seeded.applicationId,
      ipAddress: `203.0.113.${10 + n}`,
      userAgent: BROWSERS[n % BROWSERS.length],
    };
    if (n % 3 === 0) {
      const wrong = await signInWithPassword(prisma, { ...attempt, password: 'not the password' });
      if (!wrong.ok) failedSignIns++;
    }
    const result = await signInWithPassword(prisma, { ...attempt, password: DEMO_PASSWORD });
    if (!result.ok || result.secondFactor) continue;
    await openSession(prisma, {
      ...attempt,
      userId: result.userId,
      providerSessionUid: `demo-${randomUUID()}`,
      lifetimeSeconds: realm.sessionIdleTimeoutSeconds,
      tenantId: result.tenantId,
    });
    signIns++;
  }
  return {
    realm: realm.name,
    users: seeded.created,
    tenants: seeded.tenants,
    roles: seeded.roles,
    signIns,
    failedSignIns,
  };
}

/** The demo roles with their scopes, and the demo Billing API they use; reused when present. */
async function demoRoles(tx: RealmTx, realmId: string) {
  const management = await tx.resource.findFirstOrThrow({
    where: { realmId, builtIn: true, indicator: MANAGEMENT_API_INDICATOR },
    include: { scopes: true },
  });
  const billing =
    (await tx.resource.findFirst({ where: { realmId, indicator: BILLING.indicator }, include: { scopes: true } })) ??
    (await tx.resource.create({
      data: {
        realmId,
        ...BILLING,
        scopes: {
          create: [
            { name: 'invoices:read', description: 'Read invoices.' },
            { name: 'invoices:write', description: 'Issue and void invoices.' },
          ],
        },
      },
      include: { scopes: true },
    }));
  const roles = [];
  for (const spec of ROLES) {
    const existing = await tx.role.findFirst({ where: { realmId, name: spec.name, tenantId: null } });
    if (existing) {
      roles.push(existing);
      continue;
    }
    const role = await tx.role.create({ data: { realmId, name: spec.name, description: spec.description } });
    const scopeIds = [
      ...management.scopes.filter((scope) => spec.management.includes(scope.name)),
      ...billing.scopes.filter((scope) => spec.billing.includes(scope.name)),
    ].map((scope) => scope.id);
    await tx.roleScope.createMany({ data: scopeIds.map((scopeId) => ({ realmId, roleId: role.id, scopeId })) });
    roles.push(role);
  }
  return roles;
}

/**
 * A user's past sign-ins as the runtime records them: login events (now and then a wrong
 * password first), the last success at `last`, and the session it opened: expired by now unless
 * recent, and revoked at the suspension of a suspended user, as a suspension does.
 */
async function pastSignIns(
  tx: RealmTx,
  who: { realmId: string; userId: string; applicationId: string; tenantId: string },
  history: {
    from: number;
    last: Date;
    suspendedAt: Date | null;
    lifetimeMs: number;
    userAgent: string;
    random: () => number;
  },
) {
  const { random, last } = history;
  const times = [last.getTime()];
  for (let k = Math.floor(random() * 4); k > 0; k--) {
    times.push(history.from + Math.floor(random() * (last.getTime() - history.from)));
  }
  const ipAddress = `198.51.100.${1 + Math.floor(random() * 250)}`;
  const event = { realmId: who.realmId, userId: who.userId, applicationId: who.applicationId, ipAddress };
  const rows: Prisma.LoginEventCreateManyInput[] = [];
  for (const at of times.sort((a, b) => a - b)) {
    if (random() < 0.15) {
      rows.push({
        ...event,
        at: new Date(at - 30_000),
        success: false,
        method: 'password',
        failureReason: 'invalid_credentials',
        userAgent: history.userAgent,
        tenantId: who.tenantId,
      });
    }
    rows.push({
      ...event,
      at: new Date(at),
      success: true,
      method: 'password',
      userAgent: history.userAgent,
      tenantId: who.tenantId,
    });
  }
  await tx.loginEvent.createMany({ data: rows });
  await tx.session.create({
    data: {
      realmId: who.realmId,
      userId: who.userId,
      applicationId: who.applicationId,
      tenantId: who.tenantId,
      ipAddress,
      userAgent: history.userAgent,
      createdAt: last,
      lastActiveAt: last,
      expiresAt: new Date(last.getTime() + history.lifetimeMs),
      ...(history.suspendedAt ? { revokedAt: history.suspendedAt, revokedReason: 'user_suspended' } : {}),
    },
  });
}
