import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { completeSignIn, currentSession, signOut, SignInError, type Session } from './auth.ts';
import { createClient } from './client.ts';
import { ConsoleViewerDocument } from './generated/graphql.ts';
import { hrefOf, navigate, useLocation } from './router.ts';
import { ScopesContext } from './scopes.ts';
import { ApplicationsPage } from './pages/ApplicationsPage.tsx';
import { RolesPage } from './pages/RolesPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';
import { UsersPage } from './pages/UsersPage.tsx';
import { Notice } from './components.tsx';

// One user's page is a chunk of its own, loaded when first opened: the Users screen loads without it.
// So are the other screens but Applications and Roles.
const UserPage = lazy(async () => ({ default: (await import('./pages/UserPage.tsx')).UserPage }));
const AnalyticsPage = lazy(async () => ({ default: (await import('./pages/AnalyticsPage.tsx')).AnalyticsPage }));
const TenantsPage = lazy(async () => ({ default: (await import('./pages/TenantsPage.tsx')).TenantsPage }));
const ResourcesPage = lazy(async () => ({ default: (await import('./pages/ResourcesPage.tsx')).ResourcesPage }));
const RealmPage = lazy(async () => ({ default: (await import('./pages/RealmPage.tsx')).RealmPage }));
const AuditPage = lazy(async () => ({ default: (await import('./pages/AuditPage.tsx')).AuditPage }));

const LOADING = (
  <p className="loading" role="status">
    Loading…
  </p>
);

export function App() {
  const { route } = useLocation();
  const [session, setSession] = useState<Session | null>(currentSession);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const ended = () => {
      setSession(null);
      setProblem('Your sign-in has ended. Sign in again.');
    };
    window.addEventListener('roster-console:signed-out', ended);
    return () => window.removeEventListener('roster-console:signed-out', ended);
  }, []);

  useEffect(() => {
    if (route.page !== 'callback') return;
    let active = true;
    completeSignIn(new URL(location.href)).then(
      (returnTo) => {
        if (!active) return;
        setSession(currentSession());
        navigate(returnTo, true);
      },
      (error: unknown) => {
        if (!active) return;
        setProblem(error instanceof SignInError ? error.message : 'The sign-in could not be completed.');
        navigate('/', true);
      },
    );
    return () => {
      active = false;
    };
  }, [route.page]);

  if (route.page === 'callback')
    return (
      <p className="loading" role="status">
        Signing you in…
      </p>
    );
  if (!session) return <SignInPage problem={problem} />;
  return <SignedIn session={session} />;
}

function SignedIn({ session }: { session: Session }) {
  const client = useMemo(() => createClient(), [session.realm, session.clientId]);
  return (
    <Provider value={client}>
      <Shell session={session} />
    </Provider>
  );
}

function Shell({ session }: { session: Session }) {
  const { route } = useLocation();
  const [{ data, error }] = useQuery({ query: ConsoleViewerDocument });
  const scopes = useMemo(() => new Set(data?.viewer.scopes ?? []), [data]);
  const me = data?.viewer.user;

  return (
    <ScopesContext.Provider value={scopes}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            R
          </span>
          <span>Roster console</span>
          <span className="realm" title="Realm">
            {session.realm}
          </span>
        </div>
        <nav aria-label="Sections">
          <a
            href={hrefOf('/')}
            aria-current={route.page === 'users' || route.page === 'user' ? 'page' : undefined}
            onClick={(event) => {
              event.preventDefault();
              navigate('/');
            }}
          >
            Users
          </a>
          <NavLink to="/applications" current={route.page === 'applications'}>
            Applications
          </NavLink>
          <NavLink to="/roles" current={route.page === 'roles'}>
            Roles
          </NavLink>
          <NavLink to="/resources" current={route.page === 'resources'}>
            API resources
          </NavLink>
          <NavLink to="/tenants" current={route.page === 'tenants'}>
            Tenants
          </NavLink>
          <NavLink to="/audit" current={route.page === 'audit'}>
            Audit log
          </NavLink>
          <NavLink to="/realm" current={route.page === 'realm'}>
            Realm
          </NavLink>
          <NavLink to="/analytics" current={route.page === 'analytics'}>
            Analytics
          </NavLink>
        </nav>
        <div className="me">
          {me && <span className="me-name">{me.name ?? me.email}</span>}
          <button type="button" className="button subtle" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {/* With data, an error is a field the scopes do not allow (the viewer's own user needs users:read), said below in words. */}
        {error && !data && <Notice kind="error">{error.message}</Notice>}
        {data &&
          !scopes.has('users:read') &&
          (route.page === 'users' || route.page === 'user' || route.page === 'analytics') && (
            <Notice kind="error">
              Your roles do not grant the users:read scope, so there is nothing the console can show you here. Ask an
              administrator of realm “{session.realm}” for a role that does.
            </Notice>
          )}
        {data && scopes.has('users:read') && route.page === 'users' && <UsersPage />}
        {data && scopes.has('users:read') && route.page === 'user' && (
          <Suspense fallback={LOADING}>
            <UserPage id={route.id} />
          </Suspense>
        )}
        {data && scopes.has('users:read') && route.page === 'analytics' && (
          <Suspense fallback={LOADING}>
            <AnalyticsPage />
          </Suspense>
        )}
        {data && route.page === 'applications' && <ApplicationsPage />}
        {data && route.page === 'roles' && <RolesPage />}
        {data && route.page === 'resources' && (
          <Suspense fallback={LOADING}>
            <ResourcesPage />
          </Suspense>
        )}
        {data && route.page === 'tenants' && (
          <Suspense fallback={LOADING}>
            <TenantsPage id={route.id} />
          </Suspense>
        )}
        {data && route.page === 'realm' && (
          <Suspense fallback={LOADING}>
            <RealmPage />
          </Suspense>
        )}
        {data && route.page === 'audit' && (
          <Suspense fallback={LOADING}>
            <AuditPage />
          </Suspense>
        )}
        {route.page === 'not-found' && <Notice kind="error">There is no such page in the console.</Notice>}
      </main>
    </ScopesContext.Provider>
  );
}

function NavLink({ to, current, children }: { to: string; current: boolean; children: string }) {
  return (
    <a
      href={hrefOf(to)}
      aria-current={current ? 'page' : undefined}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
