import type Provider from 'oidc-provider';
import { errors, type Client, type TokenEndpointGrantContext } from 'oidc-provider';
import type { GrantsCache } from '../auth/grants-cache.ts';
import { UUID } from '../auth/ids.ts';
import { SIGNING_ALGORITHM } from '../auth/keys.ts';
import { isReadScope, MANAGEMENT_API_INDICATOR } from '../auth/scopes.ts';
import type { ImpersonationMode, PrismaClient, Realm } from '../generated/prisma/client.ts';
import { grantedResourceScopes } from '../modules/applications/applications.credentials.ts';
import { personResourceScopes } from '../modules/users/users.callers.ts';
import {
  IMPERSONATION_REFUSALS,
  impersonationRefusal,
  recordImpersonation,
} from '../modules/users/users.impersonation.ts';
import type { SignInSession } from '../modules/users/users.signin.ts';

/** RFC 8693 §2.1: the grant type of token exchange. */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * The subject token type Roster accepts: the id of the user to act as. Support tools hold a user's
 * id, never the user's own tokens (RFC 8693's `access_token` type would need one), and the client's
 * authentication plus `users:impersonate` is what authorizes the exchange, so a Roster-specific
 * type URI names what the value is.
 */
const USER_ID_TOKEN_TYPE = 'urn:roster:params:oauth:token-type:user-id';

/** RFC 8693 §3: the token type of what is issued (the only `requested_token_type` accepted). */
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** An impersonation's token (and session) lasts at most this long, and never longer than the realm's access tokens. */
const IMPERSONATION_MAX_SECONDS = 15 * 60;

/** Without `resource` the token is for the userinfo endpoint, with these scopes at most. */
const USERINFO_SCOPES = ['openid', 'profile', 'email'];

const IMPERSONATE_SCOPE = 'users:impersonate';

const MODES: readonly ImpersonationMode[] = ['READ_ONLY', 'FULL'];

const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'resource',
  'scope',
  'mode',
  'audience',
  'actor_token',
  'actor_token_type',
] as const;

type Params = Partial<Record<(typeof PARAMETERS)[number], string>>;

export interface TokenExchangeOptions {
  prisma: PrismaClient;
  realm: Realm;
  grants: GrantsCache;
  applicationIdOf: (client: Client) => string;
  /** Notes the Roster session a token issued in this request belongs to (its `sid` claim). */
  noteSession: (ctx: object, session: SignInSession) => void;
}

/**
 * Registers RFC 8693 token exchange for impersonation on a realm's provider: a machine-to-machine
 * application holding `users:impersonate` gets an access token of a user (`subject_token`, the
 * user's id) that carries `act` (the application) and lasts at most 15 minutes, with no refresh
 * token. The realm must allow it (`impersonationEnabled`), and its rules decide who may be
 * impersonated (`recordImpersonation`). Each token is a Roster session of the user, flagged with
 * the actor, and a `user.impersonated` audit event; revoking the session ends the token.
 */
