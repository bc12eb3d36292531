import type { Logger } from 'pino';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { formatListing, outboxListing } from './outbox.service.ts';

/**
 * Without an SMTP server in development: prints each pending email once (those waiting at the
 * start, then each new one), so that a link in it can be followed. The messages stay pending.
 */
export class OutboxConsole {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private lastId: string | undefined;

  constructor(
    private readonly options: {
      prisma: PrismaClient;
      key: Buffer;
      defaultFrom: string;
      print: (text: string) => void;
      log: Logger;
      pollMs?: number;
    },
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.running = this.printNew().then(
        () => this.schedule(this.options.pollMs ?? 1_000),
        (error: unknown) => {
          this.options.log.warn({ err: error }, 'outbox: reading pending emails failed');
          this.schedule(this.options.pollMs ?? 1_000);
        },
      );
    }, delayMs);
  }

  private async printNew(): Promise<void> {
    const messages = await outboxListing(this.options.prisma, this.options.key, {
      statuses: ['PENDING'],
      limit: 20,
      afterId: this.lastId,
    });
    for (const message of messages) {
      this.options.print(
        `\nEmail waiting in the outbox (no ROSTER_SMTP_URL):\n${formatListing(message, this.options.defaultFrom)}\n`,
      );
      this.lastId = message.id;
    }
  }
}
