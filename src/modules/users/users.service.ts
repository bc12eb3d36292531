import type { User } from '../../generated/prisma/client.ts';
import type { RealmTx } from '../../context.ts';
import { idOfType } from '../../graphql/ids.ts';
import { userError, type UserErrorShape } from '../user-error.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The result of a mutation of one user: the user after the change, or why nothing changed. */
export interface UserResult {
  user: User | null;
  userErrors: UserErrorShape[];
}

export function refusedUser(...userErrors: UserErrorShape[]): UserResult {
  return { user: null, userErrors };
}

export const userNotFound = (field: string[]): UserErrorShape =>
  userError('NOT_FOUND', 'No user with this id exists in the realm.', field);

export function isUserError(value: unknown): value is UserErrorShape {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && !('realmId' in value);
}

/**
 * The database id of a user given as a raw id or a global `User` id. A global id of another
 * type or a malformed id is BAD_USER_INPUT (thrown), like any argument of the wrong type.
 */
export function userDatabaseId(id: string, argument = 'id'): string {
  return UUID.test(id) ? id.toLowerCase() : idOfType(id, 'User', argument);
}

export interface FindUserOptions {
  /**
   * Lock the row until the transaction ends (`SELECT … FOR UPDATE`), so concurrent changes to
   * one user queue up. Raw SQL is not realm-scoped, hence the realm id.
   */
  lock?: { realmId: string };
}

/**
 * The user of the caller's realm with this id (raw or global; deleted users included), or a
 * NOT_FOUND error at `field`. A missing id and another realm's id get the same answer.
 */
export async function findUser(tx: RealmTx, id: string, field: string[], options: FindUserOptions = {}): Promise<User | UserErrorShape> {
  const userId = userDatabaseId(id, field.join('.'));
  if (options.lock) {
    await tx.$queryRaw`SELECT 1 FROM "User" WHERE "realmId" = ${options.lock.realmId}::uuid AND id = ${userId}::uuid FOR UPDATE`;
  }
  const user = await tx.user.findUnique({ where: { id: userId } });
  return user ?? userNotFound(field);
}

/**
 * Records that something of the user changed outside its own row (roles, tenants, factors…):
 * `version` + 1 and `updatedAt` now. Returns the user.
 */
export function bumpVersion(tx: RealmTx, userId: string): Promise<User> {
  return tx.user.update({ where: { id: userId }, data: { version: { increment: 1 } } });
}
