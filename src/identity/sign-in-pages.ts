import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults, type KoaContextWithOIDC } from 'oidc-provider';
import QRCode from 'qrcode';
import type { PrismaClient, Realm } from '../generated/prisma/client.ts';
import { constantTimeEqual, decrypt, encrypt } from '../auth/crypto.ts';
import { addressKey, type AddressClientLimits } from '../auth/rate-limit.ts';
import { findClientApplication } from '../modules/applications/applications.credentials.ts';
import { enrolTotp, newTotpSecret } from '../modules/users/users.mfa.ts';
import {
  authenticationOptions,
  registerPasskey,
  registrationOptions,
  relyingPartyOf,
  signInWithPasskey,
  signInWithPasskeySecondFactor,
} from '../modules/users/users.passkeys.ts';
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
import { PASSKEY_SCRIPTS } from './passkey-assets.ts';

export interface SignInPagesDeps {
  prisma: PrismaClient;
  realm: Realm;
  /** Signs the forms' CSRF tokens. */
  csrfKey: string;
  /** Failed sign-ins allowed per source address and per application. */
  limits: AddressClientLimits;
  /** Seals second-factor secrets, and the one being enrolled while the interaction keeps it. */
  mfaKey: Buffer;
  /** Signs the passkey challenges (`roster/passkeys`). */
  passkeyKey: Buffer;
  /** How long the session row of a sign-in lasts unless used (the realm's idle timeout), in seconds. */
  sessionTtlSeconds: number;
  /** The application id of a provider client. */
  applicationIdOf: (client: { clientId: string; metadata(): Record<string, unknown> }) => string;
}

/** Room for a passkey response (at most 12 KiB), under the 16 KiB every browser route allows. */
const MAX_FORM_BYTES = 14 * 1024;
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/;

const START_AGAIN = 'This sign-in cannot go on. Go back to the application and start again.';

/** The sentence for an interaction the provider no longer has: it expired, or another sign-in in this browser replaced it. */
export const STALE_SIGN_IN =
  '<p class="error" role="alert">This sign-in request has expired or was started in another browser. Go back to the application and start again.</p>';

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}' +
  'main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003}' +
  'h1{font-size:1.4rem;margin:0 0 .25rem}p.realm{margin:0 0 1.5rem;color:#555}' +
  'label{display:block;font-weight:600;margin:1rem 0 .25rem}' +
  'input,textarea{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #888;border-radius:4px;font-family:inherit}' +
  'button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:4px;background:#1f5fbf;color:#fff;cursor:pointer}' +
  'button.secondary{background:#e4e6ea;color:#1d1f23;margin-top:.75rem}' +
  ':focus-visible{outline:3px solid #f5a623;outline-offset:2px}' +
  '.error{padding:.75rem;border-left:4px solid #b3261e;background:#fdecea}' +
  '.qr svg{display:block;width:12rem;height:12rem;margin:1rem auto}code{font-size:1.05rem;overflow-wrap:anywhere}' +
  'ol.codes{columns:2;font-family:monospace;font-size:1.05rem}' +
  'p.detail{font-size:.8rem;color:#555;overflow-wrap:anywhere}' +
  'p.more{margin:1.25rem 0 0;text-align:center}a{color:#1f5fbf}' +
  '.notice{padding:.75rem;border-left:4px solid #1f7a3a;background:#e8f5ec}' +
  '[hidden]{display:none}p.or{margin:1.25rem 0 0;text-align:center;color:#555}' +
  '[data-passkey-status]:not(:empty){margin-top:.75rem;padding:.5rem;border-left:4px solid #b3261e;background:#fdecea}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'`;

const PAGE_HEADERS = {
  'content-security-policy': CSP,
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
  invalid_passkey: 'The passkey could not be verified. Try again, or sign in another way.',
  // Read as any refused passkey: it tells whoever holds a cloned authenticator nothing.
  passkey_counter_regressed: 'The passkey could not be verified. Try again, or sign in another way.',
};

/** Refusals of a sign-in by passkey that read as an unverifiable passkey: a locked account is not told apart. */
const PASSKEY_REFUSED = new Set<SignInFailure>(['invalid_passkey', 'passkey_counter_regressed', 'account_locked']);

/** The refusals that count towards the sign-in rate limits: guesses. */
const COUNTED = new Set<SignInFailure>(['invalid_credentials', 'account_locked']);

/** The options of a passkey ceremony, as @simplewebauthn/browser takes them. */
type PasskeyOptions = object;

/**
 * Where a sign-in stands after a right password, kept in the interaction (server side) until
 * the sign-in finishes: a code to ask for, an authenticator to enrol (its secret sealed), or
 * recovery codes just shown.
 */
interface PendingSignIn {
  userId: string;
  /** The tenant the sign-in is within. */
  tenantId: string | null;
  /** `totp`: a second factor to ask for (a code, or a passkey); `offer`: signed in, adding a passkey is offered. */
  stage: 'totp' | 'enrol' | 'enrolled' | 'offer';
  /** `enrol`: the secret and its otpauth URI, sealed with the MFA key for this interaction. */
  sealed?: string;
  /** Whether the browser said its device can keep a passkey: adding one is offered at the end. */
  offerPasskey?: boolean;
  /** `offer`: how the person signed in, for the ID token once they add a passkey or decline. */
  amr?: string[];
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
  // A passkey is a key held by a device (`hwk`) that the person unlocked (user verification).
  passkey: ['hwk', 'user', 'mfa'],
  passwordAndPasskey: ['pwd', 'hwk', 'mfa'],
} as const;

/** The steps that run a passkey ceremony: refused where passkeys cannot work (an IP-address issuer). */
const PASSKEY_STEPS = new Set(['passkey', 'second-factor-passkey', 'add-passkey', 'enrol-passkey']);

/** The steps posted while a sign-in is pending, and the stage each belongs to. */
const ENROL_STEP = {
  'second-factor': 'totp',
  'second-factor-passkey': 'totp',
  enrol: 'enrol',
  'enrol-passkey': 'enrol',
  enrolled: 'enrolled',
  'add-passkey': 'offer',
  'skip-passkey': 'offer',
} as const;

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function page(realm: Realm, title: string, body: string, scripts: readonly string[] = []): string {
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
${scripts.map((src) => `<script src="${escapeHtml(src)}"></script>`).join('\n')}
</body>
</html>`;
}

