import { UUID } from '../auth/ids.ts';
import { badUserInput } from './errors.ts';

export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64url');
}

/** What a global id holds: the object's type and its database id. */
export interface DecodedGlobalId {
  typename: string;
  id: string;
}

/** The type and database id inside a global id (`base64url("Type:uuid")`); null when it is not one. */
export function parseGlobalId(globalId: string): DecodedGlobalId | null {
  const decoded = /^[A-Za-z0-9_-]+={0,2}$/.test(globalId) ? Buffer.from(globalId, 'base64url').toString('utf8') : '';
  const separator = decoded.indexOf(':');
  const typename = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator < 1 || !/^[A-Za-z]+$/.test(typename) || !UUID.test(id)) return null;
  return { typename, id: id.toLowerCase() };
}

/**
 * Pothos' decoder of global id arguments. The input-bounds plugin refuses malformed ids, naming
 * the argument, before anything runs; should one get here, it is still the caller's mistake.
 */
export function decodeGlobalId(globalId: string): DecodedGlobalId {
  const decoded = parseGlobalId(globalId);
  if (!decoded) throw badUserInput(`"${globalId.slice(0, 64)}" is not a valid ID.`);
  return decoded;
}
