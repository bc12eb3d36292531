import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type Provider from 'oidc-provider';
import QRCode from 'qrcode';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { PrismaClient, Realm } from '../generated/prisma/client.ts';
import { constantTimeEqual, decrypt, encrypt } from '../auth/crypto.ts';
import { addressKey, type AddressClientLimits } from '../auth/rate-limit.ts';
import { findClientApplication } from '../modules/applications/applications.credentials.ts';
import { enrolTotp, newTotpSecret } from '../modules/users/users.mfa.ts';
import {
  endSessionOnTokenReuse,
  openSession,
  recordFailedEnrolment,
  recordSingleSignOn,
  secondStepAllowed,
  signInAfterEnrolment,
  signInWithPassword,
  signInWithSecondFactor,
  signOut,
  type SignInFailure,
} from '../modules/users/users.signin.ts';
import { userContext } from '../context.ts';
import { REFRESH_TOKEN_REUSED } from './oidc-adapter.ts';

export interface SignInPagesDeps {
  prisma: PrismaClient;
  realm: Realm;
  /** Signs the forms' CSRF tokens. */
  csrfKey: string;
  /** Failed sign-ins allowed per source address and per application. */
  limits: AddressClientLimits;
  /** Seals second-factor secrets, and the one being enrolled while the interaction keeps it. */
  mfaKey: Buffer;
  /** How long the session row of a sign-in lasts unless used (the realm's idle timeout), in seconds. */
  sessionTtlSeconds: number;
  /** The application id of a provider client. */
  applicationIdOf: (client: { clientId: string; metadata(): Record<string, unknown> }) => string;
}

const MAX_FORM_BYTES = 8 * 1024;
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/;

const START_AGAIN = 'This sign-in cannot go on. Go back to the application and start again.';

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}' +
  'main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003}' +
  'h1{font-size:1.4rem;margin:0 0 .25rem}p.realm{margin:0 0 1.5rem;color:#555}' +
  'label{display:block;font-weight:600;margin:1rem 0 .25rem}' +
  'input{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #888;border-radius:4px}' +
  'button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:4px;background:#1f5fbf;color:#fff;cursor:pointer}' +
  'button.secondary{background:#e4e6ea;color:#1d1f23;margin-top:.75rem}' +
  ':focus-visible{outline:3px solid #f5a623;outline-offset:2px}' +
  '.error{padding:.75rem;border-left:4px solid #b3261e;background:#fdecea}' +
  '.qr svg{display:block;width:12rem;height:12rem;margin:1rem auto}code{font-size:1.05rem;overflow-wrap:anywhere}' +
  'ol.codes{columns:2;font-family:monospace;font-size:1.05rem}' +
  'p.detail{font-size:.8rem;color:#555;overflow-wrap:anywhere}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

const PAGE_HEADERS = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  // Not no-referrer: under it browsers send `Origin: null` with the form's POST, which the origin
  // check must refuse. same-origin sends the origin to Roster and nothing to other sites.
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

/** What a refused sign-in tells the person; an unknown account and a wrong password read the same. */
const FAILURE_MESSAGES: Record<SignInFailure, string> = {
  invalid_credentials: 'The identifier or the password is incorrect.',
  // Read as a wrong password: the lockout tells a guesser nothing, not even that the account exists.
  account_locked: 'The identifier or the password is incorrect.',
  account_inactive: 'This account cannot sign in. Contact your administrator.',
  account_suspended: 'This account cannot sign in. Contact your administrator.',
  email_not_verified: 'Verify your email address before signing in.',
  password_expired: 'Your password has expired and must be changed. Enter your current password and choose a new one.',
  new_password_rejected: 'The new password was refused.',
  invalid_second_factor: 'The code is incorrect.',
  not_tenant_member: 'This account is not a member of the organisation this application signs in to.',
};

/** The refusals that count towards the sign-in rate limits: guesses. */
const COUNTED = new Set<SignInFailure>(['invalid_credentials', 'account_locked']);

/**
 * Where a sign-in stands after a right password, kept in the interaction (server side) until
 * the sign-in finishes: a code to ask for, an authenticator to enrol (its secret sealed), or
 * recovery codes just shown.
 */
interface PendingSignIn {
  userId: string;
  /** The tenant the sign-in is within. */
  tenantId: string | null;
  stage: 'totp' | 'enrol' | 'enrolled';
  /** `enrol`: the secret and its otpauth URI, sealed with the MFA key for this interaction. */
  sealed?: string;
}