export function registerTokenExchange(provider: Provider, options: TokenExchangeOptions): void {
  const { prisma, realm, grants } = options;
  const realmId = realm.id;

  async function handler(ctx: TokenEndpointGrantContext<Params>): Promise<void> {
    const { client, params } = ctx.oidc;
    if (!realm.impersonationEnabled) {
      throw new errors.UnauthorizedClient(
        'Impersonation (token exchange) is turned off in this realm (realm setting impersonationEnabled).',
      );
    }
    const applicationId = options.applicationIdOf(client);
    const clientScopes = await applicationScopes(applicationId);
    if (!clientScopes.includes(IMPERSONATE_SCOPE)) {
      throw new errors.UnauthorizedClient('The application does not hold the scope users:impersonate.');
    }
    if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
      throw new errors.InvalidRequest('actor_token is not supported: the actor is the authenticated client.');
    }
    if (params.audience !== undefined) {
      throw new errors.InvalidTarget('audience is not supported; name the API with resource (RFC 8707).');
    }
    const { subject_token: userId, subject_token_type: tokenType } = params;
    if (!userId) throw new errors.InvalidRequest('subject_token is required: the id of the user to impersonate.');
    if (!tokenType) throw new errors.InvalidRequest(`subject_token_type is required: ${USER_ID_TOKEN_TYPE}.`);
    if (tokenType !== USER_ID_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${USER_ID_TOKEN_TYPE} (the id of the user).`);
    }
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}.`);
    }
    const mode = (params.mode ?? 'READ_ONLY') as ImpersonationMode;
    if (!MODES.includes(mode)) throw new errors.InvalidRequest('mode must be READ_ONLY or FULL.');
    if (!UUID.test(userId)) throw new errors.InvalidRequest(IMPERSONATION_REFUSALS.unknown_user);

    const early = await impersonationRefusal(prisma, realm, userId);
    if (early) throw new errors.InvalidRequest(IMPERSONATION_REFUSALS[early]);

    const resource = typeof params.resource === 'string' ? params.resource : null;
    const scopes = await grantedScopes(userId.toLowerCase(), resource, mode, clientScopes, params.scope);
    const lifetimeSeconds = Math.min(realm.accessTokenTtlSeconds, IMPERSONATION_MAX_SECONDS);

    const grant = new provider.Grant({ accountId: userId.toLowerCase(), clientId: client.clientId });
    // The grant lasts as long as its one token (BaseToken's `expiresIn`, absent from the types).
    (grant as unknown as { expiresIn: number }).expiresIn = lifetimeSeconds;
    if (resource) grant.addResourceScope(resource, scopes.join(' '));
    else grant.addOIDCScope(scopes.join(' '));
    const grantId = await grant.save();

    const recorded = await recordImpersonation(prisma, realm, {
      actor: { applicationId, clientId: client.clientId, scopes: new Set(clientScopes) },
      userId,
      mode,
      resource,
      scopes,
      grantId,
      lifetimeSeconds,
      ipAddress: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
    });
    if ('refusal' in recorded) {
      await grant.destroy();
      throw new errors.InvalidRequest(IMPERSONATION_REFUSALS[recorded.refusal]);
    }
    options.noteSession(ctx, { id: recorded.sessionId, tenantId: null });

    const token = new provider.AccessToken({
      accountId: userId.toLowerCase(),
      client,
      grantId,
      gty: TOKEN_EXCHANGE,
      scope: scopes.join(' '),
      sessionUid: grantId,
      expiresIn: lifetimeSeconds,
      ...(resource
        ? {
            resourceServer: new provider.ResourceServer(resource, {
              audience: resource,
              scope: scopes.join(' '),
              accessTokenFormat: 'jwt',
              accessTokenTTL: lifetimeSeconds,
              jwt: { sign: { alg: SIGNING_ALGORITHM } },
            }),
          }
        : {}),
    });
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope: scopes.join(' '),
    };
  }

  /** What the application's roles grant on the management API (as the client_credentials grant reads it). */
  async function applicationScopes(applicationId: string): Promise<string[]> {
    const held = await grants.held(
      realmId,
      `application/${applicationId}/resource/${MANAGEMENT_API_INDICATOR}`,
      async () => {
        const scopes = await grantedResourceScopes(prisma, realmId, applicationId, MANAGEMENT_API_INDICATOR);
        return scopes && { scopes };
      },
    );
    return held ?? [];
  }

  /**
   * The scopes of the token: those asked for (`scope`), or without it every scope allowed, where
   * allowed means held by the user on `resource` (realm-wide roles and direct grants), on the
   * management API also held by the impersonating application (impersonation never gives the
   * application more than it holds), and in READ_ONLY mode a read scope. Without `resource`, the
   * userinfo endpoint's scopes. A scope asked for that is not allowed is `invalid_scope`.
   */
  async function grantedScopes(
    userId: string,
    resource: string | null,
    mode: ImpersonationMode,
    clientScopes: readonly string[],
    scope: string | undefined,
  ): Promise<string[]> {
    let allowed: string[];
    if (resource) {
      const held = await personResourceScopes(prisma, realmId, { userId, tenantId: null }, resource);
      if (!held) throw new errors.InvalidTarget('The realm has no API resource with this indicator.');
      // An impersonation never impersonates further, and never gives the application more than it holds.
      allowed =
        resource === MANAGEMENT_API_INDICATOR
          ? held.filter((s) => s !== IMPERSONATE_SCOPE && clientScopes.includes(s))
          : held;
    } else {
      allowed = USERINFO_SCOPES;
    }
    if (mode === 'READ_ONLY') allowed = allowed.filter(isReadScope);
    const requested = [...new Set((scope ?? '').split(' ').filter(Boolean))];
    if (requested.length === 0) {
      if (allowed.length === 0) {
        throw new errors.InvalidScope(
          mode === 'READ_ONLY'
            ? 'The user holds no read scope on this resource that the token could carry.'
            : 'The user holds no scope on this resource that the token could carry.',
          '',
        );
      }
      return allowed;
    }
    const refused = requested.filter((s) => !allowed.includes(s));
    if (refused.length) {
      const why =
        mode === 'READ_ONLY' && refused.some((s) => !isReadScope(s))
          ? 'A READ_ONLY impersonation carries read scopes only'
          : resource
            ? 'Not held by the user (on the management API: by both the user and the application)'
            : 'Without resource the token is for the userinfo endpoint (openid, profile, email)';
      throw new errors.InvalidScope(`${why}: ${refused.join(' ')}.`, refused.join(' '));
    }
    return resource || requested.includes('openid') ? requested : ['openid', ...requested];
  }

  provider.registerGrantType<Params>(TOKEN_EXCHANGE, handler, PARAMETERS);
}
