/**
 * Roster's typed GraphQL client, for scripts and frontends: `import { … } from 'roster/client'`.
 *
 * The documents of `src/client/operations/*.graphql` are generated (`npm run codegen`, also run
 * by `npm install`) into typed documents: `UsersPageDocument`, `SuspendUserDocument`, … Each
 * carries its result and variables types, so any client that takes a typed document (urql below,
 * Apollo, TanStack Query with graphql-request) infers them; `graphql()` types a document written
 * inline the same way.
 */
import { Client, fetchExchange, type ClientOptions } from '@urql/core';

export * from '../generated/client/graphql.ts';
export { graphql } from '../generated/client/gql.ts';

export interface RosterClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /**
   * The access token (from `POST /oauth2/{realm}/token`), or a function that returns the current
   * one: called before every request, so it can refresh a token about to expire.
   */
  token: string | (() => string | Promise<string>);
  /** Anything else urql's `Client` takes (exchanges, fetch, request policy…). */
  options?: Partial<Omit<ClientOptions, 'url' | 'fetch'>>;
  /** The fetch to send requests with; the global one by default. */
  fetch?: typeof fetch;
}

/**
 * An urql client for Roster: sends the bearer token with every request and never caches a
 * response across requests (`network-only`), as an admin screen wants the current data.
 */
export function createRosterClient({ url, token, options, fetch: send = fetch }: RosterClientOptions): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    requestPolicy: 'network-only',
    preferGetMethod: false,
    ...options,
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${typeof token === 'function' ? await token() : token}`);
      return send(input, { ...init, headers });
    },
  });
}
