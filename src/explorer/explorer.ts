import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as GraphiQLBuild from '@graphql-yoga/render-graphiql/graphiql';

/**
 * The explorer: GraphiQL at `GET /graphql` (for a browser, `Accept: text/html`), from the
 * installed `@graphql-yoga/render-graphiql` package — the same GraphiQL build Yoga inlines, but
 * served as files so that the page needs no inline script and no CDN — and Roster's sign-in
 * helper (`page.js`). Every asset is served by Roster; the page's Content-Security-Policy lets
 * it load nothing from anywhere else.
 */
export interface ExplorerOptions {
  /**
   * Offer the helper's admin-client form: a client id and secret typed into the page and
   * exchanged at the realm's token endpoint (development only; otherwise a pasted token only).
   */
  clientSignIn: boolean;
}

/**
 * Scripts and workers from Roster only, no eval; fonts and images of the GraphiQL build are
 * data: URLs; requests to Roster only. Monaco (GraphiQL's editor) renders its lines as HTML with
 * style attributes and adds `<style>` elements, hence `'unsafe-inline'` for styles (never for
 * scripts).
 */
export const EXPLORER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  'font-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DEFAULT_QUERY = `# Roster explorer. Sign in above (the admin client printed at the first start, or a
# pasted access token), then run this query with the ▶ button or Ctrl-Enter.
# Docs (the book icon on the left) describes every type and field.
query FirstLook {
  viewer {
    clientId
    scopes
    realm {
      name
    }
  }
  users(first: 10) {
    totalCount
    nodes {
      id
      email
      username
      name
      status
    }
  }
  applications(first: 5) {
    nodes {
      name
      type
      clientId
    }
  }
}
`;

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The files under `/explorer/`: the GraphiQL build's (named by its export) and the helper's own. */
const ASSETS: Record<string, { type: string; load: () => Promise<string | Uint8Array<ArrayBuffer>> }> = {
  'graphiql.js': { type: JS, load: async () => (await graphiql()).js },
  'graphiql.css': { type: CSS, load: async () => (await graphiql()).css },
  'editor.worker.js': { type: JS, load: async () => (await graphiql()).editorWorkerService },
  'json.worker.js': { type: JS, load: async () => (await graphiql()).jsonWorker },
  'graphql.worker.js': { type: JS, load: async () => (await graphiql()).graphqlWorker },
  'favicon.ico': {
    type: 'image/x-icon',
    load: async () =>
      new Uint8Array(Buffer.from((await graphiql()).favicon.replace(/^data:[^,]*;base64,/, ''), 'base64')),
  },
  'page.js': { type: JS, load: () => readFile(new URL('./page.js', import.meta.url), 'utf8') },
  'page.css': { type: CSS, load: () => readFile(new URL('./page.css', import.meta.url), 'utf8') },
};

// About 9 MB of strings: imported on the first request for the explorer, never in a server without it.
let bundle: Promise<typeof GraphiQLBuild> | undefined;
function graphiql() {
  bundle ??= import('@graphql-yoga/render-graphiql/graphiql');
  return bundle;
}

const loaded = new Map<string, Promise<Asset>>();
function asset(name: string): Promise<Asset> | undefined {
  const spec = ASSETS[name];
  if (!spec) return undefined;
  let entry = loaded.get(name);
  if (!entry) {
    // Encoded once: graphiql.js alone is 5 MB.
    entry = spec.load().then((loaded) => {
      const body = typeof loaded === 'string' ? new TextEncoder().encode(loaded) : loaded;
      return { body, type: spec.type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    });
    entry.catch(() => loaded.delete(name));
    loaded.set(name, entry);
  }
  return entry;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Not no-referrer: under it a same-origin fetch POST carries `Origin: null`, which the token
  // endpoint refuses.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

function page(options: ExplorerOptions): string {
  // A JSON data block is not script: the CSP does not need to allow it. `<` is escaped so that
  // no value can close the element.
  const config = JSON.stringify({ clientSignIn: options.clientSignIn, defaultQuery: DEFAULT_QUERY }).replace(
    /</g,
    '\\u003c',
  );
  const clientForm = `
      <form id="client-form" autocomplete="off">
        <h3>With the realm's admin client</h3>
        <p>The client id and secret Roster printed at its first start (<code>npm run roster -- bootstrap</code>
          makes another). The secret stays in this tab and goes only to the realm's token endpoint; the
          token is renewed when it expires.</p>
        <label for="realm">Realm</label>
        <input id="realm" name="realm" value="default" required spellcheck="false" />
        <label for="client-id">Client id</label>
        <input id="client-id" name="clientId" required spellcheck="false" autofocus />
        <label for="client-secret">Client secret</label>
        <input id="client-secret" name="clientSecret" type="password" required />
        <button type="submit">Get a token</button>
      </form>`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Roster explorer</title>
    <link rel="icon" href="explorer/favicon.ico" />
    <link rel="stylesheet" href="explorer/graphiql.css" />
    <link rel="stylesheet" href="explorer/page.css" />
    <script id="explorer-config" type="application/json">${config}</script>
    <script src="explorer/page.js" defer></script>
    <script src="explorer/graphiql.js" defer></script>
  </head>
  <body>
    <header class="roster-bar">
      <strong>Roster explorer</strong>
      <span id="roster-status" role="status">Not signed in.</span>
      <span id="roster-problem" role="alert"></span>
      <button id="roster-sign-in" type="button">Sign in</button>
      <button id="roster-forget" type="button" hidden>Forget the token</button>
    </header>
    <dialog id="roster-dialog" aria-labelledby="roster-dialog-title">
      <h2 id="roster-dialog-title">Sign in to the API</h2>
      <p>The explorer sends the token as the <code>authorization</code> header (Headers, below the
        query), which GraphiQL keeps across reloads.</p>${options.clientSignIn ? clientForm : ''}
      <form id="token-form" autocomplete="off">
        <h3>With an access token</h3>
        <label for="access-token">Access token</label>
        <textarea id="access-token" name="token" rows="3" required spellcheck="false"${
          options.clientSignIn ? '' : ' autofocus'
        }></textarea>
        <button type="submit">Use this token</button>
      </form>
      <p id="roster-dialog-problem" role="alert"></p>
      <button id="roster-close" type="button">Close</button>
    </dialog>
    <main id="graphiql"><noscript>The explorer needs JavaScript.</noscript></main>
  </body>
</html>
`;
}

/** Answers the explorer's requests; null for any other. */
export function createExplorer(options: ExplorerOptions): (request: Request, url: URL) => Promise<Response | null> {
  const html = page(options);
  return async (request, url) => {
    const get = request.method === 'GET' || request.method === 'HEAD';
    if (url.pathname === '/graphql') {
      if (!get || !request.headers.get('accept')?.includes('text/html')) return null;
      return new Response(request.method === 'HEAD' ? null : html, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': EXPLORER_CSP,
          'cache-control': 'no-store',
          ...SECURITY_HEADERS,
        },
      });
    }
    if (!url.pathname.startsWith('/explorer/')) return null;
    const found = asset(url.pathname.slice('/explorer/'.length));
    if (!found) return Response.json({ error: 'not_found' }, { status: 404 });
    if (!get) return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { allow: 'GET' } });
    const { body, type, etag } = await found;
    const headers = { 'content-type': type, etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS };
    if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers });
    return new Response(request.method === 'HEAD' ? null : body, { headers });
  };
}
