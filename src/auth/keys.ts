import { exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { decrypt, encrypt, randomToken } from './crypto.ts';

export const SIGNING_ALGORITHM = 'EdDSA';

interface VerificationKey {
  realmId: string;
  /** The realm's name: its issuer is `{base}/oauth2/{realmName}` (names never change). */
  realmName: string;
  key: CryptoKey;
}

interface SigningKeyMaterial {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * Per-realm signing keys. Key rows are immutable, so public keys are cached by `kid` for the
 * life of the process; every instance reads the same rows, so any instance verifies any
 * instance's tokens.
 */
export class SigningKeys {
  private readonly verification = new Map<string, Promise<VerificationKey | null>>();
  private readonly signing = new Map<string, Promise<SigningKeyMaterial>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly encryptionKey: Buffer,
  ) {}

  /** The realm's active signing key, created on first use. */
  signingKey(realmId: string): Promise<SigningKeyMaterial> {
    let pending = this.signing.get(realmId);
    if (!pending) {
      pending = this.loadOrCreate(realmId);
      this.signing.set(realmId, pending);
      pending.catch(() => this.signing.delete(realmId));
    }
    return pending;
  }

  /** The public key for `kid`, or null when no realm has such a key. */
  verificationKey(kid: string): Promise<VerificationKey | null> {
    let pending = this.verification.get(kid);
    if (!pending) {
      pending = this.loadPublic(kid);
      // Unknown kids are not cached: anyone can send random ones.
      pending.then(
        (found) => found ?? this.verification.delete(kid),
        () => this.verification.delete(kid),
      );
      this.verification.set(kid, pending);
    }
    return pending;
  }

  async jwks(realmId: string): Promise<{ keys: JWK[] }> {
    const rows = await this.prisma.signingKey.findMany({
      where: { realmId },
      orderBy: { createdAt: 'desc' },
      select: { kid: true, algorithm: true, publicJwk: true },
    });
    return {
      keys: rows.map((row) => ({
        ...(row.publicJwk as JWK),
        kid: row.kid,
        alg: row.algorithm,
        use: 'sig',
      })),
    };
  }

  /**
   * The realm's key pairs as private JWKs, for the realm's OpenID provider: active keys first,
   * newest first (the provider signs with the first one); keys no longer active only verify.
   * The first key is created when the realm has none.
   */
  async privateJwks(realmId: string): Promise<JWK[]> {
    await this.signingKey(realmId);
    const rows = await this.prisma.signingKey.findMany({
      where: { realmId, algorithm: SIGNING_ALGORITHM },
      orderBy: { createdAt: 'desc' },
      select: { kid: true, status: true, privateKeyEncrypted: true },
    });
    rows.sort((a, b) => Number(b.status === 'ACTIVE') - Number(a.status === 'ACTIVE'));
    return Promise.all(
      rows.map(async (row) => {
        const pkcs8 = decrypt(this.encryptionKey, row.privateKeyEncrypted, row.kid);
        const jwk = await exportJWK(await importPKCS8(pkcs8, SIGNING_ALGORITHM, { extractable: true }));
        return {
          ...jwk,
          kid: row.kid,
          alg: SIGNING_ALGORITHM,
          use: 'sig',
          ...(row.status === 'ACTIVE' ? {} : { key_ops: ['verify'] }),
        };
      }),
    );
  }

  private async loadPublic(kid: string): Promise<VerificationKey | null> {
    const row = await this.prisma.signingKey.findUnique({
      where: { kid },
      select: { realmId: true, publicJwk: true, algorithm: true, realm: { select: { name: true } } },
    });
    if (!row || row.algorithm !== SIGNING_ALGORITHM) return null;
    const key = (await importJWK(row.publicJwk as JWK, SIGNING_ALGORITHM)) as CryptoKey;
    return { realmId: row.realmId, realmName: row.realm.name, key };
  }

  private async loadOrCreate(realmId: string): Promise<SigningKeyMaterial> {
    const existing = await this.prisma.signingKey.findFirst({
      where: { realmId, status: 'ACTIVE', algorithm: SIGNING_ALGORITHM },
      orderBy: { createdAt: 'desc' },
    });
    if (existing) {
      const pkcs8 = decrypt(this.encryptionKey, existing.privateKeyEncrypted, existing.kid);
      return { kid: existing.kid, privateKey: await importPKCS8(pkcs8, SIGNING_ALGORITHM) };
    }
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
    const kid = randomToken(16);
    const publicJwk = await exportJWK(publicKey);
    const pkcs8 = await exportPKCS8(privateKey);
    await this.prisma.signingKey.create({
      data: {
        realmId,
        kid,
        algorithm: SIGNING_ALGORITHM,
        publicJwk: publicJwk,
        privateKeyEncrypted: encrypt(this.encryptionKey, pkcs8, kid),
      },
    });
    return { kid, privateKey };
  }
}
