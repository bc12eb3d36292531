import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { decrypt, encrypt } from '../../auth/crypto.ts';
import { guardedLookup, literalAllowed } from './webhooks.targets.ts';

const SECRET_PREFIX = 'whsec_';
/** Bytes of the start of an answer's body kept with the delivery. */
const RESPONSE_KEPT = 1024;
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** A new signing secret in the Standard Webhooks format: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

const secretContext = (realmId: string) => `webhook-secret:${realmId}`;

export function sealSecret(key: Buffer, realmId: string, secret: string): string {
  return encrypt(key, secret, secretContext(realmId));
}

export function openSecret(key: Buffer, realmId: string, sealed: string): string {
  return decrypt(key, sealed, secretContext(realmId));
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's bytes (Standard Webhooks). */
export function signWebhook(secret: string, webhookId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${webhookId}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export interface WebhookAttempt {
  /** The HTTP status of the answer; null when there was none (refused, unreachable, timed out). */
  status: number | null;
  /** The start of the answer's body (at most RESPONSE_KEPT bytes, as UTF-8). */
  body: string | null;
  durationMs: number;
  /** Why it failed; null on a 2xx answer. */
  error: string | null;
}

/**
 * POSTs one signed webhook. No redirect is followed (a 3xx is a failure); with
 * `allowPrivateTargets` false, a host that is or resolves to a private address is refused.
 */
export async function postWebhook(options: {
  url: string;
  /** The secrets to sign with: one signature each (the current one, and one in its rotation window). */
  secrets: readonly string[];
  webhookId: string;
  body: string;
  timeoutMs: number;
  allowPrivateTargets: boolean;
}): Promise<WebhookAttempt> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(options.url);
  if (!options.allowPrivateTargets && !literalAllowed(url)) {
    return { status: null, body: null, durationMs: 0, error: 'The URL points to a private address.' };
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<WebhookAttempt>((resolve) => {
    let settled = false;
    const finish = (attempt: Omit<WebhookAttempt, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...attempt, durationMs: elapsed() });
    };
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(options.body),
          'user-agent': 'Roster-Webhooks',
          'webhook-id': options.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': options.secrets
            .map((secret) => signWebhook(secret, options.webhookId, timestamp, options.body))
            .join(' '),
        },
        ...(options.allowPrivateTargets ? {} : { lookup: guardedLookup }),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const done = () => {
          const status = response.statusCode ?? null;
          // A text column cannot hold NUL: an answer with one must still be recorded.
          const body = Buffer.concat(chunks).subarray(0, RESPONSE_KEPT).toString('utf8').replaceAll('\0', '\uFFFD');
          const ok = status !== null && status >= 200 && status < 300;
          finish({ status, body, error: ok ? null : `HTTP ${status}` });
          response.destroy();
        };
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          kept += chunk.length;
          // The start is all that is kept: a huge answer is not read to its end.
          if (kept >= RESPONSE_KEPT) done();
        });
        response.on('end', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, body: null, error: `No answer within ${options.timeoutMs} ms.` });
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (error) => finish({ status: null, body: null, error: error.message }));
    req.end(options.body);
  });
}
