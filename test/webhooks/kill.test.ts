import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  rosterProcesses,
  STARTUP_TIMEOUT_MS,
  waitFor,
  type RosterProcesses,
  type RunningRoster,
} from '../helpers/roster-process.ts';
import { startReceiver, type WebhookReceiver } from '../helpers/webhooks.ts';

// On the embedded database on disk, or with TEST_DATABASE_URL on a database of its own there.
let processes: RosterProcesses;
let receiver: WebhookReceiver | undefined;

beforeAll(async () => {
  processes = await rosterProcesses('webhook-kill');
});

afterAll(async () => {
  await processes?.dispose();
  await receiver?.close();
});

const DELIVERIES = `query($id: ID!) {
  webhookDeliveries(endpointId: $id, first: 10) { nodes { subject status attempts lastError responseStatus } }
}`;

describe('webhooks across a kill -9', () => {
  it(
    'messages written before the process was killed, one of them failed once, are delivered by the next one, each once',
    async () => {
      // The receiver's port, closed for now: the first attempt is refused.
      const port = await freePort();
      const first = await processes.launch();
      const created = await processes.graphql(
        first,
        `
          mutation ($input: CreateWebhookEndpointInput!) {
            createWebhookEndpoint(input: $input) {
              webhookEndpoint {
                id
              }
              secret
              userErrors {
                code
              }
            }
          }
        `,
        { input: { url: `http://127.0.0.1:${port}/hook`, eventTypes: ['user.created'] } },
      );
      expect(created.errors).toBeUndefined();
      expect(created.data.createWebhookEndpoint.userErrors).toEqual([]);
      const { secret } = created.data.createWebhookEndpoint as { secret: string };
      const endpointId = created.data.createWebhookEndpoint.webhookEndpoint.id as string;
      const createUser = async (roster: RunningRoster, email: string) => {
        const result = await processes.graphql(
          roster,
          'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }',
          { input: { email } },
        );
        expect(result.errors).toBeUndefined();
        expect(result.data.createUser.userErrors).toEqual([]);
        return result.data.createUser.user.id as string;
      };
      await createUser(first, 'before-kill@example.com');
      // The worker of the first process (no SMTP server: webhooks only) tries and fails once.
      let deliveries: { subject: string; status: string; attempts: number; lastError: string | null }[] = [];
      await waitFor(
        first,
        async () => {
          deliveries = (await processes.graphql(first, DELIVERIES, { id: endpointId })).data.webhookDeliveries.nodes;
          return deliveries[0]?.attempts === 1 && deliveries[0].lastError !== null;
        },
        'a failed attempt',
      );
      expect(deliveries[0]).toMatchObject({ status: 'PENDING', responseStatus: null });
      expect(deliveries[0]!.lastError).toMatch(/ECONNREFUSED/);
      await createUser(first, 'just-before-kill@example.com');

      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      receiver = await startReceiver(port);
      const second = await processes.launch();
      // The first message's backoff (15 to 30 s) is kept across the restart.
      await waitFor(second, () => receiver!.received.length >= 2, 'both deliveries');
      const bodies = receiver.received.map(
        (delivery) =>
          new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>) as {
            type: string;
            data: { changes: { email?: { after: string } } | null };
          },
      );
      expect(bodies.map((body) => body.type)).toEqual(['user.created', 'user.created']);
      deliveries = (await processes.graphql(second, DELIVERIES, { id: endpointId })).data.webhookDeliveries.nodes;
      expect(deliveries.map((delivery) => delivery.status)).toEqual(['DELIVERED', 'DELIVERED']);
      expect(deliveries.map((delivery) => delivery.attempts).sort()).toEqual([1, 2]);

      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      expect(receiver.received).toHaveLength(2);
      expect(new Set(receiver.received.map((delivery) => delivery.headers['webhook-id'])).size).toBe(2);
    },
    STARTUP_TIMEOUT_MS * 3,
  );
});
