import { createHmac } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { PrismaClient, Realm } from '../generated/prisma/client.ts';
import { constantTimeEqual, decrypt, encrypt, sha256 } from '../auth/crypto.ts';
import { addressKey, type AddressClientLimits } from '../auth/rate-limit.ts';
import { findClientApplication } from '../modules/applications/applications.credentials.ts';
import { expiresInWords, LINK_TTL_SECONDS } from '../modules/users/users.links.ts';
import {
  acceptInvitation,
  chooseInvitationPassword,
  invitationOf,
  type AcceptOutcome,
  type InvitationView,
} from '../modules/users/users.invitations.ts';
import { newTotpSecret } from '../modules/users/users.mfa.ts';
import { relyingPartyOf, verifyPasskeyRegistration } from '../modules/users/users.passkeys.ts';
import {
  reasonProblem,
  RECOVERY_LIMITS,
  recoverAccountWithLink,
  recoveryLinkWorks,
  submitRecoveryRequest,
} from '../modules/users/users.recovery.ts';
import {
  linkWorks,
  requestPasswordReset,
  resetPasswordWithLink,
  verifyEmailWithLink,
} from '../modules/users/users.messages.ts';
import {
  enrolForm,
  escapeHtml,
  page,
  passkeyRegistration,
  readForm,
  recoveryCodesList,
  respond,
  STALE_SIGN_IN,
  tooManyFailures,
} from './sign-in-pages.ts';

export interface LinkPagesDeps {
  prisma: PrismaClient;
  realm: Realm;
  /** Signs the forms' CSRF tokens. */
  csrfKey: string;
  /** Requests of the "forgot password" form count against the sign-in limits. */
  limits: AddressClientLimits;
  /** Seals the emails the "forgot password" form writes to the outbox. */
  outboxKey: Buffer;
  /** Seals the authenticator an invited person sets up, and its secret at rest. */
  mfaKey: Buffer;
  /** Signs the challenges of the passkey an invited person may set up instead (`roster/passkeys`). */
  passkeyKey: Buffer;
  log: Logger;
}

/** What the enrolment step of an invitation carries, sealed, from the password to the code. */
interface PendingEnrolment {
  passwordHash: string;
  secret: string;
  uri: string;
}

const FORGOT_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})\/forgot$/;
const RECOVERY_FORM_BYTES = 16 * 1024;
const RECOVERY_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})\/recovery$/;
const LINK_PAGES = {
  '/verify-email': 'EMAIL_VERIFICATION',
  '/reset-password': 'PASSWORD_RESET',
  '/accept-invitation': 'INVITATION',
  '/recover-account': 'ACCOUNT_RECOVERY',
} as const;

const FORM_REFUSED = '<p class="error" role="alert">The form could not be verified. Open the link again.</p>';
const UNUSABLE =
  '<p class="error" role="alert">This link has expired, was already used, or was replaced by a newer one. Ask for a new one.</p>';
const RECOVERY_SENT =
  'If an account with this identifier can sign in here with a second factor, your request is now with your administrator. You will get an email when they answer it.';
/** What using a link answers: a page (`scriptSource`: where its scripts load from), or its form again with the password refused. */
type Answer = { status: number; html: string; scriptSource?: string | undefined } | { refusedPassword: string };

/** One page a one-time link leads to; `V`: what it needs to know of the link. */
interface LinkPage<V> {
  title: string;
  /** What the link leads to, or null when it is unusable (`posted`: on the form's POST). */
  look(token: string, posted: boolean): Promise<V | null>;
  /** Whether the form has a password and its confirmation. */
  choosesPassword(view: V): boolean;
  form(token: string, csrf: string, view: V, error: string | null): string;
  /** Uses the link, once the form (all of it in `form`) is verified. */
  use(ctx: KoaContextWithOIDC, token: string, password: string | null, view: V, form: URLSearchParams): Promise<Answer>;
}

