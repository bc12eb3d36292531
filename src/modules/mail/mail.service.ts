import addressparser from 'nodemailer/lib/addressparser';
import type { OutboxMessage } from '../../generated/prisma/client.ts';
import type { RealmTx, ServiceContext } from '../../context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueMessage } from '../outbox/outbox.service.ts';
import {
  inTransaction,
  isUniqueViolation,
  refused,
  userError,
  type MutationResult,
  type UserErrorShape,
} from '../user-error.ts';
import {
  MAIL_KINDS,
  placeholdersOf,
  renderTemplate,
  type MailKindName,
  type MailTemplate,
  type MailVariables,
} from './mail.templates.ts';

/** RFC 5321's limit on a forward path. */
const MAX_ADDRESS_LENGTH = 254;

const MAX_SENDER_LENGTH = 320;

/** Problems of a sender (`Realm.mailFrom`): one address, optionally with a display name. */
export function checkSender(sender: string, field: string[]): UserErrorShape[] {
  if (sender.length > MAX_SENDER_LENGTH) {
    return [userError('TOO_LONG', `The sender has at most ${MAX_SENDER_LENGTH} characters.`, field)];
  }
  const parsed = /[\r\n]/.test(sender) ? [] : addressparser(sender, { flatten: true });
  const [mailbox] = parsed;
  if (parsed.length !== 1 || !mailbox || checkRecipient(mailbox.address, field).length) {
    return [userError('INVALID', 'Not one email address, such as `Example <no-reply@example.com>`.', field)];
  }
  return [];
}

/** Problems of a recipient address, as user errors at `field`. */
function checkRecipient(address: string, field: string[]): UserErrorShape[] {
  if (address.length > MAX_ADDRESS_LENGTH) {
    return [userError('TOO_LONG', `An email address has at most ${MAX_ADDRESS_LENGTH} characters.`, field)];
  }
  if (!/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(address)) {
    return [userError('INVALID', 'Not a single email address.', field)];
  }
  return [];
}

/**
 * Renders an email of `kind` for the realm and writes it to the outbox: call it inside the
 * transaction of the change that causes it.
 */
export async function enqueueEmail<K extends MailKindName>(
  tx: RealmTx,
  ctx: ServiceContext,
  kind: K,
  to: string,
  variables: Omit<MailVariables<K>, 'realmName' | 'recipient'>,
): Promise<OutboxMessage> {
  const realm = await tx.realm.findUniqueOrThrow({
    where: { id: ctx.realmId },
    select: { name: true, displayName: true, mailFrom: true },
  });
  const own = await tx.mailTemplate.findUnique({
    where: { realmId_kind: { realmId: ctx.realmId, kind } },
    select: { subject: true, text: true, html: true },
  });
  const message = renderTemplate(own ?? MAIL_KINDS[kind].template, {
    ...variables,
    realmName: realm.displayName ?? realm.name,
    recipient: to,
  });
  return enqueueMessage(tx, ctx, {
    kind,
    recipient: to,
    subject: message.subject,
    body: { from: realm.mailFrom, text: message.text, html: message.html },
  });
}

/** Sends a test message to `to` through the outbox, to check the realm's email delivery. */
export async function sendTestEmail(
  ctx: ServiceContext,
  input: { to: string },
): Promise<MutationResult<'message', OutboxMessage>> {
  const errors = checkRecipient(input.to, ['input', 'to']);
  if (errors.length) return refused('message', ...errors);
  return inTransaction(ctx, async (tx) => {
    const message = await enqueueEmail(tx, ctx, 'email.test', input.to, {});
    await recordAudit(tx, ctx, {
      action: 'mail.test_sent',
      targetType: 'OutboxMessage',
      targetId: message.id,
      changes: { kind: message.kind, recipient: message.recipient },
    });
    return { message, userErrors: [] };
  });
}

/** A kind of email with the template the realm uses for it. */
export interface RealmMailTemplate extends MailTemplate {
  kind: MailKindName;
  description: string;
  variables: { name: string; description: string }[];
  /** Roster's default (the realm has no template of its own for the kind). */
  isDefault: boolean;
}

function realmTemplate(kind: MailKindName, own: MailTemplate | null): RealmMailTemplate {
  const { description, variables, template } = MAIL_KINDS[kind];
  return {
    kind,
    description,
    variables: Object.entries(variables).map(([name, meaning]) => ({ name, description: meaning })),
    subject: own?.subject ?? template.subject,
    text: own?.text ?? template.text,
    html: own?.html ?? template.html,
    isDefault: !own,
  };
}

