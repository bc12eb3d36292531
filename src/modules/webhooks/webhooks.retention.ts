import type { PrismaClient } from '../../generated/prisma/client.ts';

const DAY_MS = 86_400_000;

/**
 * Removes the answer bodies of webhook attempts older than their realm's retention
 * (`webhookResponseRetentionDays`, 1 to 365, default 30; an attempt's outcome is the last change
 * to its message, so `updatedAt` dates it). Receivers may echo what they were sent, or answer with
 * error pages holding their own data: kept long enough to debug a failing endpoint, not forever.
 *
 * Realms are read in id order, `realmsPerRead` at a time; each such group's old bodies are read
 * oldest first from the partial index of kept bodies by realm, in batches of `batch`, then cleared
 * by id with the conditions checked again, so any number of processes may prune at once. At most
 * `limit` bodies are read per call; the status, duration and error stay. Returns how many bodies
 * it removed.
 */
export async function pruneWebhookResponseBodies(
  prisma: PrismaClient,
  now = new Date(),
  limit = 5_000,
  batch = 1_000,
  realmsPerRead = 500,
): Promise<number> {
  let pruned = 0;
  let budget = limit;
  let after: string | undefined;
  while (budget > 0) {
    const realms = await prisma.realm.findMany({
      ...(after ? { where: { id: { gt: after } } } : {}),
      orderBy: { id: 'asc' },
      select: { id: true, webhookResponseRetentionDays: true },
      take: realmsPerRead,
    });
    if (!realms.length) break;
    after = realms.at(-1)!.id;
    const byDays = new Map<number, string[]>();
    for (const realm of realms) {
      byDays.set(realm.webhookResponseRetentionDays, [
        ...(byDays.get(realm.webhookResponseRetentionDays) ?? []),
        realm.id,
      ]);
    }
    const old = {
      responseBody: { not: null },
      OR: [...byDays].map(([days, realmIds]) => ({
        realmId: { in: realmIds },
        updatedAt: { lt: new Date(now.getTime() - days * DAY_MS) },
      })),
    };
    while (budget > 0) {
      const rows = await prisma.outboxMessage.findMany({
        where: old,
        orderBy: { updatedAt: 'asc' },
        select: { id: true },
        take: Math.min(batch, budget),
      });
      budget -= rows.length;
      if (!rows.length) break;
      const { count } = await prisma.outboxMessage.updateMany({
        where: { ...old, id: { in: rows.map((row) => row.id) } },
        data: { responseBody: null },
      });
      pruned += count;
      if (rows.length < batch) break;
    }
    if (realms.length < realmsPerRead) break;
  }
  return pruned;
}
