import { useMemo } from 'react';
import { useQuery } from 'urql';
import {
  ConsoleApplicationNamesDocument,
  ConsoleAuditActorsDocument,
  ConsoleViewerDocument,
  type AuditActorType,
} from './generated/graphql.ts';
import { usePermission } from './scopes.ts';

/** The global id of a user from the database id an audit event names its actor by. */
export const userGlobalId = (id: string) =>
  btoa(`User:${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The database id (as audit events name actors) of a user's global id; null for another kind of id. */
export function userDatabaseId(globalId: string): string | null {
  try {
    const decoded = atob(globalId.replace(/-/g, '+').replace(/_/g, '/'));
    return decoded.startsWith('User:') ? decoded.slice('User:'.length) : null;
  } catch {
    return null;
  }
}

/** Who did something: as audit events name them (`actorType`, `actorId`). */
export interface Actor {
  actorType: AuditActorType;
  actorId: string;
}

const NO_IDS: readonly string[] = [];

/** A user an audit event names, as far as the administrator may read users. */
export interface NamedUser {
  /** Their name, or email; null once erased (or when the administrator may not read users). */
  name: string | null;
  /** Whether they are the signed-in administrator. */
  you: boolean;
}

/**
 * The names of `actors` and of the users `userIds` (global ids, e.g. events' targets), in one
 * request: people by name (the administrator as "you") when the administrator may read users,
 * applications by name when they may read applications (by client id otherwise).
 */
export function useAuditNames(
  actors: readonly Actor[],
  userIds: readonly string[] = NO_IDS,
): { actorOf: (actor: Actor) => string; userOf: (id: string) => NamedUser } {
  const applications = usePermission('applications:read').allowed;
  const users = usePermission('users:read').allowed;
  const [{ data: apps }] = useQuery({
    query: ConsoleApplicationNamesDocument,
    pause: !applications || !actors.some((actor) => actor.actorType === 'APPLICATION'),
  });
  const ids = useMemo(
    () =>
      [
        ...new Set([...actors.filter((a) => a.actorType === 'USER').map((a) => userGlobalId(a.actorId)), ...userIds]),
      ].sort(),
    [actors, userIds],
  );
  const [{ data: viewer }] = useQuery({ query: ConsoleViewerDocument });
  const [{ data }] = useQuery({
    query: ConsoleAuditActorsDocument,
    variables: { ids },
    pause: ids.length === 0 || !users,
  });
  const userOf = (id: string): NamedUser => {
    const person = data?.nodes.find((node) => node?.id === id);
    return {
      name: person && 'email' in person ? (person.name ?? person.email ?? null) : null,
      you: viewer?.viewer.user?.id === id,
    };
  };
  const actorOf = (actor: Actor) => {
    if (actor.actorType === 'SYSTEM') return 'Roster';
    if (actor.actorType === 'APPLICATION') {
      const app = apps?.applications.nodes.find((node) => node.clientId === actor.actorId);
      return app ? `${app.name} (application)` : `Application ${actor.actorId}`;
    }
    const person = userOf(userGlobalId(actor.actorId));
    const name = person.name ?? (users ? 'A deleted user' : `User ${actor.actorId}`);
    return person.you ? `${name} (you)` : name;
  };
  return { actorOf, userOf };
}

const show = (value: unknown): string =>
  value === null || value === undefined ? '—' : typeof value === 'string' ? `“${value}”` : JSON.stringify(value);

/** An event's `changes`: `{ field: { before, after } }` as "field: before → after", anything else as it is. */
export function Changes({ changes }: { changes: Record<string, unknown> | null | undefined }) {
  if (!changes || Object.keys(changes).length === 0) return null;
  return (
    <ul className="changes">
      {Object.entries(changes).map(([field, value]) => (
        <li key={field}>
          <span className="field-name">{field}</span>:{' '}
          {value && typeof value === 'object' && 'before' in value && 'after' in value ? (
            <>
              {show(value.before)} → {show(value.after)}
            </>
          ) : (
            show(value)
          )}
        </li>
      ))}
    </ul>
  );
}
