/** The profile form's state: what it sends, and how an administrator's edits survive someone else's. */
import type { UserPatch } from './generated/graphql.ts';

/** The profile fields the form edits, in the order it shows them. */
export const PROFILE_FIELDS = [
  { key: 'name', label: 'Name', type: 'text' },
  { key: 'givenName', label: 'Given name', type: 'text' },
  { key: 'familyName', label: 'Family name', type: 'text' },
  { key: 'nickname', label: 'Nickname', type: 'text' },
  { key: 'email', label: 'Email', type: 'email' },
  { key: 'username', label: 'Username', type: 'text' },
  { key: 'phone', label: 'Phone', type: 'tel' },
  { key: 'locale', label: 'Locale', type: 'text' },
  { key: 'timezone', label: 'Time zone', type: 'text' },
  { key: 'country', label: 'Country', type: 'text' },
] as const;

export type ProfileKey = (typeof PROFILE_FIELDS)[number]['key'];
export type ProfileValues = Record<ProfileKey, string> & { emailVerified: boolean };
export type ProfileSource = { [K in ProfileKey]?: string | null } & { emailVerified: boolean };

export const profileValuesOf = (user: ProfileSource): ProfileValues => ({
  ...(Object.fromEntries(PROFILE_FIELDS.map(({ key }) => [key, user[key] ?? ''])) as Record<ProfileKey, string>),
  emailVerified: user.emailVerified,
});

/** Only what the administrator changed from `base`: a field emptied is cleared (null). */
export function profilePatch(base: ProfileValues, draft: ProfileValues): UserPatch {
  const patch: UserPatch = {};
  for (const { key } of PROFILE_FIELDS) {
    const value = draft[key].trim();
    if (value !== base[key]) patch[key] = value === '' ? null : value;
  }
  if (draft.emailVerified !== base.emailVerified) patch.emailVerified = draft.emailVerified;
  return patch;
}

/**
 * The draft moved onto the current values after someone else's change: the administrator's edits
 * are kept, and every field they left as it was takes the current value (so saving does not undo
 * the other change).
 */
export function rebaseProfile(base: ProfileValues, draft: ProfileValues, current: ProfileValues): ProfileValues {
  const next = { ...draft };
  for (const { key } of PROFILE_FIELDS) if (draft[key] === base[key]) next[key] = current[key];
  if (draft.emailVerified === base.emailVerified) next.emailVerified = current.emailVerified;
  return next;
}
