import { useState } from 'react';
import { useQuery } from 'urql';
import { Notice, Pager, Reason, showing, When } from '../../components.tsx';
import { Changes, useAuditNames } from '../../audit.tsx';
import {
  ConsoleUserAuditTrailDocument,
  ConsoleUserLoginHistoryDocument,
  type ConsoleUserAuditTrailQuery,
} from '../../generated/graphql.ts';
import { usePermission } from '../../scopes.ts';

const PAGE_SIZE = 20;

type AuditEvent = NonNullable<ConsoleUserAuditTrailQuery['user']>['auditEvents']['nodes'][number];

/**
 * The range a list's caption shows: "Loading…" while the page asked for is not the one shown (urql
 * keeps the last page's data while the next loads).
 */
function shownRange(cursorCount: number, shown: number, total: number, current: boolean): string {
  if (!current) return 'Loading…';
  if (!shown) return 'None yet.';
  return showing((cursorCount - 1) * PAGE_SIZE + 1, shown, total);
}

export function LoginHistory({ userId }: { userId: string }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, error, fetching, operation }] = useQuery({
    query: ConsoleUserLoginHistoryDocument,
    variables: { id: userId, first: PAGE_SIZE, after },
  });
  const current = operation?.variables.after === after;
  const page = data?.user?.loginHistory;
  return (
    <>
      {error && <Notice kind="error">{error.message}</Notice>}
      <p className="muted" role="status" id="login-history-caption">
        {page ? shownRange(cursors.length, page.nodes.length, page.totalCount, current) : 'Loading…'}
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
          busy={!current}
          cursors={cursors}
          setCursors={setCursors}
          hasNextPage={page.pageInfo.hasNextPage}
          endCursor={page.pageInfo.endCursor}
        />
      )}
    </>
  );
}

function AuditEvents({ events }: { events: readonly AuditEvent[] }) {
  const { actorOf } = useAuditNames(events);
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
  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, error, fetching, operation }] = useQuery({
    query: ConsoleUserAuditTrailDocument,
    variables: { id: userId, first: PAGE_SIZE, after },
    pause: !audit.allowed,
  });
  const current = operation?.variables.after === after;
  if (!audit.allowed) return <Reason id="audit-reason">{audit.reason}</Reason>;
  const page = data?.user?.auditEvents;
  return (
    <>
      {error && <Notice kind="error">{error.message}</Notice>}
      <p className="muted" role="status" id="audit-caption">
        {page ? shownRange(cursors.length, page.nodes.length, page.totalCount, current) : 'Loading…'}
      </p>
      {page && (
        <div aria-busy={fetching}>
          <AuditEvents events={page.nodes} />
          <Pager
            label="Audit trail pages"
            busy={!current}
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
