import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { userError, type UserErrorShape } from '../user-error.ts';

export const MAX_URL_LENGTH = 2000;

/** Addresses a webhook may not reach in production: loopback, private, link-local, CGNAT, unspecified, multicast. */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

const LOOPBACK_NAMES = new Set(['localhost']);

/** An address literal without the brackets of an IPv6 host. */
const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');

/** Whether an IP address is one a production server must not send webhooks to. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

function isLoopbackHost(hostname: string): boolean {
  const host = bare(hostname).toLowerCase();
  if (LOOPBACK_NAMES.has(host) || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  return family === 6 && host === '::1';
}

/**
 * Checks an endpoint URL when it is set: https, or http to a loopback host outside production;
 * no credentials; in production no address literal of a private network. A host name that
 * resolves to a private address is refused at delivery (`guardedLookup`).
 */
export function checkWebhookUrl(
  value: string,
  production: boolean,
  field: string[],
): { url: string; error: null } | { url: null; error: UserErrorShape } {
  const refuse = (message: string, code: 'INVALID' | 'TOO_LONG' = 'INVALID') => ({
    url: null,
    error: userError(code, message, field),
  });
  if (value.length > MAX_URL_LENGTH) return refuse(`At most ${MAX_URL_LENGTH} characters.`, 'TOO_LONG');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse('Not an absolute URL.');
  }
  if (url.username || url.password) return refuse('The URL may not hold credentials.');
  if (url.hash) return refuse('The URL may not have a fragment.');
  if (url.protocol === 'http:') {
    if (production || !isLoopbackHost(url.hostname)) {
      return refuse(
        production
          ? 'The URL must be https.'
          : 'The URL must be https (http only to a loopback host such as 127.0.0.1, outside production).',
      );
    }
  } else if (url.protocol !== 'https:') {
    return refuse('The URL must be https.');
  }
  if (production) {
    const host = bare(url.hostname);
    if (isLoopbackHost(host) || (isIP(host) !== 0 && isPrivateAddress(host))) {
      return refuse('The URL may not point to a loopback, private or link-local address in production.');
    }
  }
  if (url.href.length > MAX_URL_LENGTH) return refuse(`At most ${MAX_URL_LENGTH} characters.`, 'TOO_LONG');
  return { url: url.href, error: null };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request` that fails when a name resolves to a private address, so that a
 * name cannot be pointed at the internal network after the endpoint was accepted.
 */
export function guardedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => isPrivateAddress(entry.address));
    if (refused) {
      const denied = new Error(
        `${hostname} resolves to a private address (${refused.address}).`,
      ) as NodeJS.ErrnoException;
      denied.code = 'EPRIVATE';
      return callback(denied, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    return callback(null, first.address, first.family);
  });
}

/** Whether a delivery may connect to this URL's host literal (names are checked by `guardedLookup`). */
export function literalAllowed(url: URL): boolean {
  const host = bare(url.hostname);
  return isIP(host) === 0 || !isPrivateAddress(host);
}
