import type { IncomingMessage } from 'node:http';
import inject from 'light-my-request';
import type Provider from 'oidc-provider';

/** A request for a realm's provider, as Roster's routing has checked and resolved it. */
export interface ProviderRequest {
  method: string;
  /** The endpoint's path inside the provider, e.g. `/token`, with any query. */
  path: string;
  /** The issuer: its origin and path are where the provider's endpoints are advertised. */
  issuer: string;
  headers: Headers;
  body?: string;
  /** The caller's address (the socket's, or the one a trusted proxy reported). */
  address?: string;
}

// Hop-by-hop headers, and those a client could use to make the provider believe another host,
// protocol or address; the bridge sets the ones the provider needs itself.
const DROPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'host',
  'forwarded',
]);

const listeners = new WeakMap<Provider, ReturnType<Provider['callback']>>();

/**
 * Hands a fetch-API request to oidc-provider (a Koa application, i.e. a node:http listener)
 * and turns its answer back into a fetch `Response`. The provider sees the issuer's host and
 * protocol, and `originalUrl` carrying the issuer's path, so that every URL it builds
 * (discovery) is under the issuer; `url` is the path inside it.
 */
export async function callProvider(provider: Provider, request: ProviderRequest): Promise<Response> {
  let listener = listeners.get(provider);
  if (!listener) {
    listener = provider.callback();
    listeners.set(provider, listener);
  }
  const issuer = new URL(request.issuer);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (!DROPPED_HEADERS.has(name) && !name.startsWith('x-forwarded-')) headers[name] = value;
  });
  headers.host = issuer.host;
  headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  if (request.address) headers['x-forwarded-for'] = request.address;

  const handle = listener;
  const answer = await inject(
    (req: IncomingMessage & { originalUrl?: string }, res) => {
      req.originalUrl = `${issuer.pathname}${request.path}`;
      req.url = request.path;
      void handle(req, res);
    },
    {
      method: request.method,
      url: request.path,
      headers,
      // Built here, not by a caller: no need to check them against light-my-request's schema.
      validate: false,
      ...(request.body !== undefined ? { payload: request.body } : {}),
    },
  );

  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, String(one));
  }
  const empty = answer.statusCode === 204 || answer.statusCode === 304 || request.method === 'HEAD';
  return new Response(empty ? null : new Uint8Array(answer.rawPayload), {
    status: answer.statusCode,
    headers: responseHeaders,
  });
}
