import { builder, requireScopes } from '../../graphql/builder.ts';
import { serviceOf } from '../../context.ts';
import { OutboxMessagePayload } from '../outbox/outbox.schema.ts';
import { payloadType } from '../payloads.schema.ts';
import {
  mailTemplates,
  resetMailTemplate,
  sendTestEmail,
  setMailTemplate,
  TEMPLATE_LIMITS,
  type RealmMailTemplate,
} from './mail.service.ts';

const SendTestEmailInput = builder.inputType('SendTestEmailInput', {
  description: 'Input of `sendTestEmail`.',
  fields: (t) => ({
    to: t.field({ type: 'EmailAddress', required: true, description: 'The address to send it to.' }),
  }),
});

builder.mutationField('sendTestEmail', (t) =>
  t.field({
    type: OutboxMessagePayload,
    description:
      'Writes a test email (kind `email.test`, from the realm’s sender) to the outbox, to check the realm’s email delivery: follow it in `outboxMessages`.',
    ...requireScopes(['realm:write']),
    args: { input: t.arg({ type: SendTestEmailInput, required: true, description: 'Where to send it.' }) },
    resolve: (_root, { input }, ctx) => sendTestEmail(serviceOf(ctx), { to: input.to }),
  }),
);

const MailTemplateVariableRef = builder
  .objectRef<{ name: string; description: string }>('MailTemplateVariable')
  .implement({
    description: 'A variable a kind of email’s templates may use as `{{name}}`.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'Its name, written `{{name}}` in a template.' }),
      description: t.exposeString('description', { description: 'What it is filled in with.' }),
    }),
  });

const MailTemplateRef = builder.objectRef<RealmMailTemplate>('MailTemplate').implement({
  description:
    'The template of one kind of email in the realm: its own, or Roster’s English default. `{{variable}}` placeholders are filled in when a message is written: as they are in the text, HTML-escaped in the HTML, on one line in the subject.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'The kind of email, e.g. `email.test`.' }),
    description: t.exposeString('description', { description: 'When Roster sends this kind of email.' }),
    variables: t.field({
      type: [MailTemplateVariableRef],
      description: 'The variables its templates may use.',
      resolve: (template) => template.variables,
    }),
    subject: t.exposeString('subject', { description: 'The subject line.' }),
    text: t.exposeString('text', { description: 'The plain-text part.' }),
    html: t.exposeString('html', { description: 'The HTML part.' }),
    isDefault: t.exposeBoolean('isDefault', {
      description: 'Whether this is Roster’s default (the realm has no template of its own for the kind).',
    }),
  }),
});

builder.queryField('mailTemplates', (t) =>
  t.field({
    type: [MailTemplateRef],
    description: 'Every kind of email Roster sends, with the template the caller’s realm uses for it.',
    ...requireScopes(['realm:read']),
    resolve: (_root, _args, ctx) => mailTemplates(serviceOf(ctx)),
  }),
);

const MailTemplatePayload = payloadType(
  'MailTemplatePayload',
  'template',
  MailTemplateRef,
  'Result of a change to an email template.',
  'The template the realm uses for the kind after the change; null when it failed.',
);

const SetMailTemplateInput = builder.inputType('SetMailTemplateInput', {
  description: 'Input of `setMailTemplate`.',
  fields: (t) => ({
    kind: t.string({ required: true, description: 'The kind of email (see `mailTemplates`).' }),
    subject: t.string({
      required: true,
      description: `The subject line: one line, at most ${TEMPLATE_LIMITS.subject} characters.`,
    }),
    text: t.string({ required: true, description: `The plain-text part, at most ${TEMPLATE_LIMITS.text} characters.` }),
    html: t.string({ required: true, description: `The HTML part, at most ${TEMPLATE_LIMITS.html} characters.` }),
  }),
});

builder.mutationField('setMailTemplate', (t) =>
  t.field({
    type: MailTemplatePayload,
    description:
      'Sets the realm’s own template for a kind of email, used for the messages written from then on. Every part is required and may use only the kind’s variables (INVALID otherwise).',
    ...requireScopes(['realm:write']),
    args: { input: t.arg({ type: SetMailTemplateInput, required: true, description: 'The kind and its template.' }) },
    resolve: (_root, { input }, ctx) => setMailTemplate(serviceOf(ctx), input),
  }),
);

const ResetMailTemplateInput = builder.inputType('ResetMailTemplateInput', {
  description: 'Input of `resetMailTemplate`.',
  fields: (t) => ({
    kind: t.string({ required: true, description: 'The kind of email (see `mailTemplates`).' }),
  }),
});

builder.mutationField('resetMailTemplate', (t) =>
  t.field({
    type: MailTemplatePayload,
    description:
      'Drops the realm’s own template for a kind of email: Roster’s default applies again. NOT_FOUND when the realm has none.',
    ...requireScopes(['realm:write']),
    args: { input: t.arg({ type: ResetMailTemplateInput, required: true, description: 'The kind.' }) },
    resolve: (_root, { input }, ctx) => resetMailTemplate(serviceOf(ctx), input.kind),
  }),
);