/** A form of a sign-in's login step (`/interaction/{uid}/{name}`). */
interface InteractionForm {
  /** The last segment of its path, and what its CSRF tokens are bound to with the interaction. */
  name: string;
  title: string;
  /** The largest form body read (default: readForm's). */
  formBytes?: number;
  /** The empty form; `back` is the link back to the sign-in. */
  form(csrf: string, back: string): string;
  /** Handles a verified, counted form: its answer. */
  submit(ctx: KoaContextWithOIDC, form: URLSearchParams, csrf: string, back: string): { status: number; html: string };
}

const RESET_SENT = `If an account with this address can sign in here, we sent it a link to choose a new password. The link works for ${expiresInWords(LINK_TTL_SECONDS.PASSWORD_RESET)}.`;

/**
 * Serves the hosted pages one-time links lead to, `/verify-email`, `/reset-password` and
 * `/accept-invitation` (a GET shows a form, never uses the link: mail scanners open links), and the "forgot password"
 * form of a sign-in, `/interaction/{uid}/forgot`, whose answer is the same whether or not an
 * account has the address.
 */
export function installLinkPages(provider: Provider, deps: LinkPagesDeps): void {
  const { prisma, realm } = deps;
  const csrfFor = (subject: string) => createHmac('sha256', deps.csrfKey).update(subject).digest('base64url');
  const sameOrigin = (ctx: KoaContextWithOIDC) => {
    const origin = ctx.get('origin');
    return !origin || origin === new URL(provider.issuer).origin;
  };
  const refuseForm = (ctx: KoaContextWithOIDC, title: string) => respond(ctx, 403, page(realm, title, FORM_REFUSED));

  provider.use(async (koa, next) => {
    const ctx = koa as KoaContextWithOIDC;
    const purpose = LINK_PAGES[ctx.path as keyof typeof LINK_PAGES];
    const forgot = FORGOT_PATH.exec(ctx.path);
    const recovery = RECOVERY_PATH.exec(ctx.path);
    if (!purpose && !forgot && !recovery) {
      await next();
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'POST') {
      ctx.set('allow', 'GET, POST');
      respond(ctx, 405, page(realm, 'Error', '<p class="error" role="alert">Method not allowed.</p>'));
      return;
    }
    if (forgot) {
      await interactionForm(ctx, forgot[1]!, forgotPasswordForm);
      return;
    }
    if (recovery) {
      await interactionForm(ctx, recovery[1]!, recoveryRequestForm);
      return;
    }
    const form = ctx.method === 'POST' ? await readForm(ctx.req) : null;
    const token = (form ? form.get('token') : ctx.query.token)?.toString().slice(0, 64) ?? '';
    await linkPage(ctx, LINK_PAGE[purpose], form, token, csrfFor(`link:${sha256(token)}`));
  });

  /**
   * A page a one-time link leads to: a GET shows its form if the link works; a POST, once its
   * CSRF token and its passwords' agreement are checked, uses the link.
   */
  async function linkPage<V>(
    ctx: KoaContextWithOIDC,
    spec: LinkPage<V>,
    form: URLSearchParams | null,
    token: string,
    csrf: string,
  ): Promise<void> {
    const view = await spec.look(token, ctx.method === 'POST');
    if (!view) {
      respond(ctx, 400, page(realm, spec.title, UNUSABLE));
      return;
    }
    if (ctx.method === 'GET') {
      respond(ctx, 200, spec.form(token, csrf, view, null));
      return;
    }
    if (!form || !sameOrigin(ctx) || !constantTimeEqual(form.get('csrf') ?? '', csrf)) {
      refuseForm(ctx, spec.title);
      return;
    }
    const password = spec.choosesPassword(view) ? (form.get('password') ?? '') : null;
    if (password !== null && password !== (form.get('confirmPassword') ?? '')) {
      respond(ctx, 400, spec.form(token, csrf, view, 'The two passwords differ.'));
      return;
    }
    const answer = await spec.use(ctx, token, password, view, form);
    if ('refusedPassword' in answer) respond(ctx, 400, spec.form(token, csrf, view, answer.refusedPassword));
    else respond(ctx, answer.status, answer.html, answer.scriptSource);
  }

  const unusable = (title: string): Answer => ({ status: 400, html: page(realm, title, UNUSABLE) });
  const refusedPassword = (message: string | undefined): Answer => ({
    refusedPassword: message ?? 'The password was refused.',
  });

  const verifyEmailPage: LinkPage<true> = {
    title: 'Confirm your email address',
    // A POST is refused by the link's use if the link no longer works.
    look: async (token, posted) => posted || (await linkWorks(prisma, realm.id, 'EMAIL_VERIFICATION', token)) || null,
    choosesPassword: () => false,
    form: (token, csrf) => verifyForm(token, csrf),
    async use(ctx, token) {
      const outcome = await verifyEmailWithLink(prisma, { realmId: realm.id, token, ipAddress: ctx.ip });
      if (outcome.ok) {
        return {
          status: 200,
          html: page(
            realm,
            'Email address confirmed',
            '<p class="notice" role="status">Your email address is confirmed. You can close this page.</p>',
          ),
        };
      }
      if (outcome.reason === 'email_changed') {
        return {
          status: 409,
          html: page(
            realm,
            verifyEmailPage.title,
            '<p class="error" role="alert">This link was sent to an address that is no longer your account’s. Ask for a new one.</p>',
          ),
        };
      }
      return unusable(verifyEmailPage.title);
    },
  };

  const invitationPage: LinkPage<InvitationView> = {
    title: 'Accept your invitation',
    // Read on a POST too: what the form asks depends on it.
    look: (token) => invitationOf(prisma, realm.id, token),
    choosesPassword: (view) => view.choosePassword,
    form: (token, csrf, view, error) => invitationForm(token, csrf, view, error),
    async use(ctx, token, password, view, form) {
      // The chosen password's hash and the authenticator being set up wait in the enrolment form,
      // sealed for this link: nothing is stored until the code matches.
      const sealedFor = `invitation:${realm.id}:${sha256(token)}`;
      // A passkey set up instead of the authenticator: its challenge is bound to this link.
      const binding = `invitation:${sha256(token)}`;
      const enrolPage = async (status: number, pending: PendingEnrolment, error: string | null): Promise<Answer> => {
        const carried = {
          csrf: form.get('csrf') ?? '',
          token,
          pending: encrypt(deps.mfaKey, JSON.stringify(pending), sealedFor),
        };
        const passkey = await passkeyRegistration(deps, { issuer: provider.issuer, binding, userId: view.userId });
        return {
          status,
          html: await enrolForm(
            realm,
            { ...carried, step: 'enrol' },
            pending.secret,
            pending.uri,
            error,
            passkey && { ...passkey, hidden: carried },
          ),
          scriptSource: passkey?.scriptSource,
        };
      };
      const enrolNew = (passwordHash: string) =>
        enrolPage(200, { passwordHash, ...newTotpSecret(realm.displayName ?? realm.name, view.email) }, null);
      let outcome: AcceptOutcome;
      let withPasskey = false;
      const step = form.get('step');
      if (step === 'enrol' || step === 'enrol-passkey') {
        let pending: PendingEnrolment;
        try {
          pending = JSON.parse(decrypt(deps.mfaKey, form.get('pending') ?? '', sealedFor)) as PendingEnrolment;
        } catch {
          return { status: 403, html: page(realm, invitationPage.title, FORM_REFUSED) };
        }
        if (step === 'enrol-passkey') {
          // Passkeys cannot work on this issuer (an IP address): no page offered one.
          const relyingParty = relyingPartyOf(provider.issuer, realm.displayName ?? realm.name);
          if (!relyingParty) return { status: 400, html: page(realm, invitationPage.title, FORM_REFUSED) };
          const passkey = await verifyPasskeyRegistration(prisma, deps.passkeyKey, {
            realmId: realm.id,
            userId: view.userId,
            interactionUid: binding,
            relyingParty,
            response: form.get('passkey') ?? '',
            userAgent: ctx.get('user-agent') || undefined,
          });
          if (!passkey) return enrolPage(400, pending, 'The passkey could not be added. Try again.');
          outcome = await acceptInvitation(prisma, {
            realmId: realm.id,
            token,
            passwordHash: pending.passwordHash,
            passkey,
            ipAddress: ctx.ip,
          });
          if (!outcome.ok && outcome.reason === 'passkey_taken') {
            return enrolPage(
              400,
              pending,
              'This passkey is already registered. Use another device, or an authenticator app.',
            );
          }
          withPasskey = true;
        } else {
          const code = (form.get('code') ?? '').slice(0, 64);
          outcome = await acceptInvitation(prisma, {
            realmId: realm.id,
            token,
            passwordHash: pending.passwordHash,
            authenticator: { key: deps.mfaKey, secret: pending.secret, code },
            ipAddress: ctx.ip,
          });
          if (!outcome.ok && outcome.reason === 'code') {
            return enrolPage(400, pending, 'The code does not match. Check the time of your device and try again.');
          }
        }
      } else {
        let passwordHash: string | null = null;
        if (view.choosePassword) {
          const chosen = await chooseInvitationPassword(prisma, { realmId: realm.id, token, password: password ?? '' });
          if (!chosen.ok && chosen.reason === 'password') return refusedPassword(chosen.message);
          if (!chosen.ok) return unusable(invitationPage.title);
          passwordHash = chosen.passwordHash;
          if (view.enrolAuthenticator) return enrolNew(passwordHash);
        }
        outcome = await acceptInvitation(prisma, { realmId: realm.id, token, passwordHash, ipAddress: ctx.ip });
        // The realm began to require a second factor since the page was shown.
        if (!outcome.ok && outcome.reason === 'enrol' && passwordHash) return enrolNew(passwordHash);
      }
      if (outcome.ok) {
        const joined = view.tenantName ? ` You are a member of ${view.tenantName}.` : '';
        const next = outcome.recoveryCodes.length
          ? ' Go back to your application and sign in with your new password and a code from your authenticator app.'
          : withPasskey
            ? ' Go back to your application and sign in with your passkey, or with your new password and your passkey.'
            : outcome.enrolAuthenticator
              ? ' Go back to your application and sign in: you will set up an authenticator app then, as this account needs a second factor.'
              : view.choosePassword
                ? ' Go back to your application and sign in with your new password.'
                : '';
        return {
          status: 200,
          html: page(
            realm,
            'Invitation accepted',
            `<p class="notice" role="status">${escapeHtml(`Your invitation is accepted.${joined}${next}`)}</p>${
              outcome.recoveryCodes.length ? recoveryCodesList(outcome.recoveryCodes) : ''
            }`,
          ),
        };
      }
      if (outcome.reason === 'email_changed') {
        return {
          status: 409,
          html: page(
            realm,
            invitationPage.title,
            '<p class="error" role="alert">This invitation was sent to an address that is no longer your account’s. Ask for a new one.</p>',
          ),
        };
      }
      if (outcome.reason === 'tenancy') {
        return {
          status: 409,
          html: page(realm, invitationPage.title, `<p class="error" role="alert">${escapeHtml(outcome.message!)}</p>`),
        };
      }
      return unusable(invitationPage.title);
    },
  };

  /** A page whose link chooses a new password: `works` checks the link, `change` uses it. */
  const newPasswordPage = (spec: {
    title: string;
    intro: string;
    button: string;
    works: (token: string) => Promise<boolean>;
    change: (input: {
      realmId: string;
      token: string;
      password: string;
      ipAddress: string;
    }) => Promise<{ ok: true } | { ok: false; reason: string; message?: string | undefined }>;
    done: { title: string; notice: string };
  }): LinkPage<true> => ({
    title: spec.title,
    look: async (token, posted) => posted || (await spec.works(token)) || null,
    choosesPassword: () => true,
    form: (token, csrf, _view, error) => newPasswordForm(spec, token, csrf, error),
    async use(ctx, token, password) {
      const outcome = await spec.change({ realmId: realm.id, token, password: password!, ipAddress: ctx.ip });
      if (outcome.ok) {
        return {
          status: 200,
          html: page(realm, spec.done.title, `<p class="notice" role="status">${spec.done.notice}</p>`),
        };
      }
      return outcome.reason === 'password' ? refusedPassword(outcome.message) : unusable(spec.title);
    },
  });

  const resetPasswordPage = newPasswordPage({
    title: 'Choose a new password',
    intro: '',
    button: 'Change my password',
    works: (token) => linkWorks(prisma, realm.id, 'PASSWORD_RESET', token),
    change: (input) => resetPasswordWithLink(prisma, input),
    done: {
      title: 'Password changed',
      notice:
        'Your password is changed, and your other sessions have ended. Go back to your application and sign in with it.',
    },
  });

  const recoverAccountPage = newPasswordPage({
    title: 'Recover your account',
    intro:
      '<p>Your request was approved. Choose a new password: your old authenticator and recovery codes then stop working, and you set up a new authenticator at your next sign-in.</p>\n',
    button: 'Recover my account',
    works: (token) => recoveryLinkWorks(prisma, realm.id, token),
    change: (input) => recoverAccountWithLink(prisma, input),
    done: {
      title: 'Account recovered',
      notice:
        'Your password is changed, your old authenticator and recovery codes no longer work, and your sessions have ended. Go back to your application and sign in: you will set up an authenticator app then.',
    },
  });

  const LINK_PAGE: Record<(typeof LINK_PAGES)[keyof typeof LINK_PAGES], LinkPage<unknown>> = {
    EMAIL_VERIFICATION: verifyEmailPage,
    PASSWORD_RESET: resetPasswordPage,
    INVITATION: invitationPage,
    ACCOUNT_RECOVERY: recoverAccountPage,
  };

  function invitationForm(token: string, csrf: string, view: InvitationView, error: string | null): string {
    const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
    const described = error ? ' aria-describedby="form-error"' : '';
    const to = escapeHtml(view.tenantName ?? realm.displayName ?? realm.name);
    const fields = view.choosePassword
      ? `<p>You are invited to ${to}. Choose a password for your account${
          view.enrolAuthenticator
            ? ', then set up an authenticator app: this account needs a second factor'
            : ' to accept'
        }.</p>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required autofocus${described}>
<label for="confirmPassword">Password, again</label>
<input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password" required${described}>
<button type="submit">${view.enrolAuthenticator ? 'Continue' : 'Accept and set my password'}</button>`
      : `<p>You are invited to join ${to} with your account.</p>
<button type="submit" autofocus>Accept the invitation</button>`;
    return page(
      realm,
      'Accept your invitation',
      `${alert}<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
${fields}
</form>`,
    );
  }

  function newPasswordForm(
    spec: { title: string; intro: string; button: string },
    token: string,
    csrf: string,
    error: string | null,
  ): string {
    const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
    const described = error ? ' aria-describedby="form-error"' : '';
    return page(
      realm,
      spec.title,
      `${alert}${spec.intro}<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required autofocus${described}>
<label for="confirmPassword">New password, again</label>
<input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password" required${described}>
<button type="submit">${spec.button}</button>
</form>`,
    );
  }

  function recoveryForm(csrf: string, back: string, identifier: string, reason: string, error: string | null): string {
    const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
    const described = error ? ' aria-describedby="form-error"' : '';
    const [focusIdentifier, focusReason] = error ? ['', ' autofocus'] : [' autofocus', ''];
    return page(
      realm,
      'Lost your authenticator?',
      `${alert}<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<p>Ask your administrator to recover your account. If they approve, you get an email with a link to choose a new password and set up a new authenticator.</p>
<label for="identifier">Email, username or phone number</label>
<input id="identifier" name="identifier" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required${focusIdentifier} value="${escapeHtml(identifier)}">
<label for="reason">What happened?</label>
<textarea id="reason" name="reason" rows="5" maxlength="${RECOVERY_LIMITS.reason}" required${focusReason}${described}>${escapeHtml(reason)}</textarea>
<button type="submit">Send my request</button>
</form>${back}`,
    );
  }

  function verifyForm(token: string, csrf: string): string {
    return page(
      realm,
      'Confirm your email address',
      `<form method="post">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<p>Confirm that this email address is yours.</p>
<button type="submit" autofocus>Confirm my email address</button>
</form>`,
    );
  }

  /**
   * A form of a sign-in's login step, `/interaction/{uid}/{name}`: a GET shows it; a POST, once
   * its CSRF token is checked, counts against the sign-in limits of the address and application,
   * whatever its outcome (asking is how identifiers would be probed, or mailboxes flooded), then
   * is handled.
   */
  async function interactionForm(ctx: KoaContextWithOIDC, uid: string, spec: InteractionForm): Promise<void> {
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      details = null;
    }
    if (!details || details.uid !== uid || details.prompt.name !== 'login') {
      respond(ctx, 400, page(realm, spec.title, STALE_SIGN_IN));
      return;
    }
    const csrf = csrfFor(`${spec.name}:${uid}`);
    const back = `<p class="more"><a href="../${escapeHtml(uid)}">Back to sign in</a></p>`;
    if (ctx.method === 'GET') {
      respond(ctx, 200, spec.form(csrf, back));
      return;
    }
    const form = await readForm(ctx.req, spec.formBytes);
    if (!form || !sameOrigin(ctx) || !constantTimeEqual(form.get('csrf') ?? '', csrf)) {
      refuseForm(ctx, spec.title);
      return;
    }
    const client = await findClientApplication(prisma, realm.id, details.params.client_id as string);
    if (!client) {
      respond(ctx, 400, page(realm, spec.title, '<p class="error" role="alert">Unknown application.</p>'));
      return;
    }
    const address = addressKey(ctx.ip);
    const retryAfter = await deps.limits.retryAfter(address, client.id);
    if (retryAfter > 0) {
      ctx.set('retry-after', String(retryAfter));
      respond(ctx, 429, tooManyFailures(realm, retryAfter));
      return;
    }
    await deps.limits.recordFailure(address, client.id);
    const answer = spec.submit(ctx, form, csrf, back);
    respond(ctx, answer.status, answer.html);
  }

  const forgotPasswordForm: InteractionForm = {
    name: 'forgot',
    title: 'Forgot your password?',
    form: (csrf, back) => forgotForm(csrf, back),
    submit(ctx, form, _csrf, back) {
      // After the answer, so that its timing cannot tell whether an account has the address (only
      // then are a link and an email written).
      const request = {
        realmId: realm.id,
        issuer: provider.issuer,
        outboxKey: deps.outboxKey,
        email: (form.get('email') ?? '').slice(0, 320),
        ipAddress: ctx.ip,
      };
      setImmediate(() => {
        requestPasswordReset(prisma, request).catch((error: unknown) =>
          deps.log.error({ err: error, realmId: realm.id }, 'writing a password reset email failed'),
        );
      });
      return {
        status: 200,
        html: page(realm, 'Check your email', `<p class="notice" role="status">${escapeHtml(RESET_SENT)}</p>${back}`),
      };
    },
  };

  const recoveryRequestForm: InteractionForm = {
    name: 'recovery',
    title: 'Lost your authenticator?',
    // A reason of 1,000 characters of up to 4 bytes each, percent-encoded, must fit.
    formBytes: RECOVERY_FORM_BYTES,
    form: (csrf, back) => recoveryForm(csrf, back, '', '', null),
    submit(ctx, form, csrf, back) {
      const identifier = (form.get('identifier') ?? '').slice(0, RECOVERY_LIMITS.identifier);
      const reason = form.get('reason') ?? '';
      const problem = reasonProblem(reason);
      if (problem) {
        return {
          status: 400,
          html: recoveryForm(csrf, back, identifier, reason.slice(0, RECOVERY_LIMITS.reason), problem.message),
        };
      }
      // After the answer, so that its timing cannot tell whether the account exists.
      const request = {
        realmId: realm.id,
        identifier,
        reason,
        ipAddress: ctx.ip,
        userAgent: ctx.get('user-agent') || undefined,
      };
      setImmediate(() => {
        submitRecoveryRequest(prisma, request).catch((error: unknown) =>
          deps.log.error({ err: error, realmId: realm.id }, 'storing an account recovery request failed'),
        );
      });
      return {
        status: 200,
        html: page(realm, 'Request sent', `<p class="notice" role="status">${escapeHtml(RECOVERY_SENT)}</p>${back}`),
      };
    },
  };

  function forgotForm(csrf: string, back: string): string {
    return page(
      realm,
      'Forgot your password?',
      `<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<p>Enter the email address of your account: we will send it a link to choose a new password.</p>
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" autocapitalize="none" spellcheck="false" required autofocus>
<button type="submit">Send me a link</button>
</form>${back}`,
    );
  }
}
