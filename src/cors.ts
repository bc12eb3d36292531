/**
 * Cross-origin access to the API (`/graphql`, `/schema.graphql`) from browsers: only pages of
 * the origins listed in `ROSTER_CORS_ORIGINS`, matched exactly. The API authenticates with
 * bearer tokens, never cookies, so no origin is ever allowed credentials.
 */
export class CorsPolicy {
  readonly #origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
  }

  #allowed(request: Request): string | null {
    const origin = request.headers.get('origin');
    return origin !== null && this.#origins.has(origin) ? origin : null;
  }

  /** The answer to a preflight (OPTIONS with `Access-Control-Request-Method`); null for any other request. */
  preflight(request: Request): Response | null {
    if (request.method !== 'OPTIONS' || !request.headers.has('access-control-request-method')) return null;
    const origin = this.#allowed(request);
    const headers = new Headers({ vary: 'Origin, Access-Control-Request-Headers', 'content-length': '0' });
    if (!origin) return new Response(null, { status: 403, headers });
    headers.set('access-control-allow-origin', origin);
    headers.set('access-control-allow-methods', 'GET, POST');
    const requested = request.headers.get('access-control-request-headers');
    if (requested) headers.set('access-control-allow-headers', requested);
    headers.set('access-control-max-age', '600');
    return new Response(null, { status: 204, headers });
  }

  /** Adds the CORS headers of an allowed origin to `response` (and `Vary: Origin` to any). */
  apply(request: Request, response: Response): Response {
    response.headers.append('vary', 'Origin');
    const origin = this.#allowed(request);
    if (origin) {
      response.headers.set('access-control-allow-origin', origin);
      response.headers.set('access-control-expose-headers', 'x-request-id, www-authenticate, idempotent-replayed');
    }
    return response;
  }
}
