import { builder } from '../graphql/builder.ts';
import { USER_ERROR_CODES, type UserErrorCode, type UserErrorShape } from './user-error.ts';

export const UserErrorCodeEnum = builder.enumType('UserErrorCode', {
  description: 'Machine-readable reason of a `UserError`.',
  values: Object.fromEntries(
    Object.entries(USER_ERROR_CODES).map(([name, description]) => [name, { description }]),
  ) as Record<UserErrorCode, { description: string }>,
});

export const UserErrorRef = builder.objectRef<UserErrorShape>('UserError').implement({
  description: 'Why a mutation did not apply: returned in `userErrors`, nothing is changed.',
  fields: (t) => ({
    field: t.exposeStringList('field', {
      nullable: true,
      description:
        'Path to the input field at fault, e.g. `["input", "patch", "email"]`; null when not tied to one field.',
    }),
    message: t.exposeString('message', { description: 'A human-readable explanation.' }),
    code: t.field({ type: UserErrorCodeEnum, description: 'The reason, for programs.', resolve: (e) => e.code }),
  }),
});
