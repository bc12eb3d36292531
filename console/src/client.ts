import { Client, cacheExchange, fetchExchange, makeOperation, mapExchange } from 'urql';
import { accessToken, publicUrl } from './auth.ts';

/**
 * Sends each document by its SHA-256 (from GraphQL Code Generator) instead of its text: the API
 * runs only the console's own documents for the console's application.
 */
const byHash = mapExchange({
  onOperation(operation) {
    const hash = (operation.query as { __meta__?: { hash?: string } }).__meta__?.hash;
    if (!hash?.startsWith('sha256:')) return operation;
    return makeOperation(
      operation.kind,
      {
        ...operation,
        extensions: { ...operation.extensions, persistedQuery: { version: 1, sha256Hash: hash.slice(7) } },
      },
      operation.context,
    );
  },
});

/**
 * The console's GraphQL client: the administrator's access token on every request (renewed
 * before it expires), a document cache that a mutation returning a user invalidates (so the
 * pages showing users are fetched again), answered from the cache while it refetches.
 */
export function createClient(): Client {
  return new Client({
    url: `${publicUrl}/graphql`,
    exchanges: [byHash, cacheExchange, fetchExchange],
    requestPolicy: 'cache-and-network',
    preferGetMethod: false,
    fetch: async (input, init) => {
      const send = async (token: string | null) => {
        const headers = new Headers(init?.headers);
        if (token) headers.set('authorization', `Bearer ${token}`);
        return fetch(input, { ...init, headers });
      };
      const response = await send(await accessToken());
      // Refused (the session ended, or the token expired early): one renewal, then signed out.
      if (response.status === 401) return send(await accessToken(true));
      return response;
    },
  });
}