/** Sends a page; `scriptSource` is where its scripts may come from (a page without one runs none). */
export function respond(ctx: KoaContextWithOIDC, status: number, html: string, scriptSource?: string): void {
  ctx.status = status;
  ctx.set(PAGE_HEADERS);
  if (scriptSource) ctx.set('content-security-policy', `${CSP}; script-src ${scriptSource}`);
  ctx.type = 'html';
  ctx.body = html;
}

/**
 * A form that runs a passkey ceremony (the pages' script, on submit) and posts the browser's
 * response as `passkey`. Hidden until the script finds WebAuthn in the browser; its options are a
 * JSON data block, which the Content-Security-Policy does not treat as a script.
 */
function passkeyForm(
  hidden: Record<string, string>,
  step: string,
  ceremony: 'register' | 'authenticate',
  options: PasskeyOptions,
  label: string,
  primary = false,
  intro = '',
  // Also offered through the browser's autofill of the identifier field; not after a refusal, so
  // that a refused passkey is not sent again on its own.
  autofill = false,
): string {
  const json = JSON.stringify(options).replace(/</g, '\\u003c');
  // The primary ceremony of its page takes the focus once the script shows it (`autofocus` does not
  // apply to an element hidden at load).
  return `<form method="post" data-passkey="${ceremony}"${primary ? ' data-focus' : ''}${autofill ? ' data-passkey-autofill' : ''} hidden novalidate>
${hiddenFields(hidden)}
<input type="hidden" name="step" value="${step}">
<input type="hidden" name="passkey" value="">
<script type="application/json">${json}</script>
${intro ? `<p class="or">${escapeHtml(intro)}</p>` : ''}<button type="submit"${primary ? '' : ' class="secondary"'}>${escapeHtml(label)}</button>
<p data-passkey-status aria-live="assertive"></p>
</form>`;
}

