import { builder } from '../../graphql/builder.ts';

export const UserStatusEnum = builder.enumType('UserStatus', {
  description: 'The lifecycle state of a user.',
  values: {
    INVITED: { description: 'Invited; has not signed in or set credentials yet.' },
    PENDING_VERIFICATION: { description: 'Registered; must verify an email or phone before signing in.' },
    ACTIVE: { description: 'May sign in.' },
    INACTIVE: { description: 'Deactivated by an administrator or by inactivity; may not sign in.' },
    SUSPENDED: { description: 'Blocked, usually for a security reason; sessions are revoked.' },
    DELETED: { description: 'Soft-deleted; hidden from lists and restorable.' },
  } as const,
});
