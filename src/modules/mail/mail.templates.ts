/** A message's text and HTML, with `{{variable}}` placeholders. */
export interface MailTemplate {
  subject: string;
  text: string;
  html: string;
}

interface MailKind {
  description: string;
  /** The variables the kind's templates may use, with their meaning (README, "Email templates"). */
  variables: Record<string, string>;
  template: MailTemplate;
}

const REALM_VARIABLES = {
  realmName: 'The realm’s display name, or its name when it has none.',
  recipient: 'The address the message goes to.',
};

/** Every kind of email Roster sends, with its English default template. */
export const MAIL_KINDS = {
  'email.test': {
    description: 'A test message an administrator sends to check the realm’s email delivery (`sendTestEmail`).',
    variables: REALM_VARIABLES,
    template: {
      subject: 'Test message from {{realmName}}',
      text: 'Hello,\n\nThis is a test message from {{realmName}}, sent to {{recipient}}. Email delivery works.\n',
      html: '<p>Hello,</p><p>This is a test message from {{realmName}}, sent to {{recipient}}. Email delivery works.</p>',
    },
  },
  'email.verification': {
    description:
      'Asks a user to confirm their email address (`sendVerificationEmail`); the link leads to a hosted page.',
    variables: {
      ...REALM_VARIABLES,
      name: 'The user’s name, or their email address when they have none.',
      link: 'The one-time link to the hosted page that confirms the address.',
      expiresIn: 'How long the link works, e.g. `24 hours`.',
    },
    template: {
      subject: 'Confirm your email address for {{realmName}}',
      text: 'Hello {{name}},\n\nConfirm that {{recipient}} is your email address for {{realmName}} by opening this link:\n\n{{link}}\n\nThe link works once, for {{expiresIn}}. If you did not expect this message, ignore it.\n',
      html: '<p>Hello {{name}},</p><p>Confirm that {{recipient}} is your email address for {{realmName}}:</p><p><a href="{{link}}">Confirm my email address</a></p><p>The link works once, for {{expiresIn}}. If you did not expect this message, ignore it.</p>',
    },
  },
  'email.password_reset': {
    description:
      'Lets a user choose a new password (`sendPasswordResetEmail`, or “Forgot your password?” on the hosted sign-in page).',
    variables: {
      ...REALM_VARIABLES,
      name: 'The user’s name, or their email address when they have none.',
      link: 'The one-time link to the hosted page where the new password is chosen.',
      expiresIn: 'How long the link works, e.g. `1 hour`.',
    },
    template: {
      subject: 'Reset your password for {{realmName}}',
      text: 'Hello {{name}},\n\nSomeone asked to reset the password of your {{realmName}} account. To choose a new password, open this link:\n\n{{link}}\n\nThe link works once, for {{expiresIn}}; your other sessions end when the password changes. If you did not ask for this, ignore this message: your password stays as it is.\n',
      html: '<p>Hello {{name}},</p><p>Someone asked to reset the password of your {{realmName}} account.</p><p><a href="{{link}}">Choose a new password</a></p><p>The link works once, for {{expiresIn}}; your other sessions end when the password changes. If you did not ask for this, ignore this message: your password stays as it is.</p>',
    },
  },
  'email.invitation': {
    description:
      'Invites someone to the realm or to one of its tenants (`inviteUser`, `resendInvitation`); the link leads to a hosted page where they accept, choosing a password when they have none.',
    variables: {
      ...REALM_VARIABLES,
      name: 'The invited user’s name, or their email address when they have none.',
      link: 'The one-time link to the hosted page that accepts the invitation.',
      expiresIn: 'How long the link works, e.g. `7 days`.',
      invitedTo:
        'What the invitation is to: the tenant’s name, or the realm’s display name for an invitation to the realm.',
    },
    template: {
      subject: 'You are invited to {{invitedTo}}',
      text: 'Hello {{name}},\n\nYou are invited to {{invitedTo}} on {{realmName}}. To accept, open this link:\n\n{{link}}\n\nThe link works once, for {{expiresIn}}. If you did not expect this invitation, ignore this message.\n',
      html: '<p>Hello {{name}},</p><p>You are invited to {{invitedTo}} on {{realmName}}.</p><p><a href="{{link}}">Accept the invitation</a></p><p>The link works once, for {{expiresIn}}. If you did not expect this invitation, ignore this message.</p>',
    },
  },
  'email.account_recovery': {
    description:
      'Answers an approved account recovery request (`approveRecoveryRequest`): the link leads to a hosted page that sets a new password and removes the lost authenticator.',
    variables: {
      ...REALM_VARIABLES,
      name: 'The user’s name, or their email address when they have none.',
      link: 'The one-time link to the hosted page that recovers the account.',
      expiresIn: 'How long the link works, e.g. `24 hours`.',
    },
    template: {
      subject: 'Recover your {{realmName}} account',
      text: 'Hello {{name}},\n\nYour request to recover your {{realmName}} account was approved. Open this link to choose a new password:\n\n{{link}}\n\nYour authenticator app and recovery codes stop working, and your sessions end; at your next sign-in you set up an authenticator again. The link works once, for {{expiresIn}}. If you did not ask for this, tell your administrator at once.\n',
      html: '<p>Hello {{name}},</p><p>Your request to recover your {{realmName}} account was approved.</p><p><a href="{{link}}">Choose a new password</a></p><p>Your authenticator app and recovery codes stop working, and your sessions end; at your next sign-in you set up an authenticator again. The link works once, for {{expiresIn}}. If you did not ask for this, tell your administrator at once.</p>',
    },
  },
  'email.account_recovery_denied': {
    description: 'Answers a denied account recovery request (`denyRecoveryRequest`), with the administrator’s reason.',
    variables: {
      ...REALM_VARIABLES,
      name: 'The user’s name, or their email address when they have none.',
      reason: 'Why the request was denied, as the administrator wrote it.',
    },
    template: {
      subject: 'Your {{realmName}} account recovery request was denied',
      text: 'Hello {{name}},\n\nYour request to recover your {{realmName}} account was denied:\n\n{{reason}}\n\nNothing about your account changed. Contact your administrator if you have questions.\n',
      html: '<p>Hello {{name}},</p><p>Your request to recover your {{realmName}} account was denied:</p><blockquote>{{reason}}</blockquote><p>Nothing about your account changed. Contact your administrator if you have questions.</p>',
    },
  },
} as const satisfies Record<`email.${string}`, MailKind>;

export type MailKindName = keyof typeof MAIL_KINDS;
export type MailVariables<K extends MailKindName> = Record<keyof (typeof MAIL_KINDS)[K]['variables'], string>;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

function fill(text: string, variables: Record<string, string>, escape: (value: string) => string): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(variables, name) ? escape(variables[name]!) : whole,
  );
}

/** The names of the variables `text` uses. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1]!))];
}

/**
 * The message of `template` with `variables` filled in: as they are in the text, HTML-escaped in
 * the HTML, and on one line in the subject (a header).
 */
export function renderTemplate(template: MailTemplate, variables: Record<string, string>): MailTemplate {
  return {
    subject: fill(template.subject, variables, (value) => value.replace(/[\r\n]+/g, ' ')),
    text: fill(template.text, variables, (value) => value),
    html: fill(template.html, variables, escapeHtml),
  };
}
