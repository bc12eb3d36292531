import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { FieldErrors, Link, Notice, Reason, StatusBadge, When } from '../components.tsx';
import { errorsFor, type FieldError } from '../user-errors.ts';
import {
  ConsoleRevokeSessionDocument,
  ConsoleRevokeUserSessionsDocument,
  ConsoleSuspendUserDocument,
  ConsoleUnsuspendUserDocument,
  ConsoleUserDocument,
  type ConsoleUserQuery,
} from '../generated/graphql.ts';
import { usePermission } from '../scopes.ts';
import { usersListPath } from './UsersPage.tsx';

type User = NonNullable<ConsoleUserQuery['user']>;

export function UserPage({ id }: { id: string }) {
  const roles = usePermission('roles:read').allowed;
  const tenants = usePermission('tenants:read').allowed;
  const applications = usePermission('applications:read').allowed;
  const [{ data, error, fetching }] = useQuery({
    query: ConsoleUserDocument,
    variables: { id, roles, tenants, applications },
  });
  const user = data?.user;

  return (
    <div className="user-page">
      <p className="crumbs">
        <Link to={usersListPath()}>← All users</Link>
      </p>
      {error && <Notice kind="error">{error.message}</Notice>}
      {!user && !fetching && !error && <Notice kind="error">There is no such user in this realm.</Notice>}
      {user && (
        <>
          <div className="page-head user-head">
            <div>
              <div className="title-line">
                <h1>{user.name ?? user.username ?? user.email ?? 'Unnamed user'}</h1>
                <StatusBadge status={user.status} />
              </div>
              <p className="muted">{user.email ?? user.phone ?? user.username}</p>
            </div>
          </div>
          <div className="user-grid">
            <Profile user={user} />
            <div className="column">
              <Status user={user} />
              {roles && <Roles user={user} showTenant={tenants} />}
            </div>
            <Sessions user={user} showApplication={applications} />
          </div>
        </>
      )}
    </div>
  );
}

function Section({ title, children, id }: { title: string; children: ReactNode; id: string }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Profile({ user }: { user: User }) {
  const rows: [string, ReactNode][] = [
    ['Email', user.email ? `${user.email}${user.emailVerified ? ' (verified)' : ' (not verified)'}` : '—'],
    ['Username', user.username ?? '—'],
    ['Phone', user.phone ? `${user.phone}${user.phoneVerified ? ' (verified)' : ''}` : '—'],
    ['Locale', user.locale ?? '—'],
    ['Time zone', user.timezone ?? '—'],
    ['Country', user.country ?? '—'],
    ['Password', user.hasPassword ? 'Set' : 'None'],
    [
      'Second factors',
      user.mfaFactors.length ? user.mfaFactors.map((factor) => factor.name ?? factor.type).join(', ') : 'None',
    ],
    ['Locked', user.isLocked ? <When at={user.lockedUntil} never="Yes" /> : 'No'],
    ['Created', <When at={user.createdAt} />],
    ['Last sign-in', <When at={user.lastLoginAt} never="Never" />],
    ['Last active', <When at={user.lastActiveAt} never="Never" />],
  ];
  return (
    <Section title="Profile" id="profile-title">
      <dl className="facts">
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </Section>
  );
}

const SUSPEND_FIELDS = ['reason'];

function Status({ user }: { user: User }) {
  const write = usePermission('users:write');
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [suspended, suspend] = useMutation(ConsoleSuspendUserDocument);
  const [unsuspended, unsuspend] = useMutation(ConsoleUnsuspendUserDocument);
  const busy = suspended.fetching || unsuspended.fetching;
  const isSuspended = user.status === 'SUSPENDED';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const result = isSuspended
      ? (await unsuspend({ id: user.id })).data?.unsuspendUser
      : (await suspend({ id: user.id, reason: reason.trim() || null })).data?.suspendUser;
    setErrors(result?.userErrors ?? []);
    if (result?.user) {
      setDone(isSuspended ? 'The user may sign in again.' : 'The user is suspended and their sessions were ended.');
      setReason('');
    }
  }
  const failure = suspended.error ?? unsuspended.error;
  const general = errorsFor(errors, null, SUSPEND_FIELDS);

  return (
    <Section title="Access" id="access-title">
      {isSuspended ? (
        <p>Suspended{user.suspendedReason ? <>: “{user.suspendedReason}”</> : '.'} A suspended user cannot sign in.</p>
      ) : (
        <p>Suspending a user stops their sign-ins and ends their sessions at once, until they are unsuspended.</p>
      )}
      {failure && <Notice kind="error">{failure.message}</Notice>}
      <FieldErrors id="access-errors" errors={general} />
      {done && <Notice kind="success">{done}</Notice>}
      <form onSubmit={(event) => void submit(event)} className="stack">
        {!isSuspended && (
          <>
            <label htmlFor="suspend-reason">Reason (optional)</label>
            <input
              id="suspend-reason"
              value={reason}
              onChange={(event) => setReason(event.target.value)}
              disabled={!write.allowed}
              aria-invalid={errorsFor(errors, 'reason').length > 0}
              aria-describedby="suspend-reason-errors"
              maxLength={600}
            />
            <FieldErrors id="suspend-reason-errors" errors={errorsFor(errors, 'reason')} />
          </>
        )}
        <div>
          <button
            type="submit"
            className={isSuspended ? 'button primary' : 'button danger'}
            disabled={!write.allowed || busy}
            aria-describedby={write.allowed ? undefined : 'access-reason'}
          >
            {isSuspended ? 'Unsuspend user' : 'Suspend user'}
          </button>
        </div>
        {!write.allowed && <Reason id="access-reason">{write.reason}</Reason>}
      </form>
    </Section>
  );
}

