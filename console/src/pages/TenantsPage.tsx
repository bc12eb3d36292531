import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { TypedDeleteDialog } from '../admin.tsx';
import { FieldErrors, Link, Notice, Pager, Reason, StatusBadge, When } from '../components.tsx';
import {
  ConsoleAddTenantMemberDocument,
  ConsoleCreateTenantDocument,
  ConsoleDeleteTenantDocument,
  ConsoleRemoveTenantMemberDocument,
  ConsoleTenantDocument,
  ConsoleTenantsDocument,
  ConsoleUpdateTenantDocument,
  type ConsoleTenantQuery,
} from '../generated/graphql.ts';
import { useDebounced } from '../hooks.ts';
import { errorsAt } from '../input-errors.ts';
import { PeopleSearch } from '../people.tsx';
import { navigate } from '../router.ts';
import { usePermission, type Permission } from '../scopes.ts';
import { requestFailed, type FieldError } from '../user-errors.ts';

const PAGE_SIZE = 25;

type Tenant = NonNullable<ConsoleTenantQuery['tenant']>;

/** Adding or removing members needs both scopes (`addUserToTenant`, `removeUserFromTenant`). */
function useMembersWrite(): Permission {
  const users = usePermission('users:write');
  const tenants = usePermission('tenants:write');
  return users.allowed ? tenants : users;
}

