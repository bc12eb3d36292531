import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRoster } from '../helpers/cli.ts';
import { rosterProcesses, STARTUP_TIMEOUT_MS, waitFor, type RosterProcesses } from '../helpers/roster-process.ts';
import { startMailbox, type TestMailbox } from '../helpers/smtp.ts';

// On the embedded database on disk, or with TEST_DATABASE_URL on a database of its own there.
let processes: RosterProcesses;
let mailbox: TestMailbox;

beforeAll(async () => {
  mailbox = await startMailbox();
  processes = await rosterProcesses('outbox-kill');
});

afterAll(async () => {
  await processes?.dispose();
  await mailbox?.close();
});

describe('the outbox across a kill -9', () => {
  it(
    'a message written before the process was killed is delivered by the next one, once',
    async () => {
      // No SMTP server: the message stays in the outbox, and the development console shows it.
      const first = await processes.launch();
      const sent = await processes.graphql(
        first,
        'mutation($input: SendTestEmailInput!) { sendTestEmail(input: $input) { message { id status } userErrors { code } } }',
        { input: { to: 'survivor@example.com' } },
      );
      expect(sent.errors).toBeUndefined();
      expect(sent.data.sendTestEmail).toMatchObject({ message: { status: 'PENDING' }, userErrors: [] });
      const id = sent.data.sendTestEmail.message.id as string;
      await waitFor(first, () => first.output().includes('Subject: Test message from default'), 'the console');
      expect(first.output()).toContain('To:      survivor@example.com');
      expect(first.output()).toContain('This is a test message from default, sent to survivor@example.com.');

      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(mailbox.received).toHaveLength(0);

      // The CLI lists it with its text (on the embedded database: with no server running).
      const listed = await runRoster(['outbox', '--json'], processes.settings());
      expect(listed.code, listed.stderr).toBe(0);
      const messages = JSON.parse(listed.stdout) as { recipient: string; status: string; text: string }[];
      expect(messages).toEqual([
        expect.objectContaining({
          recipient: 'survivor@example.com',
          status: 'PENDING',
          text: expect.stringContaining('Email delivery works.'),
        }),
      ]);

      const second = await processes.launch({ ROSTER_SMTP_URL: mailbox.url });
      const [mail] = await mailbox.waitFor(1, 30_000);
      expect(mail!.subject).toBe('Test message from default');
      expect(mail!.to).toMatchObject({ value: [{ address: 'survivor@example.com' }] });
      const listedAfter = await processes.graphql(
        second,
        'query { outboxMessages(first: 10) { nodes { id status attempts } } }',
      );
      expect(listedAfter.data.outboxMessages.nodes).toEqual([{ id, status: 'DELIVERED', attempts: 1 }]);

      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      expect(mailbox.received).toHaveLength(1);
    },
    STARTUP_TIMEOUT_MS * 3,
  );
});