function Roles({ user, showTenant }: { user: User; showTenant: boolean }) {
  const assignments = user.roleAssignments ?? [];
  return (
    <Section title="Roles" id="roles-title">
      {assignments.length === 0 ? (
        <p className="muted">No roles.</p>
      ) : (
        <ul className="plain">
          {assignments.map((assignment) => (
            <li key={`${assignment.role.id}:${assignment.tenant?.id ?? ''}`}>
              <strong>{assignment.role.name}</strong>
              {showTenant && (
                <span className="muted"> · {assignment.tenant ? assignment.tenant.name : 'whole realm'}</span>
              )}
              {assignment.role.description && <div className="muted small">{assignment.role.description}</div>}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function Sessions({ user, showApplication }: { user: User; showApplication: boolean }) {
  const write = usePermission('users:write');
  const [revoked, revoke] = useMutation(ConsoleRevokeSessionDocument);
  const [revokedAll, revokeAll] = useMutation(ConsoleRevokeUserSessionsDocument);
  const [errors, setErrors] = useState<Record<string, readonly FieldError[]>>({});
  const [allErrors, setAllErrors] = useState<readonly FieldError[]>([]);
  const [gone, setGone] = useState<ReadonlySet<string>>(new Set());
  const sessions = user.sessions.nodes.filter((session) => !gone.has(session.id));
  const busy = revoked.fetching || revokedAll.fetching;

  async function endAll() {
    const result = (await revokeAll({ id: user.id })).data?.revokeUserSessions;
    setAllErrors(result?.userErrors ?? []);
    if (result && result.userErrors.length === 0) {
      setGone((current) => new Set([...current, ...user.sessions.nodes.map((session) => session.id)]));
    }
  }

  async function end(sessionId: string) {
    const result = (await revoke({ sessionId })).data?.revokeSession;
    setErrors((current) => ({ ...current, [sessionId]: result?.userErrors ?? [] }));
    if (result && result.userErrors.length === 0) setGone((current) => new Set([...current, sessionId]));
  }

  return (
    <Section title="Sessions" id="sessions-title">
      {(revoked.error ?? revokedAll.error) && (
        <Notice kind="error">{(revoked.error ?? revokedAll.error)!.message}</Notice>
      )}
      <FieldErrors id="sessions-errors" errors={allErrors} />
      {sessions.length === 0 ? (
        <p className="muted">No active sessions.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Started</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <tr key={session.id}>
                <td>
                  <div>{session.device ?? session.userAgent ?? 'Unknown device'}</div>
                  <div className="muted small">
                    {session.ipAddress ?? 'unknown address'}
                    {showApplication && session.application ? ` · ${session.application.name}` : ''}
                  </div>
                </td>
                <td>
                  <When at={session.createdAt} />
                </td>
                <td>
                  <When at={session.lastActiveAt} />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="button small"
                    disabled={!write.allowed || busy}
                    title={write.reason ?? undefined}
                    aria-describedby={errors[session.id]?.length ? `session-${session.id}-errors` : undefined}
                    onClick={() => void end(session.id)}
                  >
                    Revoke
                  </button>
                  <FieldErrors id={`session-${session.id}-errors`} errors={errors[session.id] ?? []} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {sessions.length > 1 && (
        <div className="section-actions">
          <button
            type="button"
            className="button"
            disabled={!write.allowed || busy}
            aria-describedby={write.allowed ? undefined : 'sessions-reason'}
            onClick={() => void endAll()}
          >
            Revoke all sessions
          </button>
        </div>
      )}
      {!write.allowed && sessions.length > 0 && <Reason id="sessions-reason">{write.reason}</Reason>}
    </Section>
  );
}