export function TenantsPage({ id }: { id: string | null }) {
  const read = usePermission('tenants:read');
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const settled = useDebounced(search.trim(), 250);
  useEffect(() => setCursors([null]), [settled]);
  const [{ data, error, fetching }, refetch] = useQuery({
    query: ConsoleTenantsDocument,
    variables: { search: settled || null, first: PAGE_SIZE, after: cursors[cursors.length - 1] ?? null },
    pause: !read.allowed,
  });
  const [done, setDone] = useState<string | null>(null);
  const page = data?.tenants;
  const reload = () => refetch({ requestPolicy: 'network-only' });

  if (!read.allowed) return <Notice kind="error">{read.reason}</Notice>;
  return (
    <div className="tenants-page">
      <div className="page-head">
        <h1>Tenants</h1>
        <p className="muted" aria-live="polite">
          {page ? `${page.totalCount} ${page.totalCount === 1 ? 'tenant' : 'tenants'}` : ' '}
        </p>
      </div>
      {error && <Notice kind="error">{error.message}</Notice>}
      {done && <Notice kind="success">{done}</Notice>}
      <div className="admin-layout">
        <div className="column">
          <section className="card list" aria-labelledby="tenants-title">
            <div className="list-head">
              <h2 id="tenants-title">All tenants</h2>
              <div>
                <label htmlFor="tenant-search" className="visually-hidden">
                  Search tenants
                </label>
                <input
                  id="tenant-search"
                  type="search"
                  placeholder="Search by name or slug"
                  value={search}
                  onChange={(event) => setSearch(event.target.value)}
                  maxLength={200}
                />
              </div>
            </div>
            {page && page.nodes.length === 0 && <p className="empty muted">No tenant matches.</p>}
            {page && page.nodes.length > 0 && (
              <table aria-busy={fetching}>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Slug</th>
                    <th scope="col">Members</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {page.nodes.map((tenant) => (
                    <tr key={tenant.id} data-tenant={tenant.slug} aria-current={tenant.id === id ? 'true' : undefined}>
                      <td>
                        <Link to={`/tenants/${encodeURIComponent(tenant.id)}`} className="tenant-link">
                          {tenant.name}
                        </Link>
                      </td>
                      <td>
                        <code>{tenant.slug}</code>
                      </td>
                      <td className="member-count">{tenant.memberCount}</td>
                      <td>
                        <When at={tenant.createdAt} withTime={false} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {page && (page.pageInfo.hasNextPage || cursors.length > 1) && (
              <Pager
                label="Tenant pages"
                newestFirst={false}
                cursors={cursors}
                setCursors={setCursors}
                hasNextPage={page.pageInfo.hasNextPage}
                endCursor={page.pageInfo.endCursor}
              />
            )}
          </section>
          {id && (
            <TenantDetails
              key={id}
              id={id}
              onChanged={reload}
              onDeleted={(name) => {
                setDone(`The tenant “${name}” was deleted.`);
                navigate('/tenants');
                reload();
              }}
            />
          )}
        </div>
        <CreateTenant
          onCreated={(tenant) => {
            setDone(null);
            reload();
            navigate(`/tenants/${encodeURIComponent(tenant)}`);
          }}
        />
      </div>
    </div>
  );
}

const CREATE_FIELDS = ['name', 'slug'];

function CreateTenant({ onCreated }: { onCreated: (id: string) => void }) {
  const write = usePermission('tenants:write');
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, create] = useMutation(ConsoleCreateTenantDocument);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await create({ name, slug: slug.trim() || null });
    const payload = result.data?.createTenant;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.tenant) {
      setName('');
      setSlug('');
      onCreated(payload.tenant.id);
    }
  }

  const disabled = !write.allowed;
  return (
    <section className="card" aria-labelledby="new-tenant-title">
      <h2 id="new-tenant-title">New tenant</h2>
      <FieldErrors id="new-tenant-errors" errors={errorsAt(errors, null, CREATE_FIELDS)} />
      <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
        <div>
          <label htmlFor="tenant-name">Name</label>
          <input
            id="tenant-name"
            value={name}
            onChange={(event) => setName(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'name').length > 0}
            aria-describedby="tenant-name-errors"
            autoComplete="off"
          />
          <FieldErrors id="tenant-name-errors" errors={errorsAt(errors, 'name')} />
        </div>
        <div>
          <label htmlFor="tenant-slug">Slug (optional)</label>
          <input
            id="tenant-slug"
            value={slug}
            onChange={(event) => setSlug(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'slug').length > 0}
            aria-describedby="tenant-slug-errors tenant-slug-hint"
            autoComplete="off"
            spellCheck={false}
          />
          <FieldErrors id="tenant-slug-errors" errors={errorsAt(errors, 'slug')} />
          <p className="hint" id="tenant-slug-hint">
            Lowercase letters, digits and hyphens; derived from the name when left empty.
          </p>
        </div>
        <div>
          <button
            type="submit"
            className="button primary"
            disabled={disabled || state.fetching}
            aria-describedby={disabled ? 'new-tenant-reason' : undefined}
          >
            Create tenant
          </button>
        </div>
        {disabled && <Reason id="new-tenant-reason">{write.reason}</Reason>}
      </form>
    </section>
  );
}

function TenantDetails({
  id,
  onChanged,
  onDeleted,
}: {
  id: string;
  onChanged: () => void;
  onDeleted: (name: string) => void;
}) {
  const members = usePermission('users:read');
  const roles = usePermission('roles:read');
  const write = usePermission('tenants:write');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error }, refetch] = useQuery({
    query: ConsoleTenantDocument,
    variables: {
      id,
      members: members.allowed,
      roles: roles.allowed,
      first: PAGE_SIZE,
      after: cursors[cursors.length - 1] ?? null,
    },
  });
  const [deleting, setDeleting] = useState(false);
  const tenant = data?.tenant;
  const changed = () => {
    refetch({ requestPolicy: 'network-only' });
    onChanged();
  };

  if (error) return <Notice kind="error">{error.message}</Notice>;
  if (!data) return <p className="muted">Loading the tenant…</p>;
  if (!tenant) return <Notice kind="error">There is no such tenant in this realm.</Notice>;
  return (
    <section className="card tenant-details" aria-labelledby="tenant-title">
      <div className="role-head">
        <div>
          <h2 id="tenant-title">{tenant.name}</h2>
          <p className="muted small">
            <code>{tenant.slug}</code> · {tenant.memberCount} {tenant.memberCount === 1 ? 'member' : 'members'} ·
            changed <When at={tenant.updatedAt} />
          </p>
        </div>
        <button
          type="button"
          className="button small danger"
          disabled={!write.allowed}
          aria-describedby={write.allowed ? undefined : 'tenant-write-reason'}
          onClick={() => setDeleting(true)}
        >
          Delete tenant
        </button>
      </div>
      <RenameTenant key={tenant.updatedAt} tenant={tenant} onRenamed={onChanged} />
      {!write.allowed && <Reason id="tenant-write-reason">{write.reason}</Reason>}
      <h3>Roles it defines</h3>
      {!roles.allowed ? (
        <Reason id="tenant-roles-reason">Roles are not shown: {roles.reason}</Reason>
      ) : data.tenantRoles && data.tenantRoles.nodes.length > 0 ? (
        <ul className="tenant-roles" aria-label={`Roles ${tenant.name} defines`}>
          {data.tenantRoles.nodes.map((role) => (
            <li key={role.id}>
              <span className="tag">{role.name}</span>{' '}
              <span className="muted small">
                {role.userCount} {role.userCount === 1 ? 'holder' : 'holders'}
                {role.description ? ` · ${role.description}` : ''}
              </span>
            </li>
          ))}
          {data.tenantRoles.totalCount > data.tenantRoles.nodes.length && (
            <li className="muted small">
              And {data.tenantRoles.totalCount - data.tenantRoles.nodes.length} more, on the Roles screen.
            </li>
          )}
        </ul>
      ) : (
        <p className="muted">None: its members can hold realm-wide roles inside it.</p>
      )}
      <h3>Members</h3>
      {!members.allowed && <Reason id="tenant-members-reason">Members are not shown: {members.reason}</Reason>}
      {tenant.users && (
        <Members tenant={tenant} users={tenant.users} cursors={cursors} setCursors={setCursors} onChanged={changed} />
      )}
      {members.allowed && <AddMember tenant={tenant} onAdded={changed} />}
      {deleting && (
        <DeleteTenantDialog
          tenant={tenant}
          onClose={() => setDeleting(false)}
          onDeleted={() => onDeleted(tenant.name)}
        />
      )}
    </section>
  );
}

