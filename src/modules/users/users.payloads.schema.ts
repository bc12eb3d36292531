import { builder } from '../../graphql/builder.ts';
import { payloadType } from '../payloads.schema.ts';
import { UserRef } from './users.schema.ts';

/** `UpdateUserPayload`: shared by every mutation that changes one user and returns it. */
export const UpdateUserPayload = payloadType(
  'UpdateUserPayload',
  'user',
  UserRef,
  'Result of a change to one user.',
  'The user after the change (its `version` incremented when something changed); null when the change failed.',
);

/** `UserIdInput`: the input of mutations that only need the user. */
export const UserIdInput = builder.inputType('UserIdInput', {
  description: 'Identifies one user.',
  fields: (t) => ({ id: t.globalID({ for: UserRef, required: true, description: 'The global id of the user.' }) }),
});