const isKind = (kind: string): kind is MailKindName => Object.hasOwn(MAIL_KINDS, kind);

/** Every kind of email with the template the realm uses for it: its own, or the default. */
export async function mailTemplates(ctx: ServiceContext): Promise<RealmMailTemplate[]> {
  const own = await ctx.db.mailTemplate.findMany({});
  return (Object.keys(MAIL_KINDS) as MailKindName[]).map((kind) =>
    realmTemplate(kind, own.find((row) => row.kind === kind) ?? null),
  );
}

export const TEMPLATE_LIMITS = { subject: 200, text: 50_000, html: 100_000 } as const;

function checkTemplate(kind: MailKindName, template: MailTemplate): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  const known = Object.keys(MAIL_KINDS[kind].variables);
  for (const part of ['subject', 'text', 'html'] as const) {
    const field = ['input', part];
    const value = template[part];
    if (!value.trim()) errors.push(userError('REQUIRED', `The ${part} cannot be empty.`, field));
    else if (value.length > TEMPLATE_LIMITS[part]) {
      errors.push(userError('TOO_LONG', `The ${part} has at most ${TEMPLATE_LIMITS[part]} characters.`, field));
    } else {
      const unknown = placeholdersOf(value).filter((name) => !known.includes(name));
      if (unknown.length) {
        errors.push(
          userError(
            'INVALID',
            `Unknown variable ${unknown.map((name) => `{{${name}}}`).join(', ')}; ${kind} has ${known.map((name) => `{{${name}}}`).join(', ')}.`,
            field,
          ),
        );
      }
    }
  }
  if (/[\r\n]/.test(template.subject))
    errors.push(userError('INVALID', 'The subject is one line.', ['input', 'subject']));
  return errors;
}

function unknownKind(kind: string): UserErrorShape {
  return userError(
    'INVALID',
    `No kind of email is named "${kind.slice(0, 100)}"; the kinds are ${Object.keys(MAIL_KINDS).join(', ')}.`,
    ['input', 'kind'],
  );
}

/** Sets the realm's own template for a kind of email; the messages written from now on use it. */
export async function setMailTemplate(
  ctx: ServiceContext,
  input: { kind: string } & MailTemplate,
): Promise<MutationResult<'template', RealmMailTemplate>> {
  const { kind } = input;
  if (!isKind(kind)) return refused('template', unknownKind(kind));
  const template = { subject: input.subject, text: input.text, html: input.html };
  const errors = checkTemplate(kind, template);
  if (errors.length) return refused('template', ...errors);
  const save = () =>
    inTransaction(ctx, async (tx) => {
      const before = await tx.mailTemplate.findUnique({ where: { realmId_kind: { realmId: ctx.realmId, kind } } });
      const saved = before
        ? await tx.mailTemplate.update({ where: { realmId_kind: { realmId: ctx.realmId, kind } }, data: template })
        : await tx.mailTemplate.create({ data: { realmId: ctx.realmId, kind, ...template } });
      await recordAudit(tx, ctx, {
        action: 'mail.template_set',
        targetType: 'MailTemplate',
        targetId: kind,
        changes: {
          kind,
          changed: (['subject', 'text', 'html'] as const).filter((part) => before?.[part] !== template[part]),
        },
      });
      return { template: realmTemplate(kind, saved), userErrors: [] };
    });
  try {
    return await save();
  } catch (error) {
    // A concurrent first template of the kind was created in between: this one replaces it.
    if (isUniqueViolation(error)) return save();
    throw error;
  }
}

/** Drops the realm's own template for a kind of email: the default applies again. */
export async function resetMailTemplate(
  ctx: ServiceContext,
  kind: string,
): Promise<MutationResult<'template', RealmMailTemplate>> {
  if (!isKind(kind)) return refused('template', unknownKind(kind));
  return inTransaction(ctx, async (tx) => {
    const { count } = await tx.mailTemplate.deleteMany({ where: { kind } });
    if (count === 0) {
      return refused(
        'template',
        userError('NOT_FOUND', `The realm has no template of its own for ${kind}: it uses the default.`, [
          'input',
          'kind',
        ]),
      );
    }
    await recordAudit(tx, ctx, {
      action: 'mail.template_reset',
      targetType: 'MailTemplate',
      targetId: kind,
      changes: { kind },
    });
    return { template: realmTemplate(kind, null), userErrors: [] };
  });
}