/** What a finished sign-in hands to the session it opens (the interaction's result, next to `login`). */
interface SignedIn {
  tenantId: string | null;
}

/**
 * The ID token's `amr` (RFC 8176) for each way of signing in. RFC 8176 has no value for a
 * recovery code: it is a second factor (`mfa`) but not an authenticator's one-time password, so
 * it reads `pwd mfa`, telling a relying party that wants a working authenticator apart.
 */
const AMR = {
  password: ['pwd'],
  totp: ['pwd', 'otp', 'mfa'],
  recoveryCode: ['pwd', 'mfa'],
} as const;

const ENROL_STEP = { 'second-factor': 'totp', enrol: 'enrol', enrolled: 'enrolled' } as const;

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function page(realm: Realm, title: string, body: string): string {
  const realmName = escapeHtml(realm.displayName ?? realm.name);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${realmName}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="realm">${realmName}</p>
${body}
</main>
</body>
</html>`;
}

function respond(ctx: KoaContextWithOIDC, status: number, html: string): void {
  ctx.status = status;
  ctx.set(PAGE_HEADERS);
  ctx.type = 'html';
  ctx.body = html;
}

function signInForm(realm: Realm, csrf: string, identifier: string, error: string | null): string {
  const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
  const described = error ? ' aria-describedby="form-error"' : '';
  // With the identifier known (a hint, or a refused attempt), the password is what is left to type.
  const [focusIdentifier, focusPassword] = identifier ? ['', ' autofocus'] : [' autofocus', ''];
  return page(
    realm,
    'Sign in',
    `${alert}<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<label for="identifier">Email, username or phone number</label>
<input id="identifier" name="identifier" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required${focusIdentifier} value="${escapeHtml(identifier)}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${focusPassword}${described}>
<button type="submit">Sign in</button>
</form>`,
  );
}

function changePasswordForm(realm: Realm, csrf: string, identifier: string, error: string): string {
  return page(
    realm,
    'Change your password',
    `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p><form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="step" value="change-password">
<input type="hidden" name="identifier" value="${escapeHtml(identifier)}">
<label for="password">Current password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus aria-describedby="form-error">
<label for="new-password">New password</label>
<input id="new-password" name="newPassword" type="password" autocomplete="new-password" required>
<label for="confirm-password">New password again</label>
<input id="confirm-password" name="confirmPassword" type="password" autocomplete="new-password" required>
<button type="submit">Change password and sign in</button>
</form>`,
  );
}

function tooManyFailures(realm: Realm, retryAfter: number): string {
  const minutes = Math.ceil(retryAfter / 60);
  return page(
    realm,
    'Sign-in error',
    `<p class="error" role="alert">Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.</p>`,
  );
}

function codeForm(realm: Realm, csrf: string, error: string | null): string {
  const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
  const described = error ? ' aria-describedby="form-error"' : '';
  return page(
    realm,
    'Enter your code',
    `${alert}<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="step" value="second-factor">
<label for="code">Code</label>
<input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required autofocus${described}>
<button type="submit">Continue</button>
</form>`,
  );
}

async function enrolForm(
  realm: Realm,
  csrf: string,
  secret: string,
  uri: string,
  error: string | null,
): Promise<string> {
  const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
  const described = error ? ' aria-describedby="form-error"' : '';
  const qr = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  const grouped = secret.match(/.{1,4}/g)!.join(' ');
  return page(
    realm,
    'Set up an authenticator',
    `${alert}<p>This account needs a second factor. Scan this QR code with an authenticator app, then enter the code it shows.</p>
<div class="qr" role="img" aria-label="QR code of the authenticator setup key">${qr}</div>
<p>Or enter this setup key by hand: <code id="secret">${escapeHtml(grouped)}</code></p>
<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="step" value="enrol">
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus${described}>
<button type="submit">Confirm</button>
</form>`,
  );
}

function recoveryCodesPage(realm: Realm, csrf: string, codes: string[]): string {
  const list = codes.length
    ? `<p>Keep these recovery codes somewhere safe. Each signs you in once if you lose your authenticator; they are not shown again.</p>
<ol class="codes">${codes.map((code) => `<li>${escapeHtml(code)}</li>`).join('')}</ol>`
    : '<p>Your authenticator is set up.</p>';
  return page(
    realm,
    'Authenticator set up',
    `${list}<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="step" value="enrolled">
<button type="submit" autofocus>Continue</button>
</form>`,
  );
}

/** The views oidc-provider renders itself (logout confirmation, signed out, errors), in the realm's pages. */
export function providerViews(realm: Realm) {
  return {
    logoutSource: async (ctx: KoaContextWithOIDC, form: string): Promise<void> => {
      respond(
        ctx,
        200,
        page(
          realm,
          'Sign out',
          `${form}<p>Do you want to sign out?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
        ),
      );
    },
    postLogoutSuccessSource: async (ctx: KoaContextWithOIDC): Promise<void> => {
      respond(ctx, 200, page(realm, 'Signed out', '<p>You are signed out.</p>'));
    },
    // Shown to a person where the provider cannot send the browser back to the application: a
    // sentence they can act on first, the protocol's error below it for whoever they ask for help.
    renderError: async (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> => {
      const stale =
        /interaction session|session mismatch|identifier mismatch|request has expired|interaction.*(expired|not found)/i.test(
          out.error_description ?? '',
        );
      const message = stale
        ? 'This sign-in expired or another sign-in in this browser replaced it. Go back to the application and start again.'
        : START_AGAIN;
      const detail = `${out.error}${out.error_description ? `: ${out.error_description}` : ''}`;
      respond(
        ctx,
        ctx.status >= 400 ? ctx.status : 400,
        page(
          realm,
          'Sign-in error',
          `<p class="error" role="alert">${escapeHtml(message)}</p><p class="detail">${escapeHtml(detail)}</p>`,
        ),
      );
    },
  };
}