function signInForm(
  realm: Realm,
  csrf: string,
  identifier: string,
  error: string | null,
  uid: string,
  passkey: { options: PasskeyOptions; scripts: readonly string[] } | null,
): string {
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
<input id="identifier" name="identifier" type="text" autocomplete="username${passkey ? ' webauthn' : ''}" autocapitalize="none" spellcheck="false" required${focusIdentifier} value="${escapeHtml(identifier)}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${focusPassword}${described}>
${passkey ? '<input type="hidden" name="passkeyCapable" value="">\n' : ''}<button type="submit">Sign in</button>
</form>
<p class="more"><a href="${escapeHtml(uid)}/forgot">Forgot your password?</a></p>
${passkey ? passkeyForm({ csrf }, 'passkey', 'authenticate', passkey.options, 'Sign in with a passkey', false, 'Or skip the password:', !error) : ''}`,
    passkey?.scripts,
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

export function tooManyFailures(realm: Realm, retryAfter: number): string {
  const minutes = Math.ceil(retryAfter / 60);
  return page(
    realm,
    'Sign-in error',
    `<p class="error" role="alert">Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.</p>`,
  );
}

/**
 * The second step: the user's passkey (when they have one) and a code of their authenticator or
 * a recovery code (when they have those).
 */
function codeForm(
  realm: Realm,
  csrf: string,
  error: string | null,
  factors: { codes: boolean; passkey: { options: PasskeyOptions; scripts: readonly string[] } | null },
  uid: string,
): string {
  const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
  const described = error ? ' aria-describedby="form-error"' : '';
  const passkey = factors.passkey
    ? passkeyForm(
        { csrf },
        'second-factor-passkey',
        'authenticate',
        factors.passkey.options,
        'Use your passkey',
        true,
        'Confirm it is you with your passkey.',
      )
    : '';
  const codes = factors.codes
    ? `${factors.passkey ? '<p class="or">Or</p>' : ''}<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="step" value="second-factor">
<label for="code">Code</label>
<input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required${factors.passkey ? '' : ' autofocus'}${described}>
<button type="submit">Continue</button>
</form>`
    : '';
  const recovery = `<p class="more"><a href="${escapeHtml(uid)}/recovery">Lost your authenticator?</a></p>`;
  return page(
    realm,
    factors.codes ? 'Enter your code' : 'Confirm with your passkey',
    `${alert}${passkey}${codes}${recovery}`,
    factors.passkey?.scripts,
  );
}

function offerPasskeyPage(
  realm: Realm,
  csrf: string,
  error: string | null,
  passkey: { options: PasskeyOptions; scripts: readonly string[] },
): string {
  const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
  return page(
    realm,
    'Add a passkey',
    `${alert}<p>You are signed in. Next time, sign in with a passkey instead of your password: your device keeps it and unlocks it with your fingerprint, face or screen lock.</p>
${passkeyForm({ csrf }, 'add-passkey', 'register', passkey.options, 'Add a passkey', true)}
<form method="post" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="step" value="skip-passkey">
<button type="submit" class="secondary">Not now</button>
</form>`,
    passkey.scripts,
  );
}

/** Hidden form fields, escaped. */
function hiddenFields(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
}

/**
 * The authenticator enrolment page: the QR code of `uri`, the secret to type by hand, and a form
 * posting the app's code as `code` with `hidden` (its step, CSRF token…); with `passkey`, a
 * passkey offered instead (step `enrol-passkey`, posted with `passkey.hidden`). The sign-in and
 * the invitation page both enrol with it.
 */
export async function enrolForm(
  realm: Realm,
  hidden: Record<string, string>,
  secret: string,
  uri: string,
  error: string | null,
  passkey: (PasskeyRegistration & { hidden: Record<string, string> }) | null,
): Promise<string> {
  const alert = error ? `<p class="error" role="alert" id="form-error">${escapeHtml(error)}</p>` : '';
  const described = error ? ' aria-describedby="form-error"' : '';
  const qr = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  const grouped = secret.match(/.{1,4}/g)!.join(' ');
  const alternative = passkey
    ? `\n${passkeyForm(passkey.hidden, 'enrol-passkey', 'register', passkey.options, 'Use a passkey instead', false, 'Or use a passkey as your second factor.')}`
    : '';
  return page(
    realm,
    'Set up an authenticator',
    `${alert}<p>This account needs a second factor. Scan this QR code with an authenticator app, then enter the code it shows.</p>
<div class="qr" role="img" aria-label="QR code of the authenticator setup key">${qr}</div>
<p>Or enter this setup key by hand: <code id="secret">${escapeHtml(grouped)}</code></p>
<form method="post" novalidate>
${hiddenFields(hidden)}
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus${described}>
<button type="submit">Confirm</button>
</form>${alternative}`,
    passkey?.scripts,
  );
}

/** The recovery codes of a new authenticator, shown once, or that it is set up when they were shown already. */
export function recoveryCodesList(codes: string[]): string {
  return codes.length
    ? `<p>Keep these recovery codes somewhere safe. Each signs you in once if you lose your authenticator; they are not shown again.</p>
<ol class="codes">${codes.map((code) => `<li>${escapeHtml(code)}</li>`).join('')}</ol>`
    : '<p>Your authenticator is set up.</p>';
}

function recoveryCodesPage(realm: Realm, csrf: string, codes: string[]): string {
  return page(
    realm,
    'Authenticator set up',
    `${recoveryCodesList(codes)}<form method="post" novalidate>
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
 * What a realm's pages at `issuer` need for passkeys: the relying party (null where passkeys
 * cannot work, an IP-address issuer), the paths of the scripts and where the CSP lets them load.
 */
