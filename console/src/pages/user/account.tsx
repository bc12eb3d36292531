import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { FieldErrors, Notice, Reason, Section } from '../../components.tsx';
import {
  ConsoleDeleteUserDocument,
  ConsoleExpireUserPasswordDocument,
  ConsoleRestoreUserDocument,
  ConsoleSetUserPasswordDocument,
  type ConsoleUserQuery,
} from '../../generated/graphql.ts';
import { usePermission } from '../../scopes.ts';
import { errorsFor, type FieldError } from '../../user-errors.ts';

type User = NonNullable<ConsoleUserQuery['user']>;

const PASSWORD_FIELDS = ['password', 'temporary', 'revokeSessions'];

export function Password({ user }: { user: User }) {
  const write = usePermission('users:write');
  const [password, setPassword] = useState('');
  const [temporary, setTemporary] = useState(true);
  const [revokeSessions, setRevokeSessions] = useState(true);
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [set, setUserPassword] = useMutation(ConsoleSetUserPasswordDocument);
  const [expired, expire] = useMutation(ConsoleExpireUserPasswordDocument);
  const busy = set.fetching || expired.fetching;
  const deleted = user.status === 'DELETED';
  const setWhy = write.reason ?? (deleted ? 'A deleted user’s password cannot be set; restore them first.' : null);
  const expireWhy =
    setWhy ??
    (!user.hasPassword
      ? 'The user has no password to expire.'
      : user.passwordExpired
        ? 'The password is already expired.'
        : null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const result = (await setUserPassword({ id: user.id, password, temporary, revokeSessions })).data?.setUserPassword;
    setErrors(result?.userErrors ?? []);
    if (result?.user) {
      setPassword('');
      setDone(temporary ? 'Password set; they must change it at their next sign-in.' : 'Password set.');
    }
  }

  async function expireNow() {
    setDone(null);
    const result = (await expire({ id: user.id })).data?.expireUserPassword;
    setErrors(result?.userErrors ?? []);
    if (result?.user) setDone('They must change their password at their next sign-in.');
  }

  const passwordErrors = errorsFor(errors, 'password');
  return (
    <Section title="Password" id="password-title">
      <p>
        {user.hasPassword ? 'The user has a password.' : 'The user has no password.'}
        {user.passwordExpired && ' It is expired: they must change it at their next sign-in.'}
      </p>
      {(set.error ?? expired.error) && <Notice kind="error">{(set.error ?? expired.error)!.message}</Notice>}
      <FieldErrors id="password-form-errors" errors={errorsFor(errors, null, PASSWORD_FIELDS)} />
      {done && <Notice kind="success">{done}</Notice>}
      <form onSubmit={(event) => void submit(event)} className="stack">
        <label htmlFor="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          disabled={setWhy !== null}
          required
          aria-invalid={passwordErrors.length > 0}
          aria-describedby={setWhy ? 'password-reason' : 'new-password-errors'}
        />
        <FieldErrors id="new-password-errors" errors={passwordErrors} />
        <label className="check">
          <input
            type="checkbox"
            checked={temporary}
            disabled={setWhy !== null}
            onChange={(event) => setTemporary(event.target.checked)}
          />
          They must change it at their next sign-in
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={revokeSessions}
            disabled={setWhy !== null}
            onChange={(event) => setRevokeSessions(event.target.checked)}
          />
          End their sessions
        </label>
        <div className="button-row">
          <button
            type="submit"
            className="button primary"
            disabled={setWhy !== null || busy || password === ''}
            aria-describedby={setWhy ? 'password-reason' : undefined}
          >
            Set password
          </button>
          <button
            type="button"
            className="button"
            disabled={expireWhy !== null || busy}
            aria-describedby={!expireWhy ? undefined : expireWhy === setWhy ? 'password-reason' : 'expire-reason'}
            onClick={() => void expireNow()}
          >
            Expire password
          </button>
        </div>
        {setWhy && <Reason id="password-reason">{setWhy}</Reason>}
        {expireWhy && expireWhy !== setWhy && <Reason id="expire-reason">{expireWhy}</Reason>}
      </form>
    </Section>
  );
}

