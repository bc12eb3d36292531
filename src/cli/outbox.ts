import type { Command } from 'commander';
import { baseUrlOf, config, wholeNumberFlag, withDatabase } from './common.ts';
import { CliError, UsageError } from './failures.ts';

const STATUSES = {
  pending: ['PENDING'],
  delivered: ['DELIVERED'],
  dead: ['DEAD'],
  all: ['PENDING', 'DELIVERED', 'DEAD'],
} as const;
type StatusOption = keyof typeof STATUSES;

/** `roster outbox`: the emails waiting in the outbox, with their text (what SMTP would deliver). */
export function addOutboxCommand(program: Command): void {
  program
    .command('outbox')
    .description(
      'List the outbox’s emails with their text, oldest first: without ROSTER_SMTP_URL they stay pending there. ' +
        'With the embedded database, stop the server first.',
    )
    .option('--realm <name>', 'only this realm’s messages')
    .option('--status <status>', 'pending, delivered, dead or all', 'pending')
    .option('--limit <count>', 'at most this many messages (1 to 1000)', wholeNumberFlag('--limit', 1), 50)
    .option('--json', 'print a JSON array')
    .action(async (options: { realm?: string; status: string; limit: number; json?: boolean }) => {
      if (!Object.hasOwn(STATUSES, options.status)) {
        throw new UsageError(`--status: must be one of pending, delivered, dead, all; got "${options.status}"`);
      }
      if (options.limit > 1000) throw new UsageError(`--limit: at most 1000; got "${options.limit}"`);
      const cfg = config();
      const { resolveServerSecret, deriveKey } = await import('../auth/secret.ts');
      const { formatListing, outboxListing } = await import('../modules/outbox/outbox.service.ts');
      const { defaultSender } = await import('../modules/mail/mail.transport.ts');
      const key = deriveKey(await resolveServerSecret(cfg.secretKey, cfg.dataDir), 'roster/outbox');
      const messages = await withDatabase(cfg, async (db) => {
        let realmId: string | undefined;
        if (options.realm !== undefined) {
          const realm = await db.prisma.realm.findUnique({ where: { name: options.realm }, select: { id: true } });
          if (!realm) throw new CliError(`no realm named "${options.realm}" (NOT_FOUND)`);
          realmId = realm.id;
        }
        return outboxListing(db.prisma, key, {
          realmId,
          statuses: [...STATUSES[options.status as StatusOption]],
          limit: options.limit,
        });
      });
      const sender = defaultSender(baseUrlOf(cfg));
      if (options.json) {
        console.log(
          JSON.stringify(
            messages.map(({ body, ...message }) => ({
              ...message,
              createdAt: message.createdAt.toISOString(),
              from: body ? (body.from ?? sender) : null,
              text: body?.text ?? null,
              html: body?.html ?? null,
            })),
          ),
        );
        return;
      }
      if (!messages.length) {
        console.log(`No ${options.status === 'all' ? '' : `${options.status} `}messages in the outbox.`);
        return;
      }
      for (const message of messages) console.log(formatListing(message, sender));
    });
}
