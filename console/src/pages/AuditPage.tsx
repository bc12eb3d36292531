import { useEffect, useMemo, useState } from 'react';
import { useQuery, type CombinedError } from 'urql';
import { Changes, useAuditNames, userDatabaseId, userGlobalId } from '../audit.tsx';
import {
  auditFilterFieldOf,
  auditFilterOf,
  auditFiltersFromParams,
  instantOfLocalInput,
  localInputOf,
  paramsOfAuditFilters,
  type AuditFilters,
} from '../audit-filters.ts';
import { FieldErrors, Link, Notice, Pager, showing, When } from '../components.tsx';
import {
  ConsoleAuditActionsDocument,
  ConsoleAuditLogDocument,
  type ConsoleAuditEventFragment,
} from '../generated/graphql.ts';
import { useDebounced } from '../hooks.ts';
import { PeopleSearch } from '../people.tsx';
import { usePermission } from '../scopes.ts';
import type { FieldError } from '../user-errors.ts';

const PAGE_SIZE = 25;

/** A user's database id, as audit events name the users who acted. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type AuditEvent = ConsoleAuditEventFragment;

/** What the filter inputs hold; the times as `datetime-local` values (the browser's time zone). */
interface Draft {
  action: string;
  actor: string;
  target: string;
  from: string;
  to: string;
}

const draftOf = (filters: AuditFilters): Draft => ({
  ...filters,
  from: localInputOf(filters.from),
  to: localInputOf(filters.to),
});

const filtersOf = (draft: Draft): AuditFilters => ({
  action: draft.action.trim(),
  actor: draft.actor.trim(),
  target: draft.target.trim(),
  from: instantOfLocalInput(draft.from),
  to: instantOfLocalInput(draft.to),
});

/** The API's refusals of the filter (BAD_USER_INPUT naming a filter field), by the field they name. */
function filterErrors(error: CombinedError | undefined): {
  byField: Map<keyof AuditFilters, FieldError[]>;
  other: string | null;
} {
  const byField = new Map<keyof AuditFilters, FieldError[]>();
  if (!error) return { byField, other: null };
  for (const graphQLError of error.graphQLErrors) {
    const field =
      graphQLError.extensions.code === 'BAD_USER_INPUT' ? auditFilterFieldOf(graphQLError.extensions.argument) : null;
    if (!field) return { byField, other: error.message };
    // The API prefixes the field's path ("filter.before: …"), which the form says by placement.
    const message = graphQLError.message.replace(/^filter\.\w+: /, '');
    byField.set(field, [
      ...(byField.get(field) ?? []),
      { field: [field], code: 'BAD_USER_INPUT', message: message[0]!.toUpperCase() + message.slice(1) },
    ]);
  }
  return { byField, other: error.networkError ? error.message : null };
}

export function AuditPage() {
  const read = usePermission('audit:read');
  if (!read.allowed)
    return (
      <div className="audit-page">
        <div className="page-head">
          <h1>Audit log</h1>
        </div>
        <Notice kind="error">
          {read.reason} The audit log lists who changed what in the realm; ask an administrator for a role with
          audit:read to read it.
        </Notice>
      </div>
    );
  return <AuditLog />;
}

