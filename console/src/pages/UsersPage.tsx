import { useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmDialog } from '../admin.tsx';
import {
  BULK_ACTIONS,
  bulkActionReason,
  DEFAULT_EXPORT_COLUMNS,
  EXPORT_COLUMNS,
  exportFieldsOf,
  bulkInputOf,
  describeCounts,
  missingScopes,
  NO_ARGUMENTS,
  pageState,
  selectAllReason,
  selectedCount,
  toggle,
  type BulkArguments,
  type ExportFormat,
  type Selection,
} from '../bulk.ts';
import {
  FACTOR_LABELS,
  FieldErrors,
  Link,
  METHOD_LABELS,
  Notice,
  Reason,
  regionNames,
  showing,
  STATUS_LABELS,
  StatusBadge,
  When,
} from '../components.tsx';
import { downloadExport } from '../export.ts';
import {
  ConsoleBulkUpdateUsersDocument,
  ConsoleUserFiltersDocument,
  ConsoleUsersDocument,
  type AuthMethod,
  type BulkUserAction,
  type ConsoleBulkUpdateUsersMutation,
  type MfaFactorType,
  type UserFilter,
  type UserStatus,
} from '../generated/graphql.ts';
import {
  DAY_CHOICES,
  EMPTY_FILTERS,
  filtersFromParams,
  paramsOfFilters,
  SORTS,
  userFilterOf,
  type Filters,
  type ListFacet,
} from '../filters.ts';
import { useDebounced } from '../hooks.ts';
import { FacetList, MoreUserFilters, TristateSelect } from './users/filters.tsx';
import { ScopesContext, usePermission } from '../scopes.ts';
import { errorsFor, type FieldError } from '../user-errors.ts';

