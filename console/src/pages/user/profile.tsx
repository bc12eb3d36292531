import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation } from 'urql';
import { FieldErrors, Notice, Reason, Section, When } from '../../components.tsx';
import { ConsoleUpdateUserDocument, type ConsoleUserQuery } from '../../generated/graphql.ts';
import {
  PROFILE_FIELDS,
  profilePatch,
  profileValuesOf,
  rebaseProfile,
  type ProfileKey,
  type ProfileValues,
} from '../../profile-draft.ts';
import { usePermission } from '../../scopes.ts';
import { errorsFor, invalidValues, type FieldError } from '../../user-errors.ts';
import { ChangesSince } from './history.tsx';

type User = NonNullable<ConsoleUserQuery['user']>;

type Values = ProfileValues;
const FORM_FIELDS: string[] = [...PROFILE_FIELDS.map((field) => field.key), 'emailVerified'];
const valuesOf = (user: User): Values => profileValuesOf(user);

/**
 * The form's starting point: the values and the version it was filled from, and the newest audit
 * event about the user read with them, after which changes are someone else's.
 */
interface Base {
  values: Values;
  version: number;
  auditHead: string | null;
}
const baseOf = (user: User): Base => ({
  values: valuesOf(user),
  version: user.version,
  auditHead: user.auditEvents?.nodes[0]?.id ?? null,
});

