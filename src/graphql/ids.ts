import { badUserInput } from './errors.ts';

/** A database id: a UUID in its canonical text form (either case). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64url');
}

/**
 * Decodes a global id (`base64url("Type:uuid")`). Malformed ids are the caller's mistake and
 * get BAD_USER_INPUT; they never reach the database.
 */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = /^[A-Za-z0-9_-]+={0,2}$/.test(globalId) ? Buffer.from(globalId, 'base64url').toString('utf8') : '';
  const separator = decoded.indexOf(':');
  const typename = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator < 1 || !/^[A-Za-z]+$/.test(typename) || !UUID.test(id)) {
    throw badUserInput(`"${globalId.slice(0, 64)}" is not a valid ID.`);
  }
  return { typename, id: id.toLowerCase() };
}

/**
 * The database id inside a global id of `typename`, for resolvers to hand to services (which
 * take database ids only). BAD_USER_INPUT naming `argument` for another type or a malformed id.
 */
export function idOfType(globalId: string | number, typename: string, argument = 'id'): string {
  const decoded = decodeGlobalId(String(globalId));
  if (decoded.typename !== typename) {
    throw badUserInput(`${argument} must be the ID of a ${typename}, got the ID of a ${decoded.typename}.`, argument);
  }
  return decoded.id;
}
