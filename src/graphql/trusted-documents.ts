import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Trusted documents (persisted operations): a request may name a document by its SHA-256 instead
 * of sending it, as `extensions.persistedQuery.sha256Hash` (hex) or `documentId`
 * (`sha256:<hex>`); only the documents of a list known to the server are run. The console's
 * application may run nothing else, so a token stolen from the console runs the console's
 * operations only.
 */
export class TrustedDocuments {
  readonly #byHash: Promise<ReadonlyMap<string, string>>;
  /** The requests that named a trusted document, and so ran it. */
  readonly #trusted = new WeakSet<Request>();

  /** `load`: the list, `{ "sha256:<hex>": document }`; when it cannot be read, no document is trusted. */
  constructor(load: () => Promise<Record<string, string>>) {
    this.#byHash = load().then(
      (list) =>
        new Map(
          Object.entries(list).filter(
            ([key, text]) => key === `sha256:${createHash('sha256').update(text).digest('hex')}`,
          ),
        ),
      () => new Map(),
    );
  }

  /** The list a JSON file holds (GraphQL Code Generator's `persisted-documents.json`). */
  static fromFile(url: URL): TrustedDocuments {
    return new TrustedDocuments(async () => JSON.parse(await readFile(url, 'utf8')) as Record<string, string>);
  }

  /** Whether `request` named a trusted document (and so runs nothing else). */
  ran(request: Request): boolean {
    return this.#trusted.has(request);
  }

  /** Puts the named document in place of the request's query; refuses an unknown hash, or a query sent as well. */
  plugin(): Plugin {
    return {
      onParams: async ({ params, request, setParams }) => {
        const key = documentKey(params);
        if (key === null) return;
        if (params.query) throw refusal('Send either a document or its hash, not both.', 'PERSISTED_QUERY_CONFLICT');
        const text = (await this.#byHash).get(key);
        if (!text) throw refusal('No trusted document has this hash.', 'PERSISTED_QUERY_NOT_FOUND');
        this.#trusted.add(request);
        const { documentId: _named, ...rest } = params as typeof params & { documentId?: unknown };
        setParams({ ...rest, query: text });
      },
    };
  }
}

function documentKey(params: { extensions?: Record<string, unknown> | undefined }): string | null {
  const extensions = params.extensions ?? {};
  const documentId = (params as { documentId?: unknown }).documentId;
  const persisted = extensions.persistedQuery as { sha256Hash?: unknown } | undefined;
  if (typeof documentId === 'string') return documentId.toLowerCase();
  if (persisted && typeof persisted.sha256Hash === 'string') return `sha256:${persisted.sha256Hash.toLowerCase()}`;
  if (persisted) throw refusal('extensions.persistedQuery needs sha256Hash.', 'PERSISTED_QUERY_NOT_FOUND');
  return null;
}

function refusal(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

/** The console's application may run only trusted documents. */
export function persistedOnly(): GraphQLError {
  return new GraphQLError(
    "This application may run only the console's own operations (trusted documents, sent by hash).",
    { extensions: { code: 'PERSISTED_QUERY_REQUIRED', http: { status: 400 } } },
  );
}
