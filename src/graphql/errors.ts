import { GraphQLError, type ASTNode } from 'graphql';

/**
 * No bearer token: the caller must authenticate. HTTP 401 with a bare `Bearer` challenge, as
 * RFC 6750 §3 asks of a request without credentials (an invalid token gets 401 too, with
 * `error="invalid_token"`).
 */
export function unauthenticated(
  message = 'Authentication required: send a bearer access token.',
  node?: ASTNode,
): GraphQLError {
  return new GraphQLError(message, {
    ...(node ? { nodes: node } : {}),
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
  });
}

/** Authenticated, but the token lacks scopes; `missingScopes` tells which. */
export function forbidden(missingScopes: string[]): GraphQLError {
  return new GraphQLError(`Missing scopes: ${missingScopes.join(', ')}.`, {
    extensions: { code: 'FORBIDDEN', missingScopes },
  });
}

/** The request's arguments are unusable as a whole (not a per-field business error). */
export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argument } : {}) },
  });
}
