import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { FieldErrors, Link, Notice, Reason, Section, StatusBadge, When } from '../components.tsx';
import { errorsFor, type FieldError } from '../user-errors.ts';
import {
  ConsoleRevokeSessionDocument,
  ConsoleRevokeUserSessionsDocument,
  ConsoleSuspendUserDocument,
  ConsoleUnsuspendUserDocument,
  ConsoleUserDocument,
  type ConsoleUserQuery,
} from '../generated/graphql.ts';
import { navigate, useLocation } from '../router.ts';
import { usePermission } from '../scopes.ts';
import { Deletion, Password } from './user/account.tsx';
import { AuditTrail, LoginHistory } from './user/history.tsx';
import { AdminNotes } from './user/notes.tsx';
import { Profile } from './user/profile.tsx';
import { Roles } from './user/roles.tsx';
import { Identities, MfaFactors } from './user/security.tsx';
import { usersListPath } from './UsersPage.tsx';

type User = NonNullable<ConsoleUserQuery['user']>;

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'security', label: 'Second factors and identities' },
  { id: 'sign-ins', label: 'Sign-ins' },
  { id: 'audit', label: 'Audit trail' },
] as const;
type Tab = (typeof TABS)[number]['id'];

export function UserPage({ id }: { id: string }) {
  const roles = usePermission('roles:read').allowed;
  const tenants = usePermission('tenants:read').allowed;
  const applications = usePermission('applications:read').allowed;
  const audit = usePermission('audit:read').allowed;
  const { search } = useLocation();
  const tab: Tab = TABS.find((candidate) => candidate.id === search.get('tab'))?.id ?? 'overview';
  const [erased, setErased] = useState<string | null>(null);
  const [{ data, error, fetching }, reexecute] = useQuery({
    query: ConsoleUserDocument,
    variables: { id, roles, tenants, applications, audit },
  });
  const user = data?.user;
  const refresh = () => reexecute({ requestPolicy: 'network-only' });

  function select(next: Tab, focus = false) {
    navigate(`/users/${encodeURIComponent(id)}${next === 'overview' ? '' : `?tab=${next}`}`, true);
    if (focus) document.getElementById(`tab-${next}`)?.focus();
  }

  function onTabKey(event: KeyboardEvent<HTMLButtonElement>) {
    const index = TABS.findIndex((candidate) => candidate.id === tab);
    const moves: Record<string, number> = {
      ArrowRight: index + 1,
      ArrowLeft: index - 1,
      Home: 0,
      End: TABS.length - 1,
    };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    select(TABS[(to + TABS.length) % TABS.length]!.id, true);
  }

  if (erased)
    return (
      <div className="user-page">
        <Notice kind="success">{erased} was erased for good.</Notice>
        <p>
          <Link to={usersListPath()}>← All users</Link>
        </p>
      </div>
    );

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
          <div role="tablist" aria-label="About this user" className="tabs">
            {TABS.map((candidate) => (
              <button
                key={candidate.id}
                type="button"
                role="tab"
                id={`tab-${candidate.id}`}
                aria-selected={candidate.id === tab}
                aria-controls={`panel-${candidate.id}`}
                tabIndex={candidate.id === tab ? 0 : -1}
                onClick={() => select(candidate.id)}
                onKeyDown={onTabKey}
              >
                {candidate.label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0}>
            {tab === 'overview' && (
              <div className="user-grid">
                <Profile user={user} refresh={refresh} />
                <div className="column">
                  <Status user={user} />
                  {roles && <Roles user={user} showTenant={tenants} />}
                  <Password user={user} />
                  <AdminNotes user={user} />
                </div>
                <Sessions user={user} showApplication={applications} />
                <Deletion
                  user={user}
                  refresh={refresh}
                  onErased={() => setErased(user.name ?? user.username ?? user.email ?? user.id)}
                />
              </div>
            )}
            {tab === 'security' && (
              <div className="user-grid">
                <MfaFactors user={user} />
                <Identities user={user} />
              </div>
            )}
            {tab === 'sign-ins' && (
              <Section title="Sign-in attempts" id="sign-ins-title">
                <LoginHistory userId={user.id} />
              </Section>
            )}
            {tab === 'audit' && (
              <Section title="Audit trail" id="audit-title">
                <AuditTrail userId={user.id} />
              </Section>
            )}
          </div>
        </>
      )}
    </div>
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
  const why =
    write.reason ?? (user.status === 'DELETED' ? 'A deleted user cannot be suspended; restore them first.' : null);

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
              disabled={why !== null}
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
            disabled={why !== null || busy}
            aria-describedby={why ? 'access-reason' : undefined}
          >
            {isSuspended ? 'Unsuspend user' : 'Suspend user'}
          </button>
        </div>
        {why && <Reason id="access-reason">{why}</Reason>}
      </form>
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
    <Section title="Sessions" id="sessions-title" wide>
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
