import { LRUCache } from 'lru-cache';
import type { SigningKeys } from './keys.ts';
import { verifyAccessToken, type AccessTokenClaims } from './tokens.ts';

/**
 * Access tokens verified before, by their exact text: a token seen again costs a lookup, not
 * an EdDSA verification. An entry is used until the token's `exp` and no longer; refused tokens
 * are not kept (verifying garbage stays cheap: it fails before any signature check). Key rows
 * never change (see SigningKeys), so a verification result can only expire, never be revoked:
 * what a token's caller still holds is checked apart, on every request (grants-cache.ts).
 */
export class VerifiedTokens {
  readonly #cache: LRUCache<string, { claims: AccessTokenClaims; baseUrl: string }>;

  constructor(
    private readonly keys: SigningKeys,
    max = 10_000,
  ) {
    this.#cache = new LRUCache({ max });
  }

  async verify(token: string, baseUrl: string): Promise<AccessTokenClaims> {
    const hit = this.#cache.get(token);
    if (hit && hit.baseUrl === baseUrl && hit.claims.expiresAt.getTime() > Date.now()) return hit.claims;
    if (hit) this.#cache.delete(token);
    const claims = await verifyAccessToken(this.keys, token, baseUrl);
    this.#cache.set(token, { claims, baseUrl });
    return claims;
  }
}
