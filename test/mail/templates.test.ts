import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { smtpTransport } from '../../src/modules/mail/mail.transport.ts';
import { OutboxWorker } from '../../src/modules/outbox/outbox.worker.ts';
import { graphql } from '../helpers/documents.ts';
import { expectErrorCode, expectRefused, payloadOf } from '../helpers/graphql.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailbox, type TestMailbox } from '../helpers/smtp.ts';
import type { SetMailTemplateInput } from '../generated/graphql.ts';

const TEMPLATES = graphql(`
  query MailTemplatesList {
    mailTemplates {
      kind
      description
      variables {
        name
        description
      }
      subject
      text
      html
      isDefault
    }
  }
`);

const SET = graphql(`
  mutation MailTemplatesSet($input: SetMailTemplateInput!) {
    setMailTemplate(input: $input) {
      template {
        kind
        subject
        text
        html
        isDefault
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const RESET = graphql(`
  mutation MailTemplatesReset($input: ResetMailTemplateInput!) {
    resetMailTemplate(input: $input) {
      template {
        kind
        subject
        isDefault
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`);

const SEND = graphql(`
  mutation MailTemplatesSend($input: SendTestEmailInput!) {
    sendTestEmail(input: $input) {
      message {
        id
        subject
      }
      userErrors {
        code
      }
    }
  }
`);

let server: TestServer;
let mailbox: TestMailbox;

const OWN: SetMailTemplateInput = {
  kind: 'email.test',
  subject: 'Check for {{recipient}}',
  text: 'Dear {{recipient}}, {{realmName}} says hi.',
  html: '<h1>{{realmName}}</h1><p>Dear {{ recipient }}</p>',
};

const set = (input: SetMailTemplateInput) => server.graphql(SET, { input });

beforeAll(async () => {
  server = await startTestServer();
  mailbox = await startMailbox();
});

afterAll(async () => {
  await mailbox?.close();
  await server?.close();
});

describe('email templates', () => {
  it('lists every kind with its English default and its variables', async () => {
    const templates = payloadOf(await server.graphql(TEMPLATES));
    expect(templates.map((t) => [t.kind, t.isDefault])).toEqual([
      ['email.test', true],
      ['email.verification', true],
      ['email.password_reset', true],
      ['email.invitation', true],
      ['email.account_recovery', true],
      ['email.account_recovery_denied', true],
    ]);
    expect(templates[0]).toMatchObject({
      subject: 'Test message from {{realmName}}',
      variables: [
        { name: 'realmName', description: expect.any(String) },
        { name: 'recipient', description: expect.any(String) },
      ],
    });
    expect(templates[2]!.variables.map((v) => v.name)).toEqual(['realmName', 'recipient', 'name', 'link', 'expiresIn']);
    expect(templates[3]!.variables.map((v) => v.name)).toEqual([
      'realmName',
      'recipient',
      'name',
      'link',
      'expiresIn',
      'invitedTo',
    ]);
    // Every default uses only its kind's variables, and every variable of the links' kinds.
    for (const template of templates) {
      const used = [template.subject, template.text, template.html].join(' ');
      for (const [, name] of used.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        expect(template.variables.map((v) => v.name)).toContain(name);
      }
      if (template.kind !== 'email.test' && template.kind !== 'email.account_recovery_denied') {
        expect(used).toContain('{{link}}');
      }
    }
  });

  it('uses the realm’s own template for the next messages, variables escaped in the HTML, and reset brings the default back', async () => {
    const saved = payloadOf(await set(OWN));
    expect(saved.userErrors).toEqual([]);
    expect(saved.template).toMatchObject({ ...OWN, isDefault: false });
    const audit = await server.db.prisma.auditEvent.findFirstOrThrow({
      where: { realmId: server.admin.realmId, action: 'mail.template_set' },
    });
    expect(audit.changes).toEqual({ kind: 'email.test', changed: ['subject', 'text', 'html'] });

    const sent = payloadOf(await server.graphql(SEND, { input: { to: 'a+b@example.com' } }));
    expect(sent.message?.subject).toBe('Check for a+b@example.com');
    // The realm's display name can hold characters HTML must escape.
    await server.db.prisma.realm.update({ where: { id: server.admin.realmId }, data: { displayName: '<Acme & Co>' } });
    await server.graphql(SEND, { input: { to: 'c@example.com' } });
    const worker = new OutboxWorker({
      prisma: server.db.prisma,
      key: server.outboxKey,
      email: smtpTransport(mailbox.url, 'no-reply@localhost'),
      log: createLogger('silent'),
    });
    await worker.runOnce();
    const mails = await mailbox.waitFor(2);
    const second = mails.find((mail) => mail.subject === 'Check for c@example.com')!;
    expect(second.text).toContain('Dear c@example.com, <Acme & Co> says hi.');
    expect(second.html).toContain('<h1>&lt;Acme &amp; Co&gt;</h1><p>Dear c@example.com</p>');

    const reset = payloadOf(await server.graphql(RESET, { input: { kind: 'email.test' } }));
    expect(reset).toEqual({
      template: { kind: 'email.test', subject: 'Test message from {{realmName}}', isDefault: true },
      userErrors: [],
    });
    await expectRefused(server, () => server.graphql(RESET, { input: { kind: 'email.test' } }), [
      ['NOT_FOUND', ['input', 'kind']],
    ]);
  });

  it('refuses a bad template and changes nothing', async () => {
    const cases: [Partial<SetMailTemplateInput>, [string, string[]][]][] = [
      [{ kind: 'email.nope' }, [['INVALID', ['input', 'kind']]]],
      [{ kind: 'x'.repeat(100_000) }, [['INVALID', ['input', 'kind']]]],
      [{ text: 'Hello {{password}}' }, [['INVALID', ['input', 'text']]]],
      [{ subject: '  ' }, [['REQUIRED', ['input', 'subject']]]],
      [{ subject: 'Two\nlines' }, [['INVALID', ['input', 'subject']]]],
      [{ html: 'x'.repeat(100_001) }, [['TOO_LONG', ['input', 'html']]]],
      [
        { subject: 's'.repeat(201), text: '' },
        [
          ['TOO_LONG', ['input', 'subject']],
          ['REQUIRED', ['input', 'text']],
        ],
      ],
    ];
    for (const [change, expected] of cases) {
      await expectRefused(server, () => set({ ...OWN, ...change }), expected);
    }
    await expectRefused(server, () => server.graphql(RESET, { input: { kind: 'email.nope' } }), [
      ['INVALID', ['input', 'kind']],
    ]);
  });

  it('two concurrent first templates of a kind: both succeed, one template remains', async () => {
    const results = await Promise.all(
      ['One', 'Two'].map((word) => set({ ...OWN, subject: `${word} {{recipient}}` }).then((r) => payloadOf(r))),
    );
    expect(results.map((r) => r.userErrors)).toEqual([[], []]);
    const rows = await server.db.prisma.mailTemplate.findMany({ where: { realmId: server.admin.realmId } });
    expect(rows).toHaveLength(1);
    expect(['One {{recipient}}', 'Two {{recipient}}']).toContain(rows[0]!.subject);
  });

  it('is refused without realm:write', async () => {
    const token = await server.token(server.admin, 'realm:read');
    expectErrorCode(await server.graphql(SET, { input: OWN }, token), 'FORBIDDEN', 'setMailTemplate');
    expectErrorCode(
      await server.graphql(RESET, { input: { kind: 'email.test' } }, token),
      'FORBIDDEN',
      'resetMailTemplate',
    );
  });
});
