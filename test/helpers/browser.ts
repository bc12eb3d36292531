/** The browser side of the hosted sign-in pages, for tests. */

export const BROWSER_UA = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** A cookie-keeping HTTP client that follows redirects by hand, as a browser does, until it leaves Roster. */
export class Browser {
  readonly cookies = new Map<string, string>();

  readonly #origin: string;
  readonly #headers: Record<string, string>;

  /** `origin`: Roster's base URL; `headers` go with every request (e.g. `x-forwarded-for`). */
  constructor(origin: string, headers: Record<string, string> = {}) {
    this.#origin = origin;
    this.#headers = headers;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': BROWSER_UA, ...this.#headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = new URL(this.#origin).origin;
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0$/i.test(a));
      if (expired || value.join('=') === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    return response;
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
