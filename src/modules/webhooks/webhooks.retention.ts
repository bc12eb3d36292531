import type { PrismaClient } from '../../generated/prisma/client.ts';

/**
 * How long the start of a webhook answer's body (at most 1 KiB, see `postWebhook`) is kept after
 * the attempt that received it, in days. Receivers may echo what they were sent, or answer with
 * error pages holding their own data: kept long enough to debug a failing endpoint, not forever.
 */
export const RESPONSE_BODY_RETENTION_DAYS = 30;

/**
 * Removes the answer bodies of webhook attempts older than the retention (`updatedAt`: an
 * attempt's outcome is the last change to its message), oldest first, in batches of `batch`, at
 * most `limit` per call; the status, duration and error stay. Each batch is read in `updatedAt`
 * order from the partial index of kept bodies, then cleared by id with the conditions checked
 * again, so any number of processes may prune at once. Returns how many bodies it removed.
 */
export async function pruneWebhookResponseBodies(
  prisma: PrismaClient,
  now = new Date(),
  limit = 5_000,
  batch = 1_000,
): Promise<number> {
  const before = new Date(now.getTime() - RESPONSE_BODY_RETENTION_DAYS * 86_400_000);
  const old = { responseBody: { not: null }, updatedAt: { lt: before } };
  let pruned = 0;
  for (let read = 0; read < limit; read += batch) {
    const rows = await prisma.outboxMessage.findMany({
      where: old,
      orderBy: { updatedAt: 'asc' },
      select: { id: true },
      take: Math.min(batch, limit - read),
    });
    if (!rows.length) break;
    const { count } = await prisma.outboxMessage.updateMany({
      where: { ...old, id: { in: rows.map((row) => row.id) } },
      data: { responseBody: null },
    });
    pruned += count;
    if (rows.length < batch) break;
  }
  return pruned;
}