export function Profile({ user, refresh }: { user: User; refresh: () => void }) {
  const write = usePermission('users:write');
  const [editing, setEditing] = useState<{ base: Base; draft: Values } | null>(null);
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [conflict, setConflict] = useState(false);
  const [done, setDone] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [updated, update] = useMutation(ConsoleUpdateUserDocument);
  const deleted = user.status === 'DELETED';
  const why = write.reason ?? (deleted ? 'A deleted user cannot be edited; restore them first.' : null);

  function open() {
    const base = baseOf(user);
    setEditing({ base, draft: valuesOf(user) });
    setErrors([]);
    setConflict(false);
    setDone(false);
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!editing) return;
    const patch = profilePatch(editing.base.values, editing.draft);
    if (Object.keys(patch).length === 0) {
      setEditing(null);
      return;
    }
    const answer = await update({ id: user.id, expectedVersion: editing.base.version, patch });
    const result = answer.data?.updateUser;
    const refused = invalidValues(answer.error?.graphQLErrors ?? [], 'patch');
    const userErrors = [...(result?.userErrors ?? []), ...refused];
    setErrors(userErrors);
    setFailure(refused.length ? null : (answer.error?.message ?? null));
    if (userErrors.some((error) => error.code === 'VERSION_CONFLICT')) {
      setConflict(true);
      refresh();
    } else if (result?.user) {
      setEditing(null);
      setConflict(false);
      setDone(true);
    }
  }

  /** Rebases the draft on the current version: their changes kept where the administrator changed nothing. */
  function keepMine() {
    if (!editing) return;
    const draft = rebaseProfile(editing.base.values, editing.draft, valuesOf(user));
    const base = baseOf(user);
    setEditing({ base, draft });
    setErrors([]);
    setConflict(false);
  }

  if (editing) {
    const { base, draft } = editing;
    const now = valuesOf(user);
    const stale = user.version !== base.version;
    const set = (key: ProfileKey, value: string) => setEditing({ base, draft: { ...draft, [key]: value } });
    const general = errorsFor(errors, null, FORM_FIELDS).filter((error) => error.code !== 'VERSION_CONFLICT');
    return (
      <Section title="Profile" id="profile-title">
        {failure && <Notice kind="error">{failure}</Notice>}
        <FieldErrors id="profile-errors" errors={general} />
        {conflict && (
          <div className="conflict" role="alert" aria-labelledby="conflict-title">
            <h3 id="conflict-title">Someone changed this user after you started editing</h3>
            <p>Nothing was saved. The changes since you opened the form:</p>
            <ChangesSince userId={user.id} head={base.auditHead} />
            <p>Your edits are still in the form; fields that changed meanwhile show their new value.</p>
            <div className="button-row">
              <button type="button" className="button primary" disabled={!stale} onClick={keepMine}>
                Apply my edits to the current version
              </button>
              <button type="button" className="button" onClick={() => setEditing(null)}>
                Discard my edits
              </button>
            </div>
          </div>
        )}
        <form onSubmit={(event) => void save(event)} className="stack profile-form">
          {PROFILE_FIELDS.map(({ key, label, type }) => {
            const fieldErrors = errorsFor(errors, key);
            const changed = stale && now[key] !== base.values[key];
            return (
              <div key={key} className="field">
                <label htmlFor={`profile-${key}`}>{label}</label>
                <input
                  id={`profile-${key}`}
                  type={type}
                  autoComplete="off"
                  value={draft[key]}
                  onChange={(event) => set(key, event.target.value)}
                  aria-invalid={fieldErrors.length > 0}
                  aria-describedby={
                    [changed && `profile-${key}-now`, fieldErrors.length > 0 && `profile-${key}-errors`]
                      .filter(Boolean)
                      .join(' ') || undefined
                  }
                />
                {changed && (
                  <p className="hint changed" id={`profile-${key}-now`}>
                    Changed meanwhile to {now[key] ? `“${now[key]}”` : 'nothing'} (was{' '}
                    {base.values[key] ? `“${base.values[key]}”` : 'empty'}).
                  </p>
                )}
                <FieldErrors id={`profile-${key}-errors`} errors={fieldErrors} />
              </div>
            );
          })}
          <label className="check">
            <input
              type="checkbox"
              checked={draft.emailVerified}
              onChange={(event) => setEditing({ base, draft: { ...draft, emailVerified: event.target.checked } })}
            />
            Email address verified
          </label>
          <FieldErrors id="profile-emailVerified-errors" errors={errorsFor(errors, 'emailVerified')} />
          <div className="button-row">
            <button type="submit" className="button primary" disabled={updated.fetching || conflict}>
              Save profile
            </button>
            <button type="button" className="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      </Section>
    );
  }

  const rows: [string, ReactNode][] = [
    ['Email', user.email ? `${user.email}${user.emailVerified ? ' (verified)' : ' (not verified)'}` : '—'],
    ['Username', user.username ?? '—'],
    ['Given name', user.givenName ?? '—'],
    ['Family name', user.familyName ?? '—'],
    ['Phone', user.phone ? `${user.phone}${user.phoneVerified ? ' (verified)' : ''}` : '—'],
    ['Locale', user.locale ?? '—'],
    ['Time zone', user.timezone ?? '—'],
    ['Country', user.country ?? '—'],
    ['Password', user.hasPassword ? (user.passwordExpired ? 'Set, expired' : 'Set') : 'None'],
    [
      'Second factors',
      user.mfaFactors.length ? user.mfaFactors.map((factor) => factor.name ?? factor.type).join(', ') : 'None',
    ],
    ...(user.tenants
      ? ([['Tenants', user.tenants.nodes.map((tenant) => tenant.name).join(', ') || 'None']] as [string, ReactNode][])
      : []),
    ['Locked', user.isLocked ? <When at={user.lockedUntil} never="Yes" /> : 'No'],
    ['Created', <When at={user.createdAt} />],
    ['Updated', <When at={user.updatedAt} />],
    ['Last sign-in', <When at={user.lastLoginAt} never="Never" />],
    ['Last active', <When at={user.lastActiveAt} never="Never" />],
  ];
  return (
    <Section title="Profile" id="profile-title">
      {done && <Notice kind="success">Profile saved.</Notice>}
      <dl className="facts">
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <div className="section-actions">
        <button
          type="button"
          className="button"
          disabled={why !== null}
          aria-describedby={why ? 'profile-reason' : undefined}
          onClick={open}
        >
          Edit profile
        </button>
      </div>
      {why && <Reason id="profile-reason">{why}</Reason>}
    </Section>
  );
}