const PAGE_SIZE = 50;

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
  const [ticked, setTicked] = useState<string[]>([]);
  const [allMatching, setAllMatching] = useState(false);
  const canReadRoles = usePermission('roles:read').allowed;
  const canReadTenants = usePermission('tenants:read').allowed;
  const search = useDebounced(filters.search, 250);
  const settled = useMemo(() => ({ ...filters, search }), [filters, search]);
  const filter = useMemo(() => userFilterOf(settled), [settled]);
  const after = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    const query = paramsOfFilters(settled).toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
    sessionStorage.setItem(LIST_QUERY, query);
  }, [settled]);
  useEffect(() => {
    setCursors([null]);
    // A selection belongs to the filter it was made under.
    setTicked([]);
    setAllMatching(false);
  }, [filter, settled.sort]);

  const [users, refetchUsers] = useQuery({
    query: ConsoleUsersDocument,
    variables: { first: PAGE_SIZE, after, filter, orderBy: SORTS[settled.sort]!.order },
  });
  const facetVariables = useMemo(() => {
    const without = (facet: ListFacet) => userFilterOf(settled, facet);
    const { roleIds: _roles, ...roleFilter } = filter;
    return {
      filter: without('statuses'),
      tenantFilter: without('tenantIds'),
      methodFilter: without('authMethods'),
      factorFilter: without('mfaTypes'),
      countryFilter: without('countries'),
      roleFilter,
      roles: canReadRoles,
      tenants: canReadTenants,
    };
  }, [settled, filter, canReadRoles, canReadTenants]);
  const [facets, refetchFacets] = useQuery({ query: ConsoleUserFiltersDocument, variables: facetVariables });

  const update = (patch: Partial<Filters>) => setFilters((current) => ({ ...current, ...patch }));
  const values = facets.data?.userFilterValues;
  const counted = <K,>(rows: readonly { count: number }[] | undefined, key: (row: never) => K | undefined) =>
    new Map((rows ?? []).map((row) => [key(row as never), row.count]));
  const statusCounts = new Map(facets.data?.userStats.byStatus.map((row) => [row.status, row.count]));
  const roleCounts = counted(facets.data?.roleCounts?.rows, (row: { role?: { id: string } | null }) => row.role?.id);
  const tenantCounts = counted(
    facets.data?.tenantCounts?.rows,
    (row: { tenant?: { id: string } | null }) => row.tenant?.id,
  );
  const methodCounts = counted(facets.data?.methodCounts.rows, (row: { authMethod?: AuthMethod }) => row.authMethod);
  const factorCounts = counted(facets.data?.factorCounts.rows, (row: { mfaType?: MfaFactorType }) => row.mfaType);
  const countryCounts = counted(facets.data?.countryCounts.rows, (row: { country?: string }) => row.country);
  const providerCounts = new Map(facets.data?.providers.nodes.map((node) => [node.value, node.count]));
  const localeCounts = new Map(facets.data?.locales.nodes.map((node) => [node.value, node.count]));
  const tenantNames = new Map(values?.tenants?.map((tenant) => [tenant.id, tenant.name]));

  const page = users.data?.users;
  const first = (cursors.length - 1) * PAGE_SIZE + 1;
  const searching = users.fetching || filters.search !== search;
  const pageIds = page?.nodes.map((user) => user.id) ?? [];
  const header = pageState(ticked, pageIds);
  const selection: Selection =
    allMatching && page ? { kind: 'filter', filter, count: page.totalCount } : { kind: 'ids', ids: ticked };

  const refresh = () => {
    refetchUsers({ requestPolicy: 'network-only' });
    refetchFacets({ requestPolicy: 'network-only' });
  };

  return (
    <div className="users-page">
      <div className="page-head">
        <h1>Users</h1>
        <p className="muted" aria-live="polite">
          {page ? `${page.totalCount.toLocaleString()} ${page.totalCount === 1 ? 'user' : 'users'}` : ' '}
        </p>
      </div>
      <div className="users-layout">
        <aside
          className={facets.fetching || filters.search !== search ? 'card filters counting' : 'card filters'}
          aria-label="Filters"
          aria-busy={facets.fetching}
        >
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

          <FacetList<UserStatus>
            legend="Status"
            values={values?.statuses ?? []}
            chosen={filters.statuses}
            label={(status) => STATUS_LABELS[status]}
            count={(status) => statusCounts.get(status)}
            onChange={(statuses) => update({ statuses })}
          />

          {canReadRoles && (
            <>
              <label htmlFor="user-role">Role</label>
              <select
                id="user-role"
                value={filters.roleId}
                onChange={(event) => update({ roleId: event.target.value })}
              >
                <option value="">Any role</option>
                {(values?.roles ?? []).map((role) => (
                  <option key={role.id} value={role.id}>
                    {role.name} ({(roleCounts.get(role.id) ?? 0).toLocaleString()})
                  </option>
                ))}
              </select>
            </>
          )}

          {canReadTenants && (
            <FacetList
              legend="Tenant"
              values={values?.tenants?.map((tenant) => tenant.id) ?? []}
              chosen={filters.tenantIds}
              label={(id) => tenantNames.get(id) ?? id}
              count={(id) => tenantCounts.get(id)}
              onChange={(tenantIds) => update({ tenantIds })}
            />
          )}

          <FacetList<AuthMethod>
            legend="Signs in with"
            values={values?.authMethods ?? []}
            chosen={filters.authMethods}
            label={(method) => METHOD_LABELS[method]}
            count={(method) => methodCounts.get(method)}
            onChange={(authMethods) => update({ authMethods })}
          />

          <FacetList<MfaFactorType>
            legend="Second factor type"
            values={values?.mfaTypes ?? []}
            chosen={filters.mfaTypes}
            label={(type) => FACTOR_LABELS[type]}
            count={(type) => factorCounts.get(type)}
            onChange={(mfaTypes) => update({ mfaTypes })}
          />

          <FacetList
            legend="Identity provider"
            values={facets.data?.providers.nodes.map((node) => node.value) ?? []}
            chosen={filters.oauthProviders}
            label={(provider) => provider}
            count={(provider) => providerCounts.get(provider)}
            onChange={(oauthProviders) => update({ oauthProviders })}
          />

          <FacetList
            legend="Country"
            values={values?.countries ?? []}
            chosen={filters.countries}
            label={(code) => regionNames?.of(code) ?? code}
            count={(code) => countryCounts.get(code)}
            onChange={(countries) => update({ countries })}
          />

          <FacetList
            legend="Locale"
            values={facets.data?.locales.nodes.map((node) => node.value) ?? []}
            chosen={filters.locales}
            label={(locale) => locale}
            count={(locale) => localeCounts.get(locale)}
            onChange={(locales) => update({ locales })}
          />

          <TristateSelect
            id="user-verified"
            label="Email"
            value={filters.emailVerified}
            options={['Verified or not', 'Verified', 'Not verified']}
            onChange={(emailVerified) => update({ emailVerified })}
          />
          <TristateSelect
            id="user-phone-verified"
            label="Phone"
            value={filters.phoneVerified}
            options={['Verified or not', 'Verified', 'Not verified']}
            onChange={(phoneVerified) => update({ phoneVerified })}
          />
          <TristateSelect
            id="user-mfa"
            label="Second factor"
            value={filters.hasMfa}
            options={['With or without', 'With a second factor', 'Without']}
            onChange={(hasMfa) => update({ hasMfa })}
          />
          <TristateSelect
            id="user-password"
            label="Password"
            value={filters.hasPassword}
            options={['With or without', 'With a password', 'Without']}
            onChange={(hasPassword) => update({ hasPassword })}
          />
          <TristateSelect
            id="user-locked"
            label="Locked out"
            value={filters.isLocked}
            options={['Locked or not', 'Locked out now', 'Not locked out']}
            onChange={(isLocked) => update({ isLocked })}
          />
          <TristateSelect
            id="user-never-signed-in"
            label="Signed in"
            value={filters.neverLoggedIn}
            options={['Ever or never', 'Never signed in', 'Signed in at least once']}
            onChange={(neverLoggedIn) => update({ neverLoggedIn })}
          />

          <label htmlFor="user-created-within">Created</label>
          <select
            id="user-created-within"
            value={filters.createdInLastDays}
            onChange={(event) => update({ createdInLastDays: event.target.value })}
          >
            <option value="">Any time</option>
            {DAY_CHOICES.map((days) => (
              <option key={days} value={days}>
                In the last {days === '1' ? 'day' : `${days} days`}
              </option>
            ))}
          </select>

          <label htmlFor="user-inactive-for">Inactive</label>
          <select
            id="user-inactive-for"
            value={filters.inactiveForDays}
            onChange={(event) => update({ inactiveForDays: event.target.value })}
          >
            <option value="">Active or not</option>
            {DAY_CHOICES.map((days) => (
              <option key={days} value={days}>
                For at least {days === '1' ? 'a day' : `${days} days`}
              </option>
            ))}
          </select>

          <MoreUserFilters filters={filters} update={update} />

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
                  ? showing(first, page.nodes.length, page.totalCount)
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
          <ExportControl filter={filter} total={page?.totalCount ?? null} />
          <BulkBar
            selection={selection}
            pageFull={header === 'all'}
            total={page?.totalCount ?? 0}
            allMatching={allMatching}
            setAllMatching={setAllMatching}
            roles={values?.roles ?? []}
            tenants={values?.tenants ?? []}
            onDone={() => {
              setTicked([]);
              setAllMatching(false);
              refresh();
            }}
          />
          {users.error && <Notice kind="error">{users.error.message}</Notice>}
          <table aria-describedby="users-table-caption" aria-busy={searching}>
            <thead>
              <tr>
                <th scope="col" className="select">
                  <input
                    type="checkbox"
                    aria-label="Select every user on this page"
                    checked={header === 'all' && pageIds.length > 0}
                    ref={(box) => {
                      if (box) box.indeterminate = header === 'some';
                    }}
                    disabled={!pageIds.length}
                    onChange={(event) => {
                      setAllMatching(false);
                      setTicked((current) => toggle(current, pageIds, event.target.checked));
                    }}
                  />
                </th>
                <th scope="col">User</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Last sign-in</th>
              </tr>
            </thead>
            <tbody>
              {page?.nodes.map((user) => {
                const name = user.name ?? user.username ?? user.email ?? user.id;
                return (
                  <tr key={user.id} className={ticked.includes(user.id) || allMatching ? 'selected' : undefined}>
                    <td className="select">
                      <input
                        type="checkbox"
                        aria-label={`Select ${name}`}
                        checked={allMatching || ticked.includes(user.id)}
                        onChange={(event) => {
                          if (allMatching) {
                            // Unticking one of "all matching" goes back to this page's rows, less that one.
                            setAllMatching(false);
                            setTicked(pageIds.filter((id) => id !== user.id));
                            return;
                          }
                          setTicked((current) => toggle(current, [user.id], event.target.checked));
                        }}
                      />
                    </td>
                    <td>
                      <Link to={`/users/${encodeURIComponent(user.id)}`} className="user-link">
                        <span className="user-name">{name}</span>
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
                );
              })}
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

/** Downloads the users of the current filter, as CSV or NDJSON. */
function ExportControl({ filter, total }: { filter: UserFilter; total: number | null }) {
  const permission = usePermission('users:export');
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [columns, setColumns] = useState<ReadonlySet<string>>(() => new Set(DEFAULT_EXPORT_COLUMNS));
  const [state, setState] = useState<{ kind: 'busy' | 'done' | 'error'; text: string } | null>(null);

  async function start() {
    setState({ kind: 'busy', text: 'Exporting…' });
    try {
      const name = await downloadExport(filter, format, exportFieldsOf(columns));
      setState(name ? { kind: 'done', text: `Exported to ${name}.` } : null);
    } catch (error) {
      setState({ kind: 'error', text: error instanceof Error ? error.message : String(error) });
    }
  }

  return (
    <div className="export-bar">
      <div className="inline">
        <label htmlFor="export-format">Export as</label>
        <select
          id="export-format"
          value={format}
          onChange={(event) => setFormat(event.target.value as ExportFormat)}
          disabled={!permission.allowed}
        >
          <option value="csv">CSV</option>
          <option value="ndjson">NDJSON</option>
        </select>
        <button
          type="button"
          className="button"
          disabled={!permission.allowed || state?.kind === 'busy' || total === 0 || columns.size === 0}
          aria-describedby={permission.reason ? 'export-reason' : undefined}
          onClick={() => void start()}
        >
          {total === null ? 'Export' : `Export ${total.toLocaleString()} ${total === 1 ? 'user' : 'users'}`}
        </button>
      </div>
      {permission.allowed && (
        <details className="export-columns">
          <summary>
            Columns ({columns.size === 0 ? 'none chosen' : `${columns.size} of ${EXPORT_COLUMNS.length}`})
          </summary>
          <fieldset>
            <legend className="visually-hidden">Columns of the export</legend>
            {EXPORT_COLUMNS.map((column) => (
              <label key={column.field} className="check">
                <input
                  type="checkbox"
                  checked={columns.has(column.field)}
                  onChange={(event) => {
                    const next = new Set(columns);
                    if (event.target.checked) next.add(column.field);
                    else next.delete(column.field);
                    setColumns(next);
                  }}
                />
                <span>{column.label}</span>
              </label>
            ))}
          </fieldset>
          <button type="button" className="button small" onClick={() => setColumns(new Set(DEFAULT_EXPORT_COLUMNS))}>
            The usual columns
          </button>
          {columns.size === 0 && <p className="hint">Choose at least one column.</p>}
        </details>
      )}
      {permission.reason && <Reason id="export-reason">{permission.reason}</Reason>}
      {state && (
        <p
          className={state.kind === 'error' ? 'field-errors' : 'hint'}
          role={state.kind === 'error' ? 'alert' : 'status'}
        >
          {state.text}
        </p>
      )}
    </div>
  );
}

type BulkResult = ConsoleBulkUpdateUsersMutation['bulkUpdateUsers'];

const ARGUMENT_FIELDS = ['reason', 'status', 'roleIds', 'tenantId'];

/** The selection's count, "select all matching", the action with its argument, and its dry run. */
function BulkBar({
  selection,
  pageFull,
  total,
  allMatching,
  setAllMatching,
  roles,
  tenants,
  onDone,
}: {
  selection: Selection;
  pageFull: boolean;
  total: number;
  allMatching: boolean;
  setAllMatching: (on: boolean) => void;
  roles: readonly { id: string; name: string }[];
  tenants: readonly { id: string; name: string }[];
  onDone: () => void;
}) {
  const scopes = useContext(ScopesContext);
  const [action, setAction] = useState<BulkUserAction | ''>('');
  const [args, setArgs] = useState<BulkArguments>(NO_ARGUMENTS);
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [preview, setPreview] = useState<BulkResult | null>(null);
  const [done, setDone] = useState<string[] | null>(null);
  const [run, execute] = useMutation(ConsoleBulkUpdateUsersDocument);
  const count = selectedCount(selection);
  const reasons = Object.fromEntries(
    (Object.keys(BULK_ACTIONS) as BulkUserAction[]).map((name) => [name, bulkActionReason(name, scopes)]),
  ) as Record<BulkUserAction, string | null>;
  const noneAllowed = Object.values(reasons).every((reason) => reason !== null);
  const actionReason = action ? reasons[action] : null;
  const allReason = selectAllReason(total);
  const argument = action ? BULK_ACTIONS[action].argument : null;
  const words = (n: number) => `${n.toLocaleString()} ${n === 1 ? 'user' : 'users'}`;
  const chosenRoles = args.roleIds.flatMap((id) => roles.filter((role) => role.id === id));

  useEffect(() => setErrors([]), [action, args]);
  useEffect(() => {
    if (count) setDone(null);
  }, [count]);

  async function send(dryRun: boolean) {
    if (!action) return;
    setDone(null);
    const result = await execute({ input: bulkInputOf(selection, action, args, dryRun) });
    const payload = result.data?.bulkUpdateUsers;
    if (!payload) {
      setErrors([{ field: null, message: result.error?.message ?? 'Roster did not answer.', code: 'ERROR' }]);
      setPreview(null);
      return;
    }
    setErrors(payload.userErrors);
    if (payload.userErrors.length) {
      setPreview(null);
      return;
    }
    if (dryRun) return setPreview(payload);
    setPreview(null);
    setDone([`${BULK_ACTIONS[action].label}: done.`, ...describeCounts(payload, false)]);
    setAction('');
    setArgs(NO_ARGUMENTS);
    onDone();
  }

  const fieldErrors = (field: string) => <FieldErrors id={`bulk-${field}-errors`} errors={errorsFor(errors, field)} />;

  return (
    <div className="bulk-bar" aria-label="Selected users" role="group">
      <p className="muted" role="status">
        {count
          ? `${words(count)} selected${allMatching ? ' (every user matching the filter)' : ''}.`
          : 'No user selected.'}
      </p>
      {pageFull && !allMatching && total > count && (
        <>
          <button
            type="button"
            className="button subtle"
            disabled={allReason !== null}
            aria-describedby={allReason ? 'select-all-reason' : undefined}
            onClick={() => setAllMatching(true)}
          >
            Select all {total.toLocaleString()} users matching the filter
          </button>
          {allReason && <Reason id="select-all-reason">{allReason}</Reason>}
        </>
      )}
      {allMatching && (
        <button type="button" className="button subtle" onClick={() => setAllMatching(false)}>
          Select only this page
        </button>
      )}
      <div className="inline bulk-controls">
        <label htmlFor="bulk-action">Bulk action</label>
        <select
          id="bulk-action"
          value={action}
          disabled={noneAllowed}
          aria-describedby={noneAllowed ? 'bulk-reason' : undefined}
          onChange={(event) => {
            setAction(event.target.value as BulkUserAction | '');
            setArgs(NO_ARGUMENTS);
          }}
        >
          <option value="">Choose…</option>
          {(Object.keys(BULK_ACTIONS) as BulkUserAction[]).map((name) => (
            <option key={name} value={name} disabled={reasons[name] !== null}>
              {BULK_ACTIONS[name].label}
              {reasons[name] ? ` (needs ${missingScopes(name, scopes).join(' and ')})` : ''}
            </option>
          ))}
        </select>
        {argument === 'reason' && (
          <Argument id="bulk-reason-field" label="Reason (optional)" errors={fieldErrors('reason')}>
            <input
              id="bulk-reason-field"
              value={args.reason}
              maxLength={600}
              aria-invalid={errorsFor(errors, 'reason').length > 0}
              aria-describedby="bulk-reason-errors"
              onChange={(event) => setArgs({ ...args, reason: event.target.value })}
            />
          </Argument>
        )}
        {argument === 'status' && (
          <Argument id="bulk-status" label="New status" errors={fieldErrors('status')}>
            <select
              id="bulk-status"
              value={args.status}
              aria-invalid={errorsFor(errors, 'status').length > 0}
              aria-describedby="bulk-status-errors"
              onChange={(event) => setArgs({ ...args, status: event.target.value as UserStatus | '' })}
            >
              <option value="">Choose…</option>
              {(['ACTIVE', 'INACTIVE', 'SUSPENDED', 'INVITED', 'PENDING_VERIFICATION'] as const).map((status) => (
                <option key={status} value={status}>
                  {STATUS_LABELS[status]}
                </option>
              ))}
            </select>
          </Argument>
        )}
        {argument === 'roles-in-tenant' && (
          <Argument
            id="bulk-role"
            label={action === 'ASSIGN_ROLES' ? 'Roles to assign' : 'Roles to remove'}
            errors={fieldErrors('roleIds')}
          >
            {chosenRoles.length > 0 && (
              <ul className="chosen-roles" aria-label="Roles chosen">
                {chosenRoles.map((role) => (
                  <li key={role.id}>
                    {role.name}
                    <button
                      type="button"
                      aria-label={`Take ${role.name} off the list`}
                      onClick={() => setArgs({ ...args, roleIds: args.roleIds.filter((id) => id !== role.id) })}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <select
              id="bulk-role"
              value=""
              aria-invalid={errorsFor(errors, 'roleIds').length > 0}
              aria-describedby="bulk-roleIds-errors"
              onChange={(event) => setArgs({ ...args, roleIds: [...args.roleIds, event.target.value] })}
            >
              <option value="">{chosenRoles.length ? 'Add another…' : 'Choose…'}</option>
              {roles
                .filter((role) => !args.roleIds.includes(role.id))
                .map((role) => (
                  <option key={role.id} value={role.id}>
                    {role.name}
                  </option>
                ))}
            </select>
          </Argument>
        )}
        {(argument === 'tenant' || argument === 'roles-in-tenant') && (
          <Argument
            id="bulk-tenant"
            label={
              action === 'ADD_TO_TENANT'
                ? 'Tenant to add to'
                : action === 'REMOVE_FROM_TENANT'
                  ? 'Tenant to remove from'
                  : 'Inside tenant'
            }
            errors={fieldErrors('tenantId')}
          >
            <select
              id="bulk-tenant"
              value={args.tenantId}
              aria-invalid={errorsFor(errors, 'tenantId').length > 0}
              aria-describedby="bulk-tenantId-errors"
              onChange={(event) => setArgs({ ...args, tenantId: event.target.value })}
            >
              <option value="">{argument === 'tenant' ? 'Choose…' : 'Realm-wide'}</option>
              {tenants.map((tenant) => (
                <option key={tenant.id} value={tenant.id}>
                  {tenant.name}
                </option>
              ))}
            </select>
          </Argument>
        )}
        <button
          type="button"
          className="button"
          disabled={!action || !count || actionReason !== null || noneAllowed || run.fetching}
          aria-describedby={noneAllowed ? 'bulk-reason' : undefined}
          onClick={() => void send(true)}
        >
          Review…
        </button>
      </div>
      {noneAllowed && (
        <Reason id="bulk-reason">
          Bulk actions need the users:write or users:roles scope, which your roles do not grant.
        </Reason>
      )}
      <FieldErrors id="bulk-errors" errors={errorsFor(errors, null, ARGUMENT_FIELDS)} />
      {done && (
        <Notice kind="success">
          {done.map((line) => (
            <span key={line} className="line">
              {line}
            </span>
          ))}
        </Notice>
      )}
      {preview && action && (
        <ConfirmDialog
          title={`${BULK_ACTIONS[action].label}: ${words(preview.matchedCount)}?`}
          confirmLabel={`${BULK_ACTIONS[action].verb} ${words(preview.changedCount)}`}
          danger={action === 'SUSPEND' || action === 'REVOKE_SESSIONS' || action === 'REMOVE_FROM_TENANT'}
          canConfirm={preview.changedCount > 0}
          busy={run.fetching}
          errors={errors}
          onConfirm={() => void send(false)}
          onCancel={() => setPreview(null)}
        >
          {chosenRoles.length > 0 && (
            <p>
              {action === 'ASSIGN_ROLES' ? 'Roles to assign' : 'Roles to remove'}
              {args.tenantId
                ? ` inside ${tenants.find((tenant) => tenant.id === args.tenantId)?.name ?? 'the tenant'}`
                : ''}
              : {chosenRoles.map((role) => role.name).join(', ')}.
            </p>
          )}
          <p className="hint">A dry run counted what this would do now; nothing has changed yet.</p>
          <ul className="bulk-counts">
            {describeCounts(preview, true).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </ConfirmDialog>
      )}
    </div>
  );
}

function Argument({
  id,
  label,
  errors,
  children,
}: {
  id: string;
  label: string;
  errors: ReactNode;
  children: ReactNode;
}) {
  return (
    <span className="bulk-argument">
      <label htmlFor={id}>{label}</label>
      {children}
      {errors}
    </span>
  );
}
