/**
 * A software WebAuthn authenticator for HTTP tests of the passkey pages: an ES256 key pair and a
 * counter, making the registration and authentication responses a browser would post (none
 * attestation), with knobs to get them wrong (origin, RP ID, counter, signature).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor> | { [key: string]: Cbor };

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 256) return Buffer.from([(major << 5) | 24, length]);
  if (length < 65536) return Buffer.from([(major << 5) | 25, length >> 8, length & 255]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

/** The CBOR (RFC 8949) of the few types attestation objects and COSE keys use. */
function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha = (bytes: Uint8Array | string): Buffer => Buffer.from(createHash('sha256').update(bytes).digest());

export interface CeremonyOptions {
  challenge: string;
  rpId?: string;
  rp?: { id: string };
  user?: { id: string };
  allowCredentials?: { id: string }[];
}

export interface Tampering {
  origin?: string;
  rpId?: string;
  /** The counter to sign with; default: one more than the last. */
  counter?: number;
  /** A challenge other than the options' one. */
  challenge?: string;
  /** Flip a byte of the signature. */
  badSignature?: boolean;
  userVerified?: boolean;
  /**
   * As large as a response with an ML-DSA-44 key (its SPKI and authenticator data, as
   * `startRegistration` sends them, stand in for the key in the attestation object too), with the
   * key Chromium now and then adds to the client data.
   */
  large?: boolean;
}

export class SoftwarePasskey {
  readonly id = randomBytes(16);
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  counter = 0;
  userHandle: string | null = null;

  constructor(
    readonly rpId: string,
    readonly origin: string,
  ) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = pair.privateKey;
    this.#publicKey = pair.publicKey;
  }

  get credentialId(): string {
    return b64url(this.id);
  }

  #authData(rpId: string, counter: number, userVerified: boolean, attested: boolean): Buffer {
    const flags = 0x01 | (userVerified ? 0x04 : 0) | (attested ? 0x40 : 0);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    const parts = [sha(rpId), Buffer.from([flags]), count];
    if (attested) {
      const jwk = this.#publicKey.export({ format: 'jwk' });
      const key = cbor(
        new Map<Cbor, Cbor>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, Buffer.from(jwk.x!, 'base64url')],
          [-3, Buffer.from(jwk.y!, 'base64url')],
        ]),
      );
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.id.length);
      parts.push(Buffer.alloc(16), length, this.id, key);
    }
    return Buffer.concat(parts);
  }

  #clientData(type: string, options: CeremonyOptions, tampering: Tampering): string {
    return JSON.stringify({
      type,
      challenge: tampering.challenge ?? options.challenge,
      origin: tampering.origin ?? this.origin,
      crossOrigin: false,
      ...(tampering.large && {
        other_keys_can_be_added_here: 'do not compare clientDataJSON against a template. See https://goo.gl/yabPex',
      }),
    });
  }

  /** The response `startRegistration` would give for `options`. */
  register(options: CeremonyOptions, tampering: Tampering = {}) {
    this.userHandle = options.user?.id ?? null;
    const clientDataJSON = this.#clientData('webauthn.create', options, tampering);
    const authData = this.#authData(tampering.rpId ?? this.rpId, 0, tampering.userVerified ?? true, true);
    const attestationObject = cbor({ fmt: 'none', attStmt: {}, authData });
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
        ...(tampering.large && { publicKey: b64url(randomBytes(1334)), authenticatorData: b64url(randomBytes(2800)) }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The response `startAuthentication` would give for `options`. */
  authenticate(options: CeremonyOptions, tampering: Tampering = {}) {
    const counter = tampering.counter ?? this.counter + 1;
    this.counter = Math.max(this.counter, counter);
    const clientDataJSON = this.#clientData('webauthn.get', options, tampering);
    const authenticatorData = this.#authData(
      tampering.rpId ?? this.rpId,
      counter,
      tampering.userVerified ?? true,
      false,
    );
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha(clientDataJSON)]), this.#privateKey);
    if (tampering.badSignature)
      signature.writeUInt8(signature.readUInt8(signature.length - 1) ^ 0xff, signature.length - 1);
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}

/** The ceremony options of the passkey form for `step` on a hosted page, or null when it has none. */
export function passkeyOptions(html: string, step: string): CeremonyOptions | null {
  const form = new RegExp(
    `name="step" value="${step}">\\s*<input type="hidden" name="passkey" value="">\\s*<script type="application/json">(.*?)</script>`,
    's',
  ).exec(html);
  return form ? (JSON.parse(form[1]!) as CeremonyOptions) : null;
}
