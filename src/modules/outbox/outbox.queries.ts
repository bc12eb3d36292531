import { Prisma } from '../../generated/prisma/client.ts';
import { realmSql, type RawSqlClient } from '../../db/realm-sql.ts';

/** An outbox message claimed for one delivery attempt. */
export interface ClaimedMessage {
  id: string;
  realmId: string;
  kind: string;
  recipient: string;
  subject: string;
  sealedBody: string | null;
  /** Attempts started so far, this one included: the attempt's fencing number. */
  attempts: number;
  webhookEndpointId: string | null;
  webhookId: string | null;
  payload: string | null;
  orderingKey: string | null;
}

/**
 * Claims up to `limit` of the realm's due messages for one attempt each: counts the attempt and
 * moves `nextAttemptAt` past the lease, so that nobody else claims them while it runs (and
 * anyone may once the lease ends without an answer, e.g. after the process was killed).
 * `SKIP LOCKED`: processes claiming at the same time take different messages instead of waiting.
 * A message with an ordering key waits while an earlier pending one has the same key (being
 * attempted or waiting for its retry): messages about one user reach a webhook endpoint in order.
 * With `webhooksOnly` (no SMTP server) emails are left pending.
 */
export async function claimDueMessages(
  db: RawSqlClient,
  realmId: string,
  limit: number,
  leaseMs: number,
  webhooksOnly = false,
): Promise<ClaimedMessage[]> {
  const rs = realmSql(db, realmId);
  const kinds = webhooksOnly ? Prisma.sql`AND d."webhookEndpointId" IS NOT NULL` : Prisma.empty;
  return rs.query<ClaimedMessage>`
    UPDATE "OutboxMessage" AS m
       SET attempts = m.attempts + 1,
           "nextAttemptAt" = now() + ${leaseMs} * interval '1 millisecond',
           "updatedAt" = now()
     WHERE ${rs.realm('m')}
       AND m.id IN (
         SELECT d.id FROM "OutboxMessage" AS d
          WHERE ${rs.realm('d')} AND d.status = 'PENDING' AND d."nextAttemptAt" <= now() ${kinds}
            AND NOT (d."orderingKey" IS NOT NULL AND EXISTS (
              SELECT 1 FROM "OutboxMessage" AS e
               WHERE ${rs.realm('e')} AND e."orderingKey" = d."orderingKey"
                 AND e.status = 'PENDING' AND e.id < d.id))
          ORDER BY d."nextAttemptAt", d.id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
    RETURNING m.id, m."realmId", m.kind, m.recipient, m.subject, m."sealedBody", m.attempts,
              m."webhookEndpointId", m."webhookId", m.payload, m."orderingKey"`;
}
