import { useEffect, useState } from 'react';
import { consoleBase } from './auth.ts';

/** The console's pages, by path below `/console`. */
export type Route =
  | { page: 'users' }
  | { page: 'user'; id: string }
  | { page: 'applications' }
  | { page: 'roles' }
  | { page: 'audit' }
  | { page: 'resources' }
  | { page: 'realm' }
  | { page: 'tenants'; id: string | null }
  | { page: 'analytics' }
  | { page: 'callback' }
  | { page: 'not-found' };

function parseRoute(pathname: string): Route {
  const path = pathname.startsWith(consoleBase) ? pathname.slice(consoleBase.length) : pathname;
  if (path === '' || path === '/' || path === '/users') return { page: 'users' };
  if (path === '/callback') return { page: 'callback' };
  if (path === '/applications') return { page: 'applications' };
  if (path === '/roles') return { page: 'roles' };
  if (path === '/audit') return { page: 'audit' };
  if (path === '/resources') return { page: 'resources' };
  if (path === '/realm') return { page: 'realm' };
  if (path === '/tenants') return { page: 'tenants', id: null };
  if (path === '/analytics') return { page: 'analytics' };
  const user = /^\/users\/([^/]+)$/.exec(path);
  if (user) return { page: 'user', id: decodeURIComponent(user[1]!) };
  const tenant = /^\/tenants\/([^/]+)$/.exec(path);
  if (tenant) return { page: 'tenants', id: decodeURIComponent(tenant[1]!) };
  return { page: 'not-found' };
}

export const hrefOf = (path: string) => `${consoleBase}${path}`;

export function navigate(path: string, replace = false): void {
  const href = path.startsWith(consoleBase) ? path : hrefOf(path);
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
  if (!replace) window.scrollTo(0, 0);
}

export function useLocation(): { route: Route; search: URLSearchParams } {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const changed = () => setVersion((version) => version + 1);
    window.addEventListener('popstate', changed);
    return () => window.removeEventListener('popstate', changed);
  }, []);
  return { route: parseRoute(location.pathname), search: new URLSearchParams(location.search) };
}