function RenameTenant({ tenant, onRenamed }: { tenant: Tenant; onRenamed: () => void }) {
  const write = usePermission('tenants:write');
  const [name, setName] = useState(tenant.name);
  const [slug, setSlug] = useState(tenant.slug);
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, update] = useMutation(ConsoleUpdateTenantDocument);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const patch: { name?: string; slug?: string } = {};
    if (name !== tenant.name) patch.name = name;
    if (slug !== tenant.slug) patch.slug = slug;
    const result = await update({ id: tenant.id, patch });
    const payload = result.data?.updateTenant;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.tenant) onRenamed();
  }

  const disabled = !write.allowed;
  const unchanged = name === tenant.name && slug === tenant.slug;
  return (
    <form className="rename-tenant" onSubmit={(event) => void submit(event)} noValidate>
      <FieldErrors id="rename-tenant-errors" errors={errorsAt(errors, null, CREATE_FIELDS)} />
      <div className="two-fields">
        <div>
          <label htmlFor="rename-tenant-name">Name</label>
          <input
            id="rename-tenant-name"
            value={name}
            onChange={(event) => setName(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'name').length > 0}
            aria-describedby={`rename-tenant-name-errors${disabled ? ' tenant-write-reason' : ''}`}
            autoComplete="off"
          />
          <FieldErrors id="rename-tenant-name-errors" errors={errorsAt(errors, 'name')} />
        </div>
        <div>
          <label htmlFor="rename-tenant-slug">Slug</label>
          <input
            id="rename-tenant-slug"
            value={slug}
            onChange={(event) => setSlug(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'slug').length > 0}
            aria-describedby={`rename-tenant-slug-errors${disabled ? ' tenant-write-reason' : ''}`}
            autoComplete="off"
            spellCheck={false}
          />
          <FieldErrors id="rename-tenant-slug-errors" errors={errorsAt(errors, 'slug')} />
        </div>
      </div>
      <div className="section-actions">
        <button
          type="submit"
          className="button"
          disabled={disabled || unchanged || state.fetching}
          aria-describedby={disabled ? 'tenant-write-reason' : undefined}
        >
          Save name and slug
        </button>
      </div>
    </form>
  );
}