/** What the administrator must type to erase the user: their email address, or their id without one. */
const confirmationOf = (user: User) => user.email ?? user.id;

export function Deletion({ user, refresh, onErased }: { user: User; refresh: () => void; onErased: () => void }) {
  const write = usePermission('users:write');
  const [typed, setTyped] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [deleted, deleteUser] = useMutation(ConsoleDeleteUserDocument);
  const [restored, restore] = useMutation(ConsoleRestoreUserDocument);
  const busy = deleted.fetching || restored.fetching;
  const isDeleted = user.status === 'DELETED';
  const expected = confirmationOf(user);
  // Email addresses are stored lowercased, so their case does not matter; an id's does.
  const confirmed = user.email ? typed.trim().toLowerCase() === expected : typed.trim() === expected;

  async function softDeleteOrRestore() {
    setDone(null);
    if (isDeleted) {
      const result = (await restore({ id: user.id })).data?.restoreUser;
      setErrors(result?.userErrors ?? []);
      if (result?.user) setDone('The user is restored.');
    } else {
      const result = (await deleteUser({ id: user.id, hard: false })).data?.deleteUser;
      setErrors(result?.userErrors ?? []);
      if (result?.deletedUserId) {
        setDone('The user is deleted: hidden from the list, and restorable here.');
        refresh();
      }
    }
  }

  async function erase(event: FormEvent) {
    event.preventDefault();
    if (!confirmed) return;
    setDone(null);
    const result = (await deleteUser({ id: user.id, hard: true })).data?.deleteUser;
    setErrors(result?.userErrors ?? []);
    if (result?.deletedUserId) onErased();
  }

  return (
    <Section title="Delete" id="delete-title" wide>
      {(deleted.error ?? restored.error) && <Notice kind="error">{(deleted.error ?? restored.error)!.message}</Notice>}
      <FieldErrors id="delete-errors" errors={errors} />
      {done && <Notice kind="success">{done}</Notice>}
      <p>
        {isDeleted
          ? 'The user is deleted: they cannot sign in and are hidden from the list. Restoring makes them active again.'
          : 'Deleting ends the user’s sessions and hides them from the list; they can be restored.'}
      </p>
      <div className="button-row">
        <button
          type="button"
          className={isDeleted ? 'button primary' : 'button danger'}
          disabled={!write.allowed || busy}
          aria-describedby={write.allowed ? undefined : 'delete-reason'}
          onClick={() => void softDeleteOrRestore()}
        >
          {isDeleted ? 'Restore user' : 'Delete user'}
        </button>
      </div>
      <form onSubmit={(event) => void erase(event)} className="stack erase">
        <label htmlFor="erase-confirmation">
          To erase the user and everything of theirs for good, type {user.email ? 'their email address' : 'their id'}{' '}
          <code>{expected}</code>
        </label>
        <input
          id="erase-confirmation"
          value={typed}
          autoComplete="off"
          spellCheck={false}
          onChange={(event) => setTyped(event.target.value)}
          disabled={!write.allowed}
          aria-describedby={write.allowed ? 'erase-hint' : 'delete-reason'}
        />
        <p className="hint" id="erase-hint">
          This cannot be undone. Audit events stay, with the user’s identifiers replaced.
        </p>
        <div>
          <button
            type="submit"
            className="button danger"
            disabled={!write.allowed || busy || !confirmed}
            aria-describedby={write.allowed ? 'erase-hint' : 'delete-reason'}
          >
            Erase user for good
          </button>
        </div>
        {!write.allowed && <Reason id="delete-reason">{write.reason}</Reason>}
      </form>
    </Section>
  );
}