function passkeyPages(issuer: string, realm: Realm) {
  const issuerUrl = new URL(issuer);
  return {
    relyingParty: relyingPartyOf(issuer, realm.displayName ?? realm.name),
    scripts: PASSKEY_SCRIPTS.map((script) => `${issuerUrl.pathname}${script}`),
    scriptSource: `${issuerUrl.origin}${issuerUrl.pathname}/assets/`,
  };
}

/** A passkey registration a page offers: the ceremony's options and the scripts that run it. */
export interface PasskeyRegistration {
  options: PasskeyOptions;
  scripts: readonly string[];
  /** Where the page's scripts may load from (its CSP `script-src`). */
  scriptSource: string;
}

/**
 * The passkey registration `userId` is offered on a page of the realm's issuer, its challenge
 * bound to `binding` (a sign-in's interaction, an invitation link); null where passkeys cannot
 * work (an IP-address issuer). The sign-in's enrolment and offer and the invitation page use it.
 */
export async function passkeyRegistration(
  deps: Pick<SignInPagesDeps, 'prisma' | 'realm' | 'passkeyKey'>,
  input: { issuer: string; binding: string; userId: string },
): Promise<PasskeyRegistration | null> {
  const { prisma, realm } = deps;
  const { relyingParty, scripts, scriptSource } = passkeyPages(input.issuer, realm);
  if (!relyingParty) return null;
  const user = await prisma.user.findFirstOrThrow({
    where: { realmId: realm.id, id: input.userId },
    select: { email: true, username: true, phone: true, name: true },
  });
  const name = user.email ?? user.username ?? user.phone ?? input.userId;
  const options = await registrationOptions(prisma, deps.passkeyKey, {
    realmId: realm.id,
    interactionUid: input.binding,
    relyingParty,
    user: { id: input.userId, name, displayName: user.name ?? name },
  });
  return { options, scripts, scriptSource };
}

/**
 * Serves the hosted pages of a realm's provider at `/interaction/{uid}` (the sign-in form; the
 * realm's applications are first-party, so consent is given without asking), and records what
 * a sign-in and a sign-out change on Roster's side once the provider has done its part.
 */
