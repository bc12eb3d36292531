import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { UUID } from './ids.ts';
import { SIGNING_ALGORITHM, type SigningKeys } from './keys.ts';
import { MANAGEMENT_API_INDICATOR } from './scopes.ts';

/** RFC 9068 media type of JWT access tokens. */
const ACCESS_TOKEN_TYP = 'at+jwt';

export interface AccessTokenClaims {
  realmId: string;
  clientId: string;
  applicationId: string;
  scopes: string[];
  tokenId: string;
  expiresAt: Date;
  /**
   * A person's token (it carries `sid`): the user (`sub`) and their Roster session; for an
   * impersonation (token exchange), the client id of the application acting as them (`act.sub`).
   */
  person?: { userId: string; sessionId: string; impersonatedBy?: string };
}

export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

/**
 * `{base}/oauth2/{realmName}`: each realm is its own issuer, named by what a developer types
 * (names are immutable; a client library checks that discovery's issuer is the URL it was given).
 */
export function realmIssuer(baseUrl: string, realmName: string): string {
  return `${baseUrl}/oauth2/${realmName}`;
}

// Headers that would let a token choose its own verification key (RFC 8725 §3.10).
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'];

/**
 * Verifies a management access token: pinned algorithm, a `kid` of a known realm key, that
 * realm's issuer, the management audience, `typ`, expiry and not-before.
 */
export async function verifyAccessToken(keys: SigningKeys, token: string, baseUrl: string): Promise<AccessTokenClaims> {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new InvalidTokenError('The access token is malformed.');
  }
  if (header.alg !== SIGNING_ALGORITHM) throw new InvalidTokenError('The access token algorithm is not accepted.');
  if (FORBIDDEN_HEADERS.some((name) => name in header)) {
    throw new InvalidTokenError('The access token carries a forbidden header.');
  }
  if (typeof header.kid !== 'string') throw new InvalidTokenError('The access token has no key id.');
  const key = await keys.verificationKey(header.kid);
  if (!key) throw new InvalidTokenError('The access token was signed by an unknown key.');

  let payload;
  try {
    ({ payload } = await jwtVerify(token, key.key, {
      algorithms: [SIGNING_ALGORITHM],
      issuer: realmIssuer(baseUrl, key.realmName),
      audience: MANAGEMENT_API_INDICATOR,
      typ: ACCESS_TOKEN_TYP,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id', 'realm_id', 'app_id'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new InvalidTokenError('The access token has expired.');
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new InvalidTokenError(`The access token is not valid here (${error.claim}).`);
    }
    throw new InvalidTokenError('The access token signature or format is invalid.');
  }
  if (payload.realm_id !== key.realmId) throw new InvalidTokenError('The access token belongs to another realm.');
  if (typeof payload.client_id !== 'string' || typeof payload.app_id !== 'string') {
    throw new InvalidTokenError('The access token is malformed.');
  }
  let person: AccessTokenClaims['person'];
  if (payload.sid !== undefined) {
    if (typeof payload.sid !== 'string' || !UUID.test(payload.sid) || !UUID.test(payload.sub ?? '')) {
      throw new InvalidTokenError('The access token is malformed.');
    }
    person = { userId: payload.sub!.toLowerCase(), sessionId: payload.sid.toLowerCase() };
    if (payload.act !== undefined) {
      const act = payload.act;
      const actor = typeof act === 'object' && act !== null && 'sub' in act ? act.sub : undefined;
      if (typeof actor !== 'string') throw new InvalidTokenError('The access token is malformed.');
      person.impersonatedBy = actor;
    }
  }
  return {
    ...(person ? { person } : {}),
    realmId: key.realmId,
    clientId: payload.client_id,
    applicationId: payload.app_id,
    scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
    tokenId: payload.jti as string,
    expiresAt: new Date((payload.exp as number) * 1000),
  };
}