function Members({
  tenant,
  users,
  cursors,
  setCursors,
  onChanged,
}: {
  tenant: Tenant;
  users: NonNullable<Tenant['users']>;
  cursors: (string | null)[];
  setCursors: (update: (stack: (string | null)[]) => (string | null)[]) => void;
  onChanged: () => void;
}) {
  const write = useMembersWrite();
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, remove] = useMutation(ConsoleRemoveTenantMemberDocument);

  async function take(userId: string) {
    const result = await remove({ tenantId: tenant.id, userId });
    const payload = result.data?.removeUserFromTenant;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.user) onChanged();
  }

  return (
    <>
      <FieldErrors id="members-errors" errors={errors} />
      {users.nodes.length === 0 ? (
        <p className="muted">No members yet.</p>
      ) : (
        <table className="members" aria-label={`Members of ${tenant.name}`}>
          <tbody>
            {users.nodes.map((user) => (
              <tr key={user.id} data-member={user.email ?? user.id}>
                <td>
                  <Link to={`/users/${encodeURIComponent(user.id)}`} className="user-link">
                    <span className="user-name">{user.name ?? user.email ?? 'No name'}</span>
                    {user.name && user.email && <span className="user-email">{user.email}</span>}
                  </Link>
                </td>
                <td className="member-roles">
                  {user.roleAssignments &&
                    (user.roleAssignments.some((held) => held.tenant?.id === tenant.id) ? (
                      user.roleAssignments
                        .filter((held) => held.tenant?.id === tenant.id)
                        .map((held) => (
                          <span key={held.role.id} className="tag">
                            {held.role.name}
                          </span>
                        ))
                    ) : (
                      <span className="muted small">No role here</span>
                    ))}
                </td>
                <td>
                  <StatusBadge status={user.status} />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="button small"
                    disabled={!write.allowed || state.fetching}
                    title={write.reason ?? undefined}
                    aria-describedby={write.allowed ? undefined : 'members-write-reason'}
                    aria-label={`Remove ${user.name ?? user.email ?? 'this user'} from ${tenant.name}`}
                    onClick={() => void take(user.id)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(users.pageInfo.hasNextPage || cursors.length > 1) && (
        <Pager
          label="Member pages"
          cursors={cursors}
          setCursors={setCursors}
          hasNextPage={users.pageInfo.hasNextPage}
          endCursor={users.pageInfo.endCursor}
        />
      )}
      {!write.allowed && (
        <Reason id="members-write-reason">{write.reason} Adding and removing members is not available.</Reason>
      )}
    </>
  );
}

function AddMember({ tenant, onAdded }: { tenant: Tenant; onAdded: () => void }) {
  const write = useMembersWrite();
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [added, setAdded] = useState<string | null>(null);
  const [state, add] = useMutation(ConsoleAddTenantMemberDocument);
  const memberIds = new Set(tenant.users?.nodes.map((user) => user.id));

  async function join(userId: string, name: string, clear: () => void) {
    setAdded(null);
    const result = await add({ tenantId: tenant.id, userId });
    const payload = result.data?.addUserToTenant;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.user) {
      setAdded(`${name} is now a member of ${tenant.name}.`);
      clear();
      onAdded();
    }
  }

  return (
    <>
      <PeopleSearch
        id="member-search"
        className="add-member"
        label="Add a member"
        placeholder="Search users by name, email, username…"
        disabled={!write.allowed}
        describedBy={`member-search-errors${write.allowed ? '' : ' members-write-reason'}`}
        actions={(person, name, clear) => {
          const member = memberIds.has(person.id);
          return (
            <button
              type="button"
              className="button small"
              disabled={member || state.fetching}
              aria-label={`Add ${name} to ${tenant.name}`}
              onClick={() => void join(person.id, name, clear)}
            >
              {member ? 'Member' : 'Add'}
            </button>
          );
        }}
      />
      <FieldErrors id="member-search-errors" errors={errors} />
      {added && <p className="hint success-text">{added}</p>}
    </>
  );
}

function DeleteTenantDialog({
  tenant,
  onClose,
  onDeleted,
}: {
  tenant: Tenant;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, remove] = useMutation(ConsoleDeleteTenantDocument);

  async function confirm() {
    const result = await remove({ id: tenant.id });
    const payload = result.data?.deleteTenant;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.deletedId) onDeleted();
  }

  return (
    <TypedDeleteDialog
      title={`Delete the tenant “${tenant.name}”?`}
      confirmLabel="Delete tenant"
      what="the tenant’s slug"
      expected={tenant.slug}
      busy={state.fetching}
      errors={errors}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <p>
        {tenant.memberCount > 0
          ? `Its ${tenant.memberCount} ${tenant.memberCount === 1 ? 'member stays' : 'members stay'} in the realm but leave the tenant, with the roles held inside it;`
          : 'It has no members;'}{' '}
        the roles it defines are deleted. This cannot be undone.
      </p>
    </TypedDeleteDialog>
  );
}
