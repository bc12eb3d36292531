import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Notice, Pager, Reason, When } from '../../components.tsx';
import {
  ConsoleApplicationNamesDocument,
  ConsoleAuditActorsDocument,
  ConsoleUserAuditTrailDocument,
  ConsoleUserLoginHistoryDocument,
  ConsoleViewerDocument,
  type AuditActorType,
  type ConsoleUserAuditTrailQuery,
} from '../../generated/graphql.ts';
import { usePermission } from '../../scopes.ts';

const PAGE_SIZE = 20;

type AuditEvent = NonNullable<ConsoleUserAuditTrailQuery['user']>['auditEvents']['nodes'][number];

function shownRange(cursorCount: number, shown: number, total: number): string {
  if (!shown) return 'None yet.';
  const first = (cursorCount - 1) * PAGE_SIZE + 1;
  return `Showing ${first.toLocaleString()}–${(first + shown - 1).toLocaleString()} of ${total.toLocaleString()}`;
}

export function LoginHistory({ userId }: { userId: string }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error, fetching }] = useQuery({
    query: ConsoleUserLoginHistoryDocument,
    variables: { id: userId, first: PAGE_SIZE, after: cursors[cursors.length - 1] ?? null },
  });
  const page = data?.user?.loginHistory;
  return (
    <>
      {error && <Notice kind="error">{error.message}</Notice>}
      <p className="muted" role="status" id="login-history-caption">
        {page ? shownRange(cursors.length, page.nodes.length, page.totalCount) : 'Loading…'}
      </p>
      {page && page.nodes.length > 0 && (
        <table aria-describedby="login-history-caption" aria-busy={fetching}>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Result</th>
              <th scope="col">Method</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {page.nodes.map((event) => (
              <tr key={event.id} className="login-event">
                <td>
                  <When at={event.createdAt} />
                </td>
                <td>
                  {event.success ? (
                    <span className="badge status-active">Succeeded</span>
                  ) : (
                    <>
                      <span className="badge status-suspended">Failed</span>
                      {event.failureReason && <span className="muted small"> {event.failureReason}</span>}
                    </>
                  )}
                </td>
                <td>{event.method}</td>
                <td>
                  <div>{event.ipAddress ?? 'unknown address'}</div>
                  {event.userAgent && <div className="muted small truncate">{event.userAgent}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && (
        <Pager
          label="Sign-in pages"
          cursors={cursors}
          setCursors={setCursors}
          hasNextPage={page.pageInfo.hasNextPage}
          endCursor={page.pageInfo.endCursor}
        />
      )}
    </>
  );
}

/** The global id of a user from the database id an audit event names its actor by. */
const userGlobalId = (id: string) => btoa(`User:${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Who did something: as audit events name them (`actorType`, `actorId`). */
interface Actor {
  actorType: AuditActorType;
  actorId: string;
}

/**
 * The names of `actors`: the people by name (the administrator as "you"), applications by name
 * when the administrator may read applications (by client id otherwise).
 */
export function useActorNames(actors: readonly Actor[]): (actor: Actor) => string {
  const applications = usePermission('applications:read').allowed;
  const [{ data: apps }] = useQuery({
    query: ConsoleApplicationNamesDocument,
    pause: !applications || !actors.some((actor) => actor.actorType === 'APPLICATION'),
  });
  const ids = useMemo(
    () => [...new Set(actors.filter((a) => a.actorType === 'USER').map((a) => userGlobalId(a.actorId)))].sort(),
    [actors],
  );
  const [{ data: viewer }] = useQuery({ query: ConsoleViewerDocument });
  const [{ data }] = useQuery({ query: ConsoleAuditActorsDocument, variables: { ids }, pause: ids.length === 0 });
  return (actor) => {
    if (actor.actorType === 'SYSTEM') return 'Roster';
    if (actor.actorType === 'APPLICATION') {
      const app = apps?.applications.nodes.find((node) => node.clientId === actor.actorId);
      return app ? `${app.name} (application)` : `Application ${actor.actorId}`;
    }
    const id = userGlobalId(actor.actorId);
    const person = data?.nodes.find((node) => node?.id === id);
    const name = person && 'email' in person ? (person.name ?? person.email ?? 'A user') : 'A deleted user';
    return viewer?.viewer.user?.id === id ? `${name} (you)` : name;
  };
}

const show = (value: unknown): string =>
  value === null || value === undefined ? '—' : typeof value === 'string' ? `“${value}”` : JSON.stringify(value);

/** An event's `changes`: `{ field: { before, after } }` as "field: before → after", anything else as it is. */
function Changes({ changes }: { changes: AuditEvent['changes'] }) {
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

function AuditEvents({ events }: { events: readonly AuditEvent[] }) {
  const actorOf = useActorNames(events);
  return (
    <ol className="audit-events">
      {events.map((event) => (
        <li key={event.id} className="audit-event">
          <div>
            <strong>{actorOf(event)}</strong> · <code>{event.action}</code>
            {event.outcome !== 'SUCCESS' && <span className="tag">{event.outcome.toLowerCase()}</span>} ·{' '}
            <When at={event.createdAt} />
          </div>
          <Changes changes={event.changes} />
        </li>
      ))}
    </ol>
  );
}

/**
 * The audit events about a user newer than `head` (the newest event when the form was opened;
 * null: there was none), or why they cannot be read.
 */
export function ChangesSince({ userId, head }: { userId: string; head: string | null }) {
  const audit = usePermission('audit:read');
  const [{ data, error }] = useQuery({
    query: ConsoleUserAuditTrailDocument,
    variables: { id: userId, first: PAGE_SIZE, after: null },
    requestPolicy: 'network-only',
    pause: !audit.allowed,
  });
  if (!audit.allowed) return <Reason id="conflict-audit-reason">Who changed what is not shown: {audit.reason}</Reason>;
  if (error) return <Notice kind="error">{error.message}</Notice>;
  const nodes = data?.user?.auditEvents.nodes;
  if (!nodes) return <p className="muted">Loading who changed what…</p>;
  const seen = nodes.findIndex((event) => event.id === head);
  const events = seen === -1 ? nodes : nodes.slice(0, seen);
  return events.length ? <AuditEvents events={events} /> : <p className="muted">The audit trail shows no change.</p>;
}

export function AuditTrail({ userId }: { userId: string }) {
  const audit = usePermission('audit:read');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error, fetching }] = useQuery({
    query: ConsoleUserAuditTrailDocument,
    variables: { id: userId, first: PAGE_SIZE, after: cursors[cursors.length - 1] ?? null },
    pause: !audit.allowed,
  });
  if (!audit.allowed) return <Reason id="audit-reason">{audit.reason}</Reason>;
  const page = data?.user?.auditEvents;
  return (
    <>
      {error && <Notice kind="error">{error.message}</Notice>}
      <p className="muted" role="status" id="audit-caption">
        {page ? shownRange(cursors.length, page.nodes.length, page.totalCount) : 'Loading…'}
      </p>
      {page && (
        <div aria-busy={fetching}>
          <AuditEvents events={page.nodes} />
          <Pager
            label="Audit trail pages"
            cursors={cursors}
            setCursors={setCursors}
            hasNextPage={page.pageInfo.hasNextPage}
            endCursor={page.pageInfo.endCursor}
          />
        </div>
      )}
    </>
  );
}