function AuditLog() {
  const [draft, setDraft] = useState<Draft>(() =>
    draftOf(auditFiltersFromParams(new URLSearchParams(location.search))),
  );
  // The cursors of the pages before this one (null: the first page), for Newer.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<string | null>(null);
  const settled = useDebounced(draft, 300);
  const filters = useMemo(() => filtersOf(settled), [settled]);
  const filter = useMemo(() => auditFilterOf(filters), [filters]);

  useEffect(() => {
    const query = paramsOfAuditFilters(filters).toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
    setCursors([null]);
  }, [filters]);

  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, error, fetching, operation }] = useQuery({
    query: ConsoleAuditLogDocument,
    variables: { first: PAGE_SIZE, after, filter },
  });
  // While another page or filter loads, the one shown is the previous one: not described as the new one.
  const current =
    operation?.variables.after === after && JSON.stringify(operation.variables.filter) === JSON.stringify(filter);
  const [{ data: catalogue }] = useQuery({ query: ConsoleAuditActionsDocument });
  const page = data?.auditEvents;
  const events = useMemo(() => page?.nodes ?? [], [page]);
  // The users events changed, and those the actor and target filters name: to name them.
  const targetUsers = useMemo(
    () => [
      ...new Set([
        ...events.flatMap((e) => (e.targetType === 'User' && e.targetGlobalId ? [e.targetGlobalId] : [])),
        ...(userDatabaseId(filters.target) ? [filters.target] : []),
        ...(UUID.test(filters.actor) ? [userGlobalId(filters.actor)] : []),
      ]),
    ],
    [events, filters.target, filters.actor],
  );
  const names = useAuditNames(events, targetUsers);
  const meaning = useMemo(
    () => new Map(catalogue?.auditActions.map((action) => [action.name, action.description])),
    [catalogue],
  );
  const refused = filterErrors(error);
  const update = (patch: Partial<Draft>) => setDraft((current) => ({ ...current, ...patch }));
  const first = (cursors.length - 1) * PAGE_SIZE + 1;
  const settling = fetching || !current || draft !== settled;

  return (
    <div className="audit-page">
      <div className="page-head">
        <h1>Audit log</h1>
        <p className="muted" aria-live="polite">
          {page ? `${page.totalCount.toLocaleString()} ${page.totalCount === 1 ? 'event' : 'events'}` : ' '}
        </p>
      </div>
      <div className="users-layout">
        <AuditFilterPanel
          draft={draft}
          update={update}
          errors={refused.byField}
          actions={catalogue?.auditActions ?? null}
          actorEvent={events.find((e) => e.actorId === filters.actor)}
          names={names}
          onClear={() => setDraft({ action: '', actor: '', target: '', from: '', to: '' })}
        />
        <section className="card list" aria-labelledby="audit-events-title">
          <div className="list-head">
            <h2 id="audit-events-title">Events, newest first</h2>
            <p className="muted" role="status" id="audit-range">
              {refused.byField.size
                ? 'Correct the filter to see events.'
                : page && current
                  ? page.nodes.length
                    ? showing(first, page.nodes.length, page.totalCount)
                    : 'No event matches.'
                  : 'Loading…'}
            </p>
          </div>
          {refused.other && <Notice kind="error">{refused.other}</Notice>}
          {page && !refused.byField.size && (
            <table className="audit-table" aria-describedby="audit-range" aria-busy={settling}>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">
                    <span className="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              {page.nodes.map((event) => (
                <EventRows
                  key={event.id}
                  event={event}
                  names={names}
                  meaning={meaning.get(event.action) ?? null}
                  open={open === event.id}
                  onToggle={() => setOpen(open === event.id ? null : event.id)}
                  onFilter={(patch) => {
                    setOpen(null);
                    update(patch);
                  }}
                />
              ))}
            </table>
          )}
          {page && !refused.byField.size && (
            <Pager
              label="Audit log pages"
              cursors={cursors}
              setCursors={setCursors}
              hasNextPage={page.pageInfo.hasNextPage}
              endCursor={page.pageInfo.endCursor}
              busy={!current}
            />
          )}
        </section>
      </div>
    </div>
  );
}

type Names = ReturnType<typeof useAuditNames>;

