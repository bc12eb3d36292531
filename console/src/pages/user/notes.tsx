import { useMemo, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { FieldErrors, Notice, Reason, Section, When } from '../../components.tsx';
import { ConsoleAddAdminNoteDocument, type ConsoleUserQuery } from '../../generated/graphql.ts';
import { usePermission } from '../../scopes.ts';
import { errorsFor, type FieldError } from '../../user-errors.ts';
import { useAuditNames } from '../../audit.tsx';

type User = NonNullable<ConsoleUserQuery['user']>;

// A note's author is its writer's actor id: a person's user id (a UUID) or an application's client id.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function AdminNotes({ user }: { user: User }) {
  const write = usePermission('users:write');
  const [body, setBody] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [added, add] = useMutation(ConsoleAddAdminNoteDocument);
  const authors = useMemo(
    () =>
      user.adminNotes.map((note) => ({
        actorType: UUID.test(note.author) ? ('USER' as const) : ('APPLICATION' as const),
        actorId: note.author,
      })),
    [user.adminNotes],
  );
  const { actorOf: nameOf } = useAuditNames(authors);
  const why =
    write.reason ?? (user.status === 'DELETED' ? 'A deleted user cannot get notes; restore them first.' : null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = (await add({ userId: user.id, body })).data?.addAdminNote;
    setErrors(result?.userErrors ?? []);
    if (result?.user) setBody('');
  }
  const bodyErrors = errorsFor(errors, 'body');

  return (
    <Section title="Notes" id="notes-title">
      {added.error && <Notice kind="error">{added.error.message}</Notice>}
      <FieldErrors id="notes-errors" errors={errorsFor(errors, null, ['body'])} />
      <form onSubmit={(event) => void submit(event)} className="stack">
        <label htmlFor="note-body">New note (administrators only)</label>
        <textarea
          id="note-body"
          rows={3}
          value={body}
          onChange={(event) => setBody(event.target.value)}
          disabled={why !== null}
          aria-invalid={bodyErrors.length > 0}
          aria-describedby={why ? 'notes-reason' : bodyErrors.length ? 'note-body-errors' : undefined}
        />
        <FieldErrors id="note-body-errors" errors={bodyErrors} />
        <div>
          <button
            type="submit"
            className="button"
            disabled={why !== null || added.fetching}
            aria-describedby={why ? 'notes-reason' : undefined}
          >
            Add note
          </button>
        </div>
        {why && <Reason id="notes-reason">{why}</Reason>}
      </form>
      {user.adminNotes.length === 0 ? (
        <p className="muted">No notes.</p>
      ) : (
        <ol className="notes">
          {user.adminNotes.map((note, index) => (
            <li key={note.id} className="note">
              <div className="muted small">
                <strong>{nameOf(authors[index]!)}</strong> · <When at={note.createdAt} />
              </div>
              <p className="note-body">{note.body}</p>
            </li>
          ))}
        </ol>
      )}
    </Section>
  );
}
