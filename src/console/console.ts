import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { extname } from 'node:path';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { ensureConsoleApplication } from '../modules/applications/applications.builtin.ts';
import { findRealm } from '../modules/realm/realm.service.ts';
import { TrustedDocuments } from '../graphql/trusted-documents.ts';

/**
 * The admin console at `/console`: the static files `npm install` builds from `console/` into
 * `dist/console-app/` (Vite, content-hashed names under `assets/`), and, per realm, the client id
 * of the realm's console application, which is made on the first visit.
 *
 * Scripts, styles and requests to Roster only: no inline script or style, no eval, nothing from
 * another origin. Forms submit nowhere (the console's forms are handled by its script; signing in
 * is a navigation to the realm's authorization endpoint).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the build puts the console, from this file in src/console/ or dist/console/. */
const BUILD_DIR = new URL('../../dist/console-app/', import.meta.url);

/**
 * The console's GraphQL documents by SHA-256 (written by the build next to the page, never served):
 * the only ones the console's application may run, whether the console is served or not. Without
 * a build, none.
 */
export const consoleDocuments = () => TrustedDocuments.fromFile(new URL('trusted-documents.json', BUILD_DIR));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** One form of an asset as sent: its bytes and entity tag. */
interface Encoded {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

interface Asset {
  type: string;
  identity: Encoded;
  /** Compressed once, with the build's first read (text assets, when it saves bytes), sent to browsers that accept it. */
  br?: Encoded;
  gzip?: Encoded;
}

const COMPRESSIBLE = /^(text\/|application\/(json|javascript)|image\/svg)/;

/** The encodings `accept-encoding` allows (q above 0), as a set of names. */
function acceptedEncodings(header: string | null): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) <= 0)) accepted.add(name);
  }
  return accepted;
}

const encoded = (body: Uint8Array, suffix: string): Encoded => ({
  body: new Uint8Array(body),
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}${suffix}"`,
});

interface Build {
  index: string;
  assets: Map<string, Asset>;
}

/** Reads the build once; null when the console was not built (then `/console` says so). */
async function loadBuild(): Promise<Build | null> {
  let index: string;
  try {
    index = await readFile(new URL('index.html', BUILD_DIR), 'utf8');
  } catch {
    return null;
  }
  const assets = new Map<string, Asset>();
  const assetDir = new URL('assets/', BUILD_DIR);
  for (const name of await readdir(assetDir).catch(() => [])) {
    const body = new Uint8Array(await readFile(new URL(name, assetDir)));
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    const asset: Asset = { type, identity: encoded(body, '') };
    if (COMPRESSIBLE.test(type)) {
      // Brotli at quality 9, not 11: a tenth of the time for a few per cent more bytes, once per process.
      const br = brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9 } });
      const gzip = gzipSync(body, { level: 9 });
      if (br.length < body.length) asset.br = encoded(br, '-br');
      if (gzip.length < body.length) asset.gzip = encoded(gzip, '-gz');
    }
    assets.set(name, asset);
  }
  return { index, assets };
}

export interface ConsoleOptions {
  prisma: PrismaClient;
  /** Roster's public base URL (`ROSTER_PUBLIC_URL`), which may carry a path prefix. */
  baseUrl: () => string;
}

/** Answers the console's requests (paths `/console` and below); null for any other. */
export function createConsole(options: ConsoleOptions): (request: Request, url: URL) => Promise<Response | null> {
  let build: Promise<Build | null> | undefined;
  const pages = new Map<string, string>();

  /** index.html with the public URL the console talks to, and its asset paths under a path prefix. */
  function indexPage(index: string): string {
    const base = options.baseUrl();
    let page = pages.get(base);
    if (!page) {
      const prefix = new URL(base).pathname.replace(/\/+$/, '');
      page = index
        .replaceAll('"/console/', `"${prefix}/console/`)
        .replace(
          '<meta name="roster-public-url" content="" />',
          `<meta name="roster-public-url" content="${escapeAttribute(base)}" />`,
        );
      pages.set(base, page);
    }
    return page;
  }

  return async (request, url) => {
    const path = url.pathname;
    if (path !== '/console' && !path.startsWith('/console/')) return null;
    const get = request.method === 'GET' || request.method === 'HEAD';
    if (!get) return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { allow: 'GET, HEAD' } });
    if (path === '/console')
      return new Response(null, { status: 308, headers: { location: `${url.pathname}/${url.search}` } });

    const realmMatch = /^\/console\/realms\/([^/]+)$/.exec(path);
    if (realmMatch) {
      let realmName: string;
      try {
        realmName = decodeURIComponent(realmMatch[1]!);
      } catch {
        return Response.json(
          { error: 'invalid_request', error_description: 'The realm name in the path is not valid percent-encoding.' },
          { status: 400, headers: { 'cache-control': 'no-store', ...SECURITY_HEADERS } },
        );
      }
      return realmConfig(options, realmName);
    }

    build ??= loadBuild();
    const files = await build;
    if (!files) {
      build = undefined;
      return Response.json(
        { error: 'not_built', error_description: 'The console was not built: run `npm install` (or `npm ci`).' },
        { status: 503 },
      );
    }
    if (path.startsWith('/console/assets/')) {
      const asset = files.assets.get(path.slice('/console/assets/'.length));
      if (!asset) return Response.json({ error: 'not_found' }, { status: 404 });
      const accepted = acceptedEncodings(request.headers.get('accept-encoding'));
      const encoding = asset.br && accepted.has('br') ? 'br' : asset.gzip && accepted.has('gzip') ? 'gzip' : null;
      const sent = encoding ? asset[encoding]! : asset.identity;
      const headers = {
        'content-type': asset.type,
        etag: sent.etag,
        'cache-control': IMMUTABLE,
        ...(asset.br || asset.gzip ? { vary: 'accept-encoding' } : {}),
        ...(encoding ? { 'content-encoding': encoding } : {}),
        ...SECURITY_HEADERS,
      };
      if (request.headers.get('if-none-match') === sent.etag) return new Response(null, { status: 304, headers });
      return new Response(request.method === 'HEAD' ? null : sent.body, { headers });
    }
    // Every other path is a page of the console (its script routes): the same document.
    return new Response(request.method === 'HEAD' ? null : indexPage(files.index), {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'content-security-policy': CONSOLE_CSP,
        ...SECURITY_HEADERS,
      },
    });
  };
}

/** `GET /console/realms/{realm}`: the issuer and the client id the console signs in to the realm with. */
async function realmConfig(options: ConsoleOptions, realmName: string): Promise<Response> {
  const headers = { 'cache-control': 'no-store', ...SECURITY_HEADERS };
  const realm = await findRealm(options.prisma, realmName);
  if (!realm) {
    return Response.json(
      { error: 'not_found', error_description: `There is no realm "${realmName}".` },
      { status: 404, headers },
    );
  }
  const base = options.baseUrl();
  const app = await ensureConsoleApplication(options.prisma, realm.id, {
    redirectUri: `${base}/console/callback`,
    postLogoutRedirectUri: `${base}/console/`,
  });
  if (app.disabled) {
    return Response.json(
      {
        error: 'console_disabled',
        error_description: `The console's application of realm "${realm.name}" is disabled; an administrator can enable it with updateApplication.`,
      },
      { status: 403, headers },
    );
  }
  return Response.json(
    { realm: realm.name, issuer: `${base}/oauth2/${realm.name}`, clientId: app.clientId },
    { headers },
  );
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