function AuditFilterPanel({
  draft,
  update,
  errors,
  actions,
  actorEvent,
  names,
  onClear,
}: {
  draft: Draft;
  update: (patch: Partial<Draft>) => void;
  errors: ReadonlyMap<keyof AuditFilters, FieldError[]>;
  actions: readonly { name: string; description: string }[] | null;
  /** An event of the actor the filter names, to name them. */
  actorEvent: AuditEvent | undefined;
  names: Names;
  onClear: () => void;
}) {
  const groups = useMemo(() => {
    const byNoun = new Map<string, { name: string; description: string }[]>();
    for (const action of actions ?? []) {
      const noun = action.name.split('.')[0]!;
      byNoun.set(noun, [...(byNoun.get(noun) ?? []), action]);
    }
    return [...byNoun.entries()];
  }, [actions]);
  const known =
    !actions || draft.action === '' || draft.action.endsWith('.*')
      ? true
      : actions.some((action) => action.name === draft.action);
  const chosen = actions?.find((action) => action.name === draft.action);
  const targetPerson = userDatabaseId(draft.target.trim()) ? names.userOf(draft.target.trim()) : null;
  const targetName = targetPerson?.name ? `${targetPerson.name}${targetPerson.you ? ' (you)' : ''}` : null;
  const described = (field: keyof AuditFilters, hint?: string) =>
    [errors.has(field) ? `audit-${field}-errors` : null, hint ?? null].filter(Boolean).join(' ') || undefined;

  return (
    <aside className="card filters" aria-label="Filters">
      <label htmlFor="audit-action">Action</label>
      <select
        id="audit-action"
        value={draft.action}
        onChange={(event) => update({ action: event.target.value })}
        aria-invalid={errors.has('action')}
        aria-describedby={described('action', 'audit-action-hint')}
      >
        <option value="">Any action</option>
        {!known && <option value={draft.action}>{draft.action}</option>}
        {groups.map(([noun, list]) => (
          <optgroup key={noun} label={noun}>
            <option value={`${noun}.*`}>Every {noun} action</option>
            {list.map((action) => (
              <option key={action.name} value={action.name}>
                {action.name}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      <FieldErrors id="audit-action-errors" errors={errors.get('action') ?? []} />
      <p className="hint" id="audit-action-hint">
        {chosen
          ? chosen.description.replace(/`/g, '')
          : draft.action.endsWith('.*')
            ? `Every action starting with ${draft.action.slice(0, -1)}`
            : 'Pick one action, or every action of a kind of object.'}
      </p>

      <PersonFinder
        onActor={(userId) => update({ actor: userDatabaseId(userId) ?? userId })}
        onTarget={(userId) => update({ target: userId })}
      />

      <label htmlFor="audit-actor">Actor</label>
      <input
        id="audit-actor"
        value={draft.actor}
        onChange={(event) => update({ actor: event.target.value })}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={errors.has('actor')}
        aria-describedby={described('actor', 'audit-actor-hint')}
      />
      <FieldErrors id="audit-actor-errors" errors={errors.get('actor') ?? []} />
      <p className="hint" id="audit-actor-hint">
        {actorEvent && draft.actor.trim() === actorEvent.actorId
          ? `Events by ${names.actorOf(actorEvent)}.`
          : UUID.test(draft.actor.trim()) && names.userOf(userGlobalId(draft.actor.trim())).name
            ? `Events by ${names.actorOf({ actorType: 'USER', actorId: draft.actor.trim() })}.`
            : 'A client id, a user’s id or system; or choose “Only this actor” in an event’s details.'}
      </p>

      <label htmlFor="audit-target">Target</label>
      <input
        id="audit-target"
        value={draft.target}
        onChange={(event) => update({ target: event.target.value })}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={errors.has('target')}
        aria-describedby={described('target', 'audit-target-hint')}
      />
      <FieldErrors id="audit-target-errors" errors={errors.get('target') ?? []} />
      <p className="hint" id="audit-target-hint">
        {targetName
          ? `Events that changed ${targetName}.`
          : 'The object’s global id; or choose “Only this target” in an event’s details.'}
      </p>

      <label htmlFor="audit-from">From</label>
      <input
        id="audit-from"
        type="datetime-local"
        value={draft.from}
        onChange={(event) => update({ from: event.target.value })}
        aria-invalid={errors.has('from')}
        aria-describedby={described('from')}
      />
      <FieldErrors id="audit-from-errors" errors={errors.get('from') ?? []} />

      <label htmlFor="audit-to">To (not included)</label>
      <input
        id="audit-to"
        type="datetime-local"
        value={draft.to}
        onChange={(event) => update({ to: event.target.value })}
        aria-invalid={errors.has('to')}
        aria-describedby={described('to', 'audit-time-hint')}
      />
      <FieldErrors id="audit-to-errors" errors={errors.get('to') ?? []} />
      <p className="hint" id="audit-time-hint">
        Times are in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}).
      </p>

      <button type="button" className="button" onClick={onClear}>
        Clear filters
      </button>
    </aside>
  );
}

/**
 * Finds people by name, email or username (deleted ones too) for the actor and target filters,
 * which take ids; shown to administrators who may read users.
 */
function PersonFinder({
  onActor,
  onTarget,
}: {
  onActor: (userId: string) => void;
  onTarget: (userId: string) => void;
}) {
  if (!usePermission('users:read').allowed) return null;
  return (
    <PeopleSearch
      id="audit-person"
      className="person-finder"
      label="Find a person"
      placeholder="Name, email or username"
      idleHint="Then show the events they did or that changed them."
      includeDeleted
      actions={(person, name, clear) => (
        <>
          <button
            type="button"
            className="button small"
            aria-label={`Events by ${name}`}
            onClick={() => {
              onActor(person.id);
              clear();
            }}
          >
            By them
          </button>
          <button
            type="button"
            className="button small"
            aria-label={`Events that changed ${name}`}
            onClick={() => {
              onTarget(person.id);
              clear();
            }}
          >
            About them
          </button>
        </>
      )}
    />
  );
}

/** An event's row, and its details below it when open. */
function EventRows({
  event,
  names,
  meaning,
  open,
  onToggle,
  onFilter,
}: {
  event: AuditEvent;
  names: Names;
  meaning: string | null;
  open: boolean;
  onToggle: () => void;
  onFilter: (patch: Partial<Draft>) => void;
}) {
  const slug = `event-${event.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const actor = names.actorOf(event);
  return (
    <tbody className="audit-row" data-action={event.action}>
      <tr>
        <td className="nowrap">
          <When at={event.createdAt} seconds />
        </td>
        <td>
          {event.actorType === 'USER' && names.userOf(userGlobalId(event.actorId)).name ? (
            <Link to={`/users/${encodeURIComponent(userGlobalId(event.actorId))}`}>{actor}</Link>
          ) : (
            actor
          )}
        </td>
        <td className="nowrap">
          <code>{event.action}</code>
          {event.outcome === 'DENIED' && <span className="badge status-suspended outcome">Denied</span>}
        </td>
        <td>
          <Target event={event} names={names} />
        </td>
        <td className="actions">
          <button
            type="button"
            className="button small"
            aria-expanded={open}
            aria-controls={`${slug}-details`}
            aria-label={`Details of ${event.action} by ${actor}`}
            onClick={onToggle}
          >
            {open ? 'Hide' : 'Details'}
          </button>
        </td>
      </tr>
      <tr id={`${slug}-details`} className="audit-details" hidden={!open}>
        <td colSpan={5}>
          {open && (
            <dl className="facts">
              <div>
                <dt>What happened</dt>
                <dd>
                  <code>{event.action}</code>
                  {meaning && <span className="muted"> — {meaning.replace(/`/g, '')}</span>}
                </dd>
              </div>
              <div>
                <dt>Outcome</dt>
                <dd>{event.outcome === 'DENIED' ? 'Refused' : 'Done'}</dd>
              </div>
              <div>
                <dt>When</dt>
                <dd>
                  <When at={event.createdAt} seconds /> <span className="muted">({event.createdAt})</span>
                </dd>
              </div>
              <div>
                <dt>Actor</dt>
                <dd>
                  {actor} <code className="muted small">{event.actorId}</code>{' '}
                  <button type="button" className="button small" onClick={() => onFilter({ actor: event.actorId })}>
                    Only this actor
                  </button>
                </dd>
              </div>
              <div>
                <dt>Target</dt>
                <dd>
                  <Target event={event} names={names} />{' '}
                  {event.targetGlobalId && (
                    <>
                      <code className="muted small">{event.targetGlobalId}</code>{' '}
                      <button
                        type="button"
                        className="button small"
                        onClick={() => onFilter({ target: event.targetGlobalId ?? '' })}
                      >
                        Only this target
                      </button>
                    </>
                  )}
                </dd>
              </div>
              <div>
                <dt>Changes</dt>
                <dd>
                  {event.changes && Object.keys(event.changes).length ? (
                    <Changes changes={event.changes} />
                  ) : (
                    <span className="muted">None recorded</span>
                  )}
                </dd>
              </div>
              <div>
                <dt>Request</dt>
                <dd>
                  {event.requestId ? <code>{event.requestId}</code> : <span className="muted">—</span>}
                  {event.ipAddress && <span className="muted"> from {event.ipAddress}</span>}
                </dd>
              </div>
            </dl>
          )}
        </td>
      </tr>
    </tbody>
  );
}

/** What an event changed: a user by name, linked to their page; other objects by type. */
function Target({ event, names }: { event: AuditEvent; names: Names }) {
  const users = usePermission('users:read');
  if (event.targetType === 'User' && event.targetGlobalId) {
    const user = names.userOf(event.targetGlobalId);
    if (!users.allowed) return <span>A user</span>;
    if (!user.name) return <span className="muted">A deleted user</span>;
    return (
      <Link to={`/users/${encodeURIComponent(event.targetGlobalId)}`} className="target-user">
        {user.name}
        {user.you ? ' (you)' : ''}
      </Link>
    );
  }
  if (event.targetType === 'Operation') {
    const operation = event.changes?.operation;
    return <span>{typeof operation === 'string' ? `Operation ${operation}` : 'An operation'}</span>;
  }
  return <span>{event.targetType}</span>;
}
