/** The browser side of the hosted sign-in pages, for tests. */

export const BROWSER_UA = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/**
 * A cookie-keeping HTTP client that follows redirects by hand, as a browser does, until it leaves
 * Roster. Cookies are kept per name and path (RFC 6265 §5.1.4), so concurrent sign-ins in one
 * browser keep their own interaction cookies, as they do in a real one.
 */
export class Browser {
  readonly #cookies = new Map<string, Cookie>();
  readonly #origin: string;
  readonly #headers: Record<string, string>;

  /** `origin`: Roster's base URL; `headers` go with every request (e.g. `x-forwarded-for`). */
  constructor(origin: string, headers: Record<string, string> = {}) {
    this.#origin = origin;
    this.#headers = headers;
  }

  /** The Cookie header this browser sends to `url` (longer paths first); empty when none. */
  cookieHeader(url: string): string {
    const path = new URL(url).pathname;
    return [...this.#cookies.values()]
      .filter(
        (cookie) =>
          path === cookie.path || path.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`),
      )
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': BROWSER_UA, ...this.#headers };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = new URL(this.#origin).origin;
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.#keep(line, url);
    return response;
  }

  #keep(line: string, url: string): void {
    const [pair, ...attributes] = line.split(';');
    const [rawName, ...value] = pair!.split('=');
    const name = rawName!.trim();
    const pathAttribute = attributes.map((a) => /^\s*path=(.*)$/i.exec(a)?.[1]?.trim()).find((p) => p?.startsWith('/'));
    // Without a Path attribute: the request path's directory.
    const requestPath = new URL(url).pathname;
    const path =
      pathAttribute ?? (requestPath.lastIndexOf('/') > 0 ? requestPath.slice(0, requestPath.lastIndexOf('/')) : '/');
    const key = `${name}\u0000${path}`;
    const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0$/i.test(a));
    if (expired || value.join('=') === '') this.#cookies.delete(key);
    else this.#cookies.set(key, { name, value: value.join('='), path });
  }

  /** Follows redirects inside Roster; returns the last response (a page) or the URL it left Roster for. */
  async follow(response: Response, from: string): Promise<{ page: Response; url: string } | { left: URL }> {
    let current = response;
    let url = from;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get('location');
      if (current.status < 300 || current.status >= 400 || !location) return { page: current, url };
      const next = new URL(location, url);
      if (next.origin !== new URL(this.#origin).origin) return { left: next };
      url = next.href;
      current = await this.request(url);
    }
    throw new Error('too many redirects');
  }
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no sign-in form in: ${html.slice(0, 300)}`);
  return match[1]!;
}
