import type { ObjectRef } from '@pothos/core';
import type { DeleteResult, UserErrorShape } from './user-error.ts';
import { builder } from '../graphql/builder.ts';
import { encodeGlobalId } from '../graphql/ids.ts';
import { UserErrorRef } from './user-error.schema.ts';

/**
 * A mutation payload `{ <field>: T, userErrors: [UserError!]! }`; `field` is null when the
 * mutation did not apply.
 */
export function payloadType<K extends string, T>(
  name: string,
  field: K,
  ref: ObjectRef<(typeof builder)['$inferSchemaTypes'], T>,
  description: string,
  fieldDescription: string,
) {
  return builder.objectRef<{ [key in K]: T | null } & { userErrors: UserErrorShape[] }>(name).implement({
    description,
    fields: (t) => ({
      [field]: t.field({
        type: ref,
        nullable: true,
        description: fieldDescription,
        resolve: (payload) => (payload as unknown as Record<string, never>)[field] as never,
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: 'Why the mutation did not apply; empty on success. When not empty, nothing changed.',
        resolve: (payload) => payload.userErrors,
      }),
    }),
  });
}

const DeleteInput = builder.inputType('DeleteInput', {
  description: 'Identifies the object to delete.',
  fields: (t) => ({ id: t.globalID({ required: true, description: 'The global id of the object.' }) }),
});

/**
 * The `input: DeleteInput!` argument of a delete mutation. DeleteInput is shared by the delete
 * mutations, so the type its id must have is declared on the argument (`globalIdsAt`), and an id
 * of another type is refused before execution like any other (src/graphql/input-bounds.ts).
 */
export const deleteInputArg = (typename: string, description: string) => ({
  type: DeleteInput,
  required: true as const,
  description,
  extensions: { globalIdsAt: { id: [typename] } },
});

export const DeletePayload = builder.objectRef<DeleteResult>('DeletePayload').implement({
  description: 'Result of a delete mutation.',
  fields: (t) => ({
    deletedId: t.exposeID('deletedId', {
      nullable: true,
      description: 'The global id of the deleted object; null when nothing was deleted.',
    }),
    userErrors: t.field({
      type: [UserErrorRef],
      description: 'Why the object was not deleted; empty on success.',
      resolve: (payload) => payload.userErrors,
    }),
  }),
});

/** A service's delete result as the payload answers it: `deletedId` as the global id of a `typename`. */
export function withGlobalDeletedId<R extends DeleteResult>(result: R, typename: string): R {
  return { ...result, deletedId: result.deletedId === null ? null : encodeGlobalId(typename, result.deletedId) };
}
