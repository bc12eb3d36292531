import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link, Notice, STATUS_LABELS, StatusBadge, When } from '../components.tsx';
import { ConsoleUserFiltersDocument, ConsoleUsersDocument } from '../generated/graphql.ts';
import {
  EMPTY_FILTERS,
  filtersFromParams,
  paramsOfFilters,
  SORTS,
  userFilterOf,
  type Filters,
  type Tristate,
} from '../filters.ts';
import { useDebounced } from '../hooks.ts';
import { usePermission } from '../scopes.ts';

const PAGE_SIZE = 25;

/** Where the list's filters are kept for the way back from a user's page. */
const LIST_QUERY = 'roster-console:users-query';

/** The list as it was last filtered in this tab. */
export function usersListPath(): string {
  const query = sessionStorage.getItem(LIST_QUERY);
  return query ? `/?${query}` : '/';
}

export function UsersPage() {
  const [filters, setFilters] = useState<Filters>(() => filtersFromParams(new URLSearchParams(location.search)));
  // The cursors of the pages before this one (null: the first page), for Previous.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const canReadRoles = usePermission('roles:read').allowed;
  const search = useDebounced(filters.search, 250);
  const settled = useMemo(() => ({ ...filters, search }), [filters, search]);
  const filter = useMemo(() => userFilterOf(settled), [settled]);
  const after = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    const query = paramsOfFilters(settled).toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
    sessionStorage.setItem(LIST_QUERY, query);
  }, [settled]);
  useEffect(() => setCursors([null]), [filter, settled.sort]);

  const [users] = useQuery({
    query: ConsoleUsersDocument,
    variables: { first: PAGE_SIZE, after, filter, orderBy: SORTS[settled.sort]!.order },
  });
  const countFilter = useMemo(() => userFilterOf(settled, false), [settled]);
  const [facets] = useQuery({
    query: ConsoleUserFiltersDocument,
    variables: { filter: countFilter, roles: canReadRoles },
  });

  const update = (patch: Partial<Filters>) => setFilters((current) => ({ ...current, ...patch }));
  const counts = new Map(facets.data?.userStats.byStatus.map((row) => [row.status, row.count]));
  const page = users.data?.users;
  const first = (cursors.length - 1) * PAGE_SIZE + 1;
  const searching = users.fetching || filters.search !== search;

  return (
    <div className="users-page">
      <div className="page-head">
        <h1>Users</h1>
        <p className="muted" aria-live="polite">
          {page ? `${page.totalCount.toLocaleString()} ${page.totalCount === 1 ? 'user' : 'users'}` : ' '}
        </p>
      </div>
      <div className="users-layout">
        <aside className="card filters" aria-label="Filters">
          <label htmlFor="user-search">Search users</label>
          <input
            id="user-search"
            type="search"
            value={filters.search}
            placeholder="Name, email, username, phone…"
            onChange={(event) => update({ search: event.target.value })}
            autoComplete="off"
            spellCheck={false}
            maxLength={200}
          />
          <p className="hint">Typos in names are forgiven.</p>

          <fieldset>
            <legend>Status</legend>
            {(facets.data?.userFilterValues.statuses ?? []).map((status) => (
              <label key={status} className="check">
                <input
                  type="checkbox"
                  checked={filters.statuses.includes(status)}
                  onChange={(event) =>
                    update({
                      statuses: event.target.checked
                        ? [...filters.statuses, status]
                        : filters.statuses.filter((s) => s !== status),
                    })
                  }
                />
                <span>{STATUS_LABELS[status]}</span>
                <span className="count">{(counts.get(status) ?? 0).toLocaleString()}</span>
              </label>
            ))}
          </fieldset>

          {canReadRoles && (
            <>
              <label htmlFor="user-role">Role</label>
              <select
                id="user-role"
                value={filters.roleId}
                onChange={(event) => update({ roleId: event.target.value })}
              >
                <option value="">Any role</option>
                {(facets.data?.userFilterValues.roles ?? []).map((role) => (
                  <option key={role.id} value={role.id}>
                    {role.name}
                  </option>
                ))}
              </select>
            </>
          )}

          <label htmlFor="user-verified">Email</label>
          <select
            id="user-verified"
            value={filters.emailVerified}
            onChange={(event) => update({ emailVerified: event.target.value as Tristate })}
          >
            <option value="">Verified or not</option>
            <option value="yes">Verified</option>
            <option value="no">Not verified</option>
          </select>

          <label htmlFor="user-mfa">Second factor</label>
          <select
            id="user-mfa"
            value={filters.hasMfa}
            onChange={(event) => update({ hasMfa: event.target.value as Tristate })}
          >
            <option value="">With or without</option>
            <option value="yes">With a second factor</option>
            <option value="no">Without</option>
          </select>

          <button
            type="button"
            className="button subtle"
            onClick={() => setFilters({ ...EMPTY_FILTERS, sort: filters.sort })}
          >
            Clear filters
          </button>
        </aside>

        <section className="card list" aria-labelledby="users-table-caption">
          <div className="list-head">
            <p id="users-table-caption" className="muted" role="status">
              {searching && !page
                ? 'Loading…'
                : page && page.nodes.length
                  ? `Showing ${first.toLocaleString()}–${(first + page.nodes.length - 1).toLocaleString()} of ${page.totalCount.toLocaleString()}`
                  : page
                    ? 'No user matches these filters.'
                    : ' '}
            </p>
            <div className="inline">
              <label htmlFor="user-sort">Sort</label>
              <select id="user-sort" value={filters.sort} onChange={(event) => update({ sort: event.target.value })}>
                {Object.entries(SORTS).map(([value, { label }]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {users.error && <Notice kind="error">{users.error.message}</Notice>}
          <table aria-describedby="users-table-caption" aria-busy={searching}>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Last sign-in</th>
              </tr>
            </thead>
            <tbody>
              {page?.nodes.map((user) => (
                <tr key={user.id}>
                  <td>
                    <Link to={`/users/${encodeURIComponent(user.id)}`} className="user-link">
                      <span className="user-name">{user.name ?? user.username ?? user.email ?? user.id}</span>
                      {user.email && user.name && <span className="user-email">{user.email}</span>}
                    </Link>
                    {user.email && !user.emailVerified && <span className="tag">unverified</span>}
                  </td>
                  <td>
                    <StatusBadge status={user.status} />
                  </td>
                  <td>
                    <When at={user.createdAt} withTime={false} />
                  </td>
                  <td>
                    <When at={user.lastLoginAt} never="Never" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              className="button"
              disabled={cursors.length < 2}
              onClick={() => setCursors((stack) => stack.slice(0, -1))}
            >
              Previous page
            </button>
            <button
              type="button"
              className="button"
              disabled={!page?.pageInfo.hasNextPage}
              onClick={() => page?.pageInfo.endCursor && setCursors((stack) => [...stack, page.pageInfo.endCursor!])}
            >
              Next page
            </button>
          </nav>
        </section>
      </div>
    </div>
  );
}
