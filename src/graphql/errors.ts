import { GraphQLError } from 'graphql';

/** No valid bearer token: the caller must authenticate. */
export function unauthenticated(message = 'Authentication required: send a bearer access token.'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 200 } } });
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