export function installSignInPages(provider: Provider, deps: SignInPagesDeps): void {
  const { prisma, realm } = deps;
  const csrfFor = (uid: string) => createHmac('sha256', deps.csrfKey).update(uid).digest('base64url');
  const { relyingParty, scripts, scriptSource } = passkeyPages(provider.issuer, realm);

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
      respond(ctx, 400, page(realm, 'Sign-in error', STALE_SIGN_IN));
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
      await resume({ consent: { grantId } }, true);
      return;
    }
    if (details.prompt.name !== 'login') {
      respond(ctx, 400, page(realm, 'Sign-in error', '<p class="error" role="alert">Unsupported sign-in step.</p>'));
      return;
    }

    const userAgent = ctx.get('user-agent') || undefined;
    const passkeyUi = (options: PasskeyOptions) => ({ options, scripts });
    const showIdentifier = async (status: number, identifier: string, error: string | null) => {
      const options =
        relyingParty &&
        (await authenticationOptions(prisma, deps.passkeyKey, {
          realmId: realm.id,
          interactionUid: uid,
          relyingParty,
          userId: null,
        }));
      respond(
        ctx,
        status,
        signInForm(realm, csrf, identifier, error, uid, options && passkeyUi(options)),
        options ? scriptSource : undefined,
      );
    };
    const showSecondFactor = async (status: number, userId: string, error: string | null) => {
      const types = new Set(
        (await prisma.mfaFactor.findMany({ where: { realmId: realm.id, userId }, select: { type: true } })).map(
          (factor) => factor.type,
        ),
      );
      const options =
        types.has('WEBAUTHN') && relyingParty
          ? await authenticationOptions(prisma, deps.passkeyKey, {
              realmId: realm.id,
              interactionUid: uid,
              relyingParty,
              userId,
            })
          : null;
      const codes = types.has('TOTP') || types.has('RECOVERY_CODES') || !options;
      respond(
        ctx,
        status,
        codeForm(realm, csrf, error, { codes, passkey: options && passkeyUi(options) }, uid),
        options ? scriptSource : undefined,
      );
    };
    /** The options of a passkey registration, or null where passkeys cannot work (an IP-address issuer). */
    const registration = (userId: string) =>
      passkeyRegistration(deps, { issuer: provider.issuer, binding: uid, userId });
    const showEnrol = async (status: number, enrolling: PendingSignIn, error: string | null) => {
      const { secret, uri } = unseal(enrolling.sealed!);
      const passkey = await registration(enrolling.userId);
      respond(
        ctx,
        status,
        await enrolForm(
          realm,
          { csrf, step: 'enrol' },
          secret,
          uri,
          error,
          passkey && { ...passkey, hidden: { csrf } },
        ),
        passkey ? scriptSource : undefined,
      );
    };
    const showOffer = async (status: number, offered: PendingSignIn, error: string | null) => {
      const passkey = await registration(offered.userId);
      // Offered only where passkeys work; the issuer's host does not change while a sign-in runs.
      if (!passkey) await finish(offered, offered.amr!);
      else respond(ctx, status, offerPasskeyPage(realm, csrf, error, passkey), scriptSource);
    };

    if (ctx.method === 'GET' && pending) {
      if (pending.stage === 'totp') await showSecondFactor(200, pending.userId, null);
      else if (pending.stage === 'enrolled') respond(ctx, 200, recoveryCodesPage(realm, csrf, []));
      else if (pending.stage === 'offer') await showOffer(200, pending, null);
      else await showEnrol(200, pending, null);
      return;
    }
    if (ctx.method === 'GET') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
      await showIdentifier(200, hint, null);
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
    const passkeyResponse = form.get('passkey') ?? '';
    const tenantId = typeof details.params.tenant === 'string' ? details.params.tenant.toLowerCase() : null;
    if (PASSKEY_STEPS.has(step) && !relyingParty) {
      respond(ctx, 400, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
      return;
    }
    if (step === 'passkey' && !pending && relyingParty) {
      const signedIn = await signInWithPasskey(prisma, deps.passkeyKey, {
        realmId: realm.id,
        interactionUid: uid,
        relyingParty,
        response: passkeyResponse,
        applicationId: client.id,
        tenantId,
        ipAddress: ctx.ip,
        userAgent,
      });
      if (!signedIn.ok) {
        if (signedIn.counted) await deps.limits.recordFailure(address, client.id);
        const message = FAILURE_MESSAGES[PASSKEY_REFUSED.has(signedIn.reason) ? 'invalid_passkey' : signedIn.reason];
        await showIdentifier(signedIn.reason === 'not_tenant_member' ? 403 : 401, '', message);
        return;
      }
      await finish(signedIn, AMR.passkey);
      return;
    }
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
        userAgent,
      };
      const ceremony = relyingParty && { interactionUid: uid, relyingParty, response: passkeyResponse };
      const code = (form.get('code') ?? '').slice(0, 64);
      if (step === 'second-factor-passkey' && ceremony) {
        const checked = await signInWithPasskeySecondFactor(prisma, deps.passkeyKey, { ...attempt, ...ceremony });
        if (!checked.ok) {
          if (checked.reason !== 'account_locked') await deps.limits.recordFailure(address, client.id);
          await showSecondFactor(401, pending.userId, FAILURE_MESSAGES.invalid_passkey);
          return;
        }
        await finish(pending, AMR.passwordAndPasskey);
        return;
      }
      if (pending.stage === 'totp') {
        const checked = await signInWithSecondFactor(prisma, deps.mfaKey, { ...attempt, code });
        if (!checked.ok) {
          await deps.limits.recordFailure(address, client.id);
          await showSecondFactor(401, pending.userId, FAILURE_MESSAGES.invalid_second_factor);
          return;
        }
        await complete(pending, checked.method === 'totp' ? AMR.totp : AMR.recoveryCode);
        return;
      }
      if ((step === 'add-passkey' || step === 'enrol-passkey') && ceremony) {
        const registered = await registerPasskey(prisma, deps.passkeyKey, { ...attempt, ...ceremony });
        if (!registered.ok && registered.reason === 'account_locked') {
          respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
          return;
        }
        if (!registered.ok) {
          const again =
            registered.reason === 'already_registered'
              ? 'This passkey is already registered. Use another device, or go on without one.'
              : 'The passkey could not be added. Try again.';
          if (step === 'add-passkey') await showOffer(400, pending, again);
          else await showEnrol(400, pending, again);
          return;
        }
        if (step === 'enrol-passkey' && !(await signInAfterEnrolment(prisma, attempt, 'WEBAUTHN'))) {
          respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
          return;
        }
        await finish(pending, step === 'enrol-passkey' ? AMR.passwordAndPasskey : pending.amr!);
        return;
      }
      if (step === 'skip-passkey') {
        if (!(await secondStepAllowed(prisma, realm.id, pending.userId))) {
          respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
          return;
        }
        await finish(pending, pending.amr!);
        return;
      }
      if (pending.stage === 'enrol') {
        if (!(await secondStepAllowed(prisma, realm.id, pending.userId))) {
          respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
          return;
        }
        const { secret } = unseal(pending.sealed!);
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
          await showEnrol(400, pending, again);
          return;
        }
        await keep({ ...pending, stage: 'enrolled', sealed: undefined });
        respond(ctx, 200, recoveryCodesPage(realm, csrf, enrolled.recoveryCodes));
        return;
      }
      if (!(await signInAfterEnrolment(prisma, attempt))) {
        respond(ctx, 401, page(realm, 'Sign-in error', `<p class="error" role="alert">${START_AGAIN}</p>`));
        return;
      }
      await complete(pending, AMR.totp);
      return;
    }
    const offerPasskey = relyingParty !== null && form.get('passkeyCapable') === 'yes';
    const result = await signInWithPassword(prisma, {
      realmId: realm.id,
      identifier,
      password: form.get('password') ?? '',
      ...(changing ? { newPassword } : {}),
      applicationId: client.id,
      tenantId,
      ipAddress: ctx.ip,
      userAgent,
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
        await showIdentifier(403, identifier, message);
      } else {
        await showIdentifier(401, identifier, FAILURE_MESSAGES[result.reason]);
      }
      return;
    }
    const signedIn = { userId: result.userId, tenantId: result.tenantId, offerPasskey };
    if (result.secondFactor === 'totp') {
      await keep({ ...signedIn, stage: 'totp' });
      await showSecondFactor(200, result.userId, null);
      return;
    }
    if (result.secondFactor === 'enrol') {
      const { secret, uri } = newTotpSecret(realm.displayName ?? realm.name, identifier.trim());
      const enrolling: PendingSignIn = { ...signedIn, stage: 'enrol', sealed: seal({ secret, uri }) };
      await keep(enrolling);
      await showEnrol(200, enrolling, null);
      return;
    }
    await complete(signedIn, AMR.password);

    /**
     * Ends a sign-in by password: where the browser can keep a passkey and the user has none,
     * adding one is offered first.
     */
    async function complete(
      signedIn: { userId: string; tenantId: string | null; offerPasskey?: boolean | undefined },
      amr: readonly string[],
    ): Promise<void> {
      const hasPasskey =
        (await prisma.mfaFactor.count({ where: { realmId: realm.id, userId: signedIn.userId, type: 'WEBAUTHN' } })) > 0;
      if (signedIn.offerPasskey && !hasPasskey) {
        const offered: PendingSignIn = {
          userId: signedIn.userId,
          tenantId: signedIn.tenantId,
          stage: 'offer',
          amr: [...amr],
        };
        await keep(offered);
        await showOffer(200, offered, null);
        return;
      }
      await finish(signedIn, amr);
    }

    async function finish(
      signedIn: { userId: string; tenantId: string | null },
      amr: readonly string[],
    ): Promise<void> {
      const done: SignedIn = { tenantId: signedIn.tenantId };
      await resume({ login: { accountId: signedIn.userId, amr: [...amr] }, signedIn: done }, false);
    }

    /**
     * Sends the browser back to the provider with the interaction's result. A concurrent request
     * of the same browser may have replaced the provider session since this one read the
     * interaction (oidc-provider rotates it on every resumption): the page to start again then,
     * as for an interaction already gone, not the provider's bare error.
     */
    async function resume(result: InteractionResults, mergeWithLastSubmission: boolean): Promise<void> {
      let to: string;
      try {
        to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
      } catch (error) {
        if (!(error instanceof errors.SessionNotFound)) throw error;
        respond(ctx, 400, page(realm, 'Sign-in error', STALE_SIGN_IN));
        return;
      }
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

/** A small urlencoded form (at most `maxBytes`) from the request, or null when it is not one. */
export async function readForm(req: IncomingMessage, maxBytes = MAX_FORM_BYTES): Promise<URLSearchParams | null> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