/**
 * Serves the hosted pages of a realm's provider at `/interaction/{uid}` (the sign-in form; the
 * realm's applications are first-party, so consent is given without asking), and records what
 * a sign-in and a sign-out change on Roster's side once the provider has done its part.
 */
export function installSignInPages(provider: Provider, deps: SignInPagesDeps): void {
  const { prisma, realm } = deps;
  const csrfFor = (uid: string) => createHmac('sha256', deps.csrfKey).update(uid).digest('base64url');

  // Token requests that presented a rotated refresh token: the provider's own check, or a
  // concurrent rotation that consumed it first (the adapter's).
  const reusedTokens = new WeakSet<object>();
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error_detail?: unknown }) => {
    if (error.error_detail === REFRESH_TOKEN_REUSED) reusedTokens.add(ctx);
  });

  provider.use(async (koa, next) => {
    const ctx = koa as KoaContextWithOIDC;
    const match = INTERACTION_PATH.exec(ctx.path);
    if (!match) {
      await next();
      await afterRoute(ctx);
      return;
    }
    const uid = match[1]!;
    if (ctx.method !== 'GET' && ctx.method !== 'POST') {
      ctx.set('allow', 'GET, POST');
      respond(ctx, 405, page(realm, 'Sign-in error', '<p class="error" role="alert">Method not allowed.</p>'));
      return;
    }
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      details = null;
    }
    if (!details || details.uid !== uid) {
      respond(
        ctx,
        400,
        page(
          realm,
          'Sign-in error',
          '<p class="error" role="alert">This sign-in request has expired or was started in another browser. Go back to the application and start again.</p>',
        ),
      );
      return;
    }
    const csrf = csrfFor(uid);
    const interaction = details;
    const pending = (details.result as { roster?: PendingSignIn } | undefined)?.roster ?? null;
    const keep = async (next: PendingSignIn) => {
      interaction.result = { roster: next };
      await interaction.persist();
    };
    const seal = (value: { secret: string; uri: string }) =>
      encrypt(deps.mfaKey, JSON.stringify(value), `enrol:${realm.id}:${uid}`);
    const unseal = (sealed: string) =>
      JSON.parse(decrypt(deps.mfaKey, sealed, `enrol:${realm.id}:${uid}`)) as { secret: string; uri: string };

    if (details.prompt.name === 'consent') {
      // First-party applications: the requested scopes and claims are granted without asking.
      const accountId = details.session!.accountId;
      const clientId = details.params.client_id as string;
      const grant = details.grantId
        ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId }))
        : new provider.Grant({ accountId, clientId });
      const missing = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope);
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes);
      }
      const grantId = await grant.save();
      const to = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      ctx.redirect(to);
      ctx.status = 303;
      return;
    }
    if (details.prompt.name !== 'login') {
      respond(ctx, 400, page(realm, 'Sign-in error', '<p class="error" role="alert">Unsupported sign-in step.</p>'));
      return;
    }

    if (ctx.method === 'GET' && pending) {
      if (pending.stage === 'totp') respond(ctx, 200, codeForm(realm, csrf, null));
      else if (pending.stage === 'enrolled') respond(ctx, 200, recoveryCodesPage(realm, csrf, []));
      else {
        const { secret, uri } = unseal(pending.sealed!);
        respond(ctx, 200, await enrolForm(realm, csrf, secret, uri, null));
      }
      return;
    }
    if (ctx.method === 'GET') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
      respond(ctx, 200, signInForm(realm, csrf, hint, null));
      return;
    }

    const origin = ctx.get('origin');
    const form = await readForm(ctx.req);
    if (
      !form ||
      (origin && origin !== new URL(provider.issuer).origin) ||
      !constantTimeEqual(form.get('csrf') ?? '', csrf)
    ) {
      respond(
        ctx,
        403,
        page(
          realm,
          'Sign-in error',
          '<p class="error" role="alert">The form could not be verified. Go back to the application and start again.</p>',
        ),
      );
      return;
    }
    const identifier = form.get('identifier') ?? '';
    const changing = form.get('step') === 'change-password';
    const newPassword = form.get('newPassword') ?? '';
    if (changing && newPassword !== (form.get('confirmPassword') ?? '')) {
      respond(ctx, 400, changePasswordForm(realm, csrf, identifier, 'The two new passwords differ.'));
      return;
    }
    const client = await findClientApplication(prisma, realm.id, details.params.client_id as string);
    if (!client) {
      respond(ctx, 400, page(realm, 'Sign-in error', '<p class="error" role="alert">Unknown application.</p>'));
      return;
    }
    const address = addressKey(ctx.ip);
    const retryAfter = await deps.limits.retryAfter(address, client.id);
    if (retryAfter > 0) {
      ctx.set('retry-after', String(retryAfter));
      respond(ctx, 429, tooManyFailures(realm, retryAfter));
      return;
    }
    const step = form.get('step') ?? '';
    if (step in ENROL_STEP || pending) {
      if (!pending || pending.stage !== ENROL_STEP[step as keyof typeof ENROL_STEP]) {
        respond(ctx, 400, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
        return;
      }
      const attempt = {
        realmId: realm.id,
        userId: pending.userId,
        applicationId: client.id,
        tenantId: pending.tenantId,
        ipAddress: ctx.ip,
        userAgent: ctx.get('user-agent') || undefined,
      };
      const code = (form.get('code') ?? '').slice(0, 64);
      if (pending.stage === 'totp') {
        const checked = await signInWithSecondFactor(prisma, deps.mfaKey, { ...attempt, code });
        if (!checked.ok) {
          await deps.limits.recordFailure(address, client.id);
          respond(ctx, 401, codeForm(realm, csrf, FAILURE_MESSAGES.invalid_second_factor));
          return;
        }
        await finish(pending, checked.method === 'totp' ? AMR.totp : AMR.recoveryCode);
        return;
      }
      if (pending.stage === 'enrol') {
        if (!(await secondStepAllowed(prisma, realm.id, pending.userId))) {
          respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
          return;
        }
        const { secret, uri } = unseal(pending.sealed!);
        const enrolled = await enrolTotp(
          userContext(prisma, realm.id, pending.userId, ctx.ip),
          deps.mfaKey,
          { userId: pending.userId, secret, code },
          new Date(),
        );
        if (enrolled.userErrors.length) {
          const wrongCode = enrolled.userErrors[0]!.code === 'INVALID';
          if (!wrongCode) {
            respond(ctx, 400, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
            return;
          }
          // A guess like a wrong password: it counts towards the lockout and the rate limits.
          await recordFailedEnrolment(prisma, attempt);
          await deps.limits.recordFailure(address, client.id);
          const again = 'The code does not match. Check the time of your device and try again.';
          respond(ctx, 400, await enrolForm(realm, csrf, secret, uri, again));
          return;
        }
        await keep({ userId: pending.userId, tenantId: pending.tenantId, stage: 'enrolled' });
        respond(ctx, 200, recoveryCodesPage(realm, csrf, enrolled.recoveryCodes));
        return;
      }
      if (!(await signInAfterEnrolment(prisma, attempt))) {
        respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
        return;
      }
      await finish(pending, AMR.totp);
      return;
    }
    const tenantId = typeof details.params.tenant === 'string' ? details.params.tenant.toLowerCase() : null;
    const result = await signInWithPassword(prisma, {
      realmId: realm.id,
      identifier,
      password: form.get('password') ?? '',
      ...(changing ? { newPassword } : {}),
      applicationId: client.id,
      tenantId,
      ipAddress: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
    });
    if (!result.ok) {
      if (COUNTED.has(result.reason)) await deps.limits.recordFailure(address, client.id);
      if (result.reason === 'password_expired' || result.reason === 'new_password_rejected') {
        const message = result.problem ?? FAILURE_MESSAGES[result.reason];
        respond(ctx, result.problem ? 400 : 200, changePasswordForm(realm, csrf, identifier, message));
      } else if (result.reason === 'not_tenant_member') {
        // Only after the right password: the application chose the organisation, the user may see its name.
        const tenant = await prisma.tenant.findFirst({
          where: { id: tenantId!, realmId: realm.id },
          select: { name: true },
        });
        const message = tenant
          ? `This account is not a member of ${tenant.name}, which this application signs in to.`
          : FAILURE_MESSAGES.not_tenant_member;
        respond(ctx, 403, signInForm(realm, csrf, identifier, message));
      } else {
        respond(ctx, 401, signInForm(realm, csrf, identifier, FAILURE_MESSAGES[result.reason]));
      }
      return;
    }
    if (result.secondFactor === 'totp') {
      await keep({ userId: result.userId, tenantId: result.tenantId, stage: 'totp' });
      respond(ctx, 200, codeForm(realm, csrf, null));
      return;
    }
    if (result.secondFactor === 'enrol') {
      const { secret, uri } = newTotpSecret(realm.displayName ?? realm.name, identifier.trim());
      await keep({ userId: result.userId, tenantId: result.tenantId, stage: 'enrol', sealed: seal({ secret, uri }) });
      respond(ctx, 200, await enrolForm(realm, csrf, secret, uri, null));
      return;
    }
    await finish(result, AMR.password);

    async function finish(
      signedIn: { userId: string; tenantId: string | null },
      amr: readonly string[],
    ): Promise<void> {
      const done: SignedIn = { tenantId: signedIn.tenantId };
      const to = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { login: { accountId: signedIn.userId, amr: [...amr] }, signedIn: done },
        { mergeWithLastSubmission: false },
      );
      ctx.redirect(to);
      ctx.status = 303;
    }
  });

  /** After the provider handled a request: a sign-in opens a session row, a sign-out ends it. */
  async function afterRoute(ctx: KoaContextWithOIDC): Promise<void> {
    const oidc = ctx.oidc;
    if (!oidc) return;
    const refreshToken = oidc.route === 'token' ? oidc.entities.RefreshToken : undefined;
    if (reusedTokens.has(ctx) && refreshToken?.sessionUid && ctx.status === 400) {
      await endSessionOnTokenReuse(prisma, realm.id, refreshToken.sessionUid, ctx.ip);
      return;
    }
    if (ctx.status >= 400) return;
    const sessionUid = oidc.session?.uid;
    // Once the code is issued: a sign-in's first resume may still lead to the consent step.
    const signedIn = oidc.entities.AuthorizationCode !== undefined;
    if (oidc.route === 'resume' && oidc.result?.login && signedIn && sessionUid && oidc.client) {
      await openSession(prisma, {
        realmId: realm.id,
        userId: oidc.result.login.accountId,
        applicationId: deps.applicationIdOf(oidc.client),
        providerSessionUid: sessionUid,
        tenantId: (oidc.result as { signedIn?: SignedIn }).signedIn?.tenantId ?? null,
        lifetimeSeconds: deps.sessionTtlSeconds,
        ipAddress: ctx.ip,
        userAgent: ctx.get('user-agent') || undefined,
      });
    } else if (
      (oidc.route === 'authorization' || oidc.route === 'resume') &&
      !oidc.result?.login &&
      signedIn &&
      oidc.session?.accountId &&
      sessionUid &&
      oidc.client
    ) {
      // A code issued without a password: the provider session signed the person in (SSO).
      await recordSingleSignOn(prisma, {
        realmId: realm.id,
        userId: oidc.session.accountId,
        applicationId: deps.applicationIdOf(oidc.client),
        providerSessionUid: sessionUid,
        lifetimes: realm,
        ipAddress: ctx.ip,
        userAgent: ctx.get('user-agent') || undefined,
      });
    } else if (oidc.route === 'end_session_confirm' && oidc.params?.logout && sessionUid) {
      await signOut(prisma, realm.id, sessionUid, ctx.ip);
    }
  }
}

/** A small urlencoded form from the request, or null when it is not one. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
