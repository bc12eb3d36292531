import { useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { useDebounced } from './hooks.ts';
import { ConsolePeopleSearchDocument } from './generated/graphql.ts';

/** How many people a search shows: enough to spot the one meant, few enough to read. */
const SHOWN = 8;

export interface Person {
  id: string;
  name?: string | null;
  email?: string | null;
  username?: string | null;
}

/** How a person is named in the console: their name, else their email, username or id. */
const personName = (person: Person): string => person.name ?? person.email ?? person.username ?? person.id;

/**
 * Finds people by name, email or username as the administrator types (from two characters on),
 * and lists them with the controls `actions` gives for each; a status line says what the search
 * found. `clear` empties the box, as after a person was picked.
 */
export function PeopleSearch({
  id,
  label,
  placeholder,
  idleHint,
  includeDeleted = false,
  disabled = false,
  describedBy,
  className,
  actions,
}: {
  id: string;
  label: string;
  placeholder: string;
  /** The status line before anything is typed. */
  idleHint?: string;
  includeDeleted?: boolean;
  disabled?: boolean;
  /** Further ids describing the box (its errors, why it is disabled). */
  describedBy?: string;
  className?: string;
  actions: (person: Person, name: string, clear: () => void) => ReactNode;
}) {
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 250);
  const [{ data, fetching, error }] = useQuery({
    query: ConsolePeopleSearchDocument,
    variables: { search, includeDeleted },
    pause: disabled || search.length < 2,
  });
  const typed = text.trim();
  const current = typed.length >= 2 && search === typed;
  const people = current ? (data?.users.nodes ?? []) : [];
  const clear = () => setText('');
  const status =
    typed.length < 2
      ? (idleHint ?? '')
      : !current || fetching
        ? 'Searching…'
        : error
          ? error.message
          : people.length
            ? `${people.length === SHOWN ? `The first ${SHOWN}` : people.length} found.`
            : 'Nobody found.';
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        value={text}
        onChange={(event) => setText(event.target.value)}
        placeholder={placeholder}
        disabled={disabled}
        autoComplete="off"
        spellCheck={false}
        maxLength={200}
        aria-describedby={[`${id}-status`, describedBy].filter(Boolean).join(' ')}
      />
      <p className="hint" id={`${id}-status`} role="status">
        {status}
      </p>
      {people.length > 0 && (
        <ul className="people" aria-label="People found">
          {people.map((person) => {
            const name = personName(person);
            return (
              <li key={person.id}>
                <span className="person">
                  {name}
                  {person.email && person.name && <span className="muted small"> {person.email}</span>}
                </span>
                <span className="inline">{actions(person, name, clear)}</span>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
