import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmDialog, TypedDeleteDialog } from '../admin.tsx';
import { errorsAt } from '../input-errors.ts';
import { FieldErrors, Notice, Pager, Reason, showing } from '../components.tsx';
import {
  ConsoleAssignRoleScopesDocument,
  ConsoleCreateRoleDocument,
  ConsoleDeleteRoleDocument,
  ConsoleRemoveRoleScopeDocument,
  ConsoleRolesDocument,
  ConsoleUpdateRoleDocument,
  type ConsoleRolesQuery,
  type RolePatch,
} from '../generated/graphql.ts';
import { usePermission } from '../scopes.ts';
import { requestFailed, type FieldError } from '../user-errors.ts';

const PAGE_SIZE = 20;

type Role = ConsoleRolesQuery['roles']['nodes'][number];
type Resource = NonNullable<ConsoleRolesQuery['resources']>['nodes'][number];

export function RolesPage() {
  const read = usePermission('roles:read');
  const resourcesRead = usePermission('resources:read');
  const tenants = usePermission('tenants:read').allowed;
  // The cursors of the pages before this one (null: the first).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error, fetching }, refetch] = useQuery({
    query: ConsoleRolesDocument,
    variables: {
      resources: resourcesRead.allowed,
      tenants,
      first: PAGE_SIZE,
      after: cursors[cursors.length - 1] ?? null,
    },
    pause: !read.allowed,
  });
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  const roles = data?.roles;

  if (!read.allowed) return <Notice kind="error">{read.reason}</Notice>;
  return (
    <div className="roles-page">
      <div className="page-head">
        <h1>Roles</h1>
        <p className="muted" aria-live="polite">
          {roles ? `${roles.totalCount} ${roles.totalCount === 1 ? 'role' : 'roles'}` : ' '}
        </p>
      </div>
      {error && <Notice kind="error">{error.message}</Notice>}
      {deleted && <Notice kind="success">The role “{deleted}” was deleted.</Notice>}
      <div className="admin-layout">
        <div className="role-list" aria-busy={fetching}>
          {roles && roles.totalCount > roles.nodes.length && (
            <p className="muted" role="status">
              {showing((cursors.length - 1) * PAGE_SIZE + 1, roles.nodes.length, roles.totalCount)}, by name.
            </p>
          )}
          {roles?.nodes.map((role) => (
            <RoleCard
              key={role.id}
              role={role}
              resources={data?.resources?.nodes ?? null}
              onDelete={() => {
                setDeleted(null);
                setDeleting(role);
              }}
            />
          ))}
          {roles && (roles.pageInfo.hasNextPage || cursors.length > 1) && (
            <Pager
              label="Role pages"
              newestFirst={false}
              cursors={cursors}
              setCursors={setCursors}
              hasNextPage={roles.pageInfo.hasNextPage}
              endCursor={roles.pageInfo.endCursor}
            />
          )}
        </div>
        <CreateRole tenants={data?.tenants ?? null} />
      </div>
      {deleting && (
        <DeleteRoleDialog
          role={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setDeleted(deleting.name);
            setDeleting(null);
            // deleteRole answers no Role for the document cache to see: fetch the list again.
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      )}
    </div>
  );
}

/** A role's scopes, by the API resource defining them (the management API first, as the API sorts resources). */
function byResource(scopes: Role['scopes']) {
  const groups = new Map<string, { name: string; scopes: Role['scopes'][number][] }>();
  for (const scope of scopes) {
    const group = groups.get(scope.resource.id) ?? { name: scope.resource.name, scopes: [] };
    group.scopes.push(scope);
    groups.set(scope.resource.id, group);
  }
  return [...groups.entries()];
}

function RoleCard({
  role,
  resources,
  onDelete,
}: {
  role: Role;
  resources: readonly Resource[] | null;
  onDelete: () => void;
}) {
  const write = usePermission('roles:write');
  const resourcesRead = usePermission('resources:read');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [editing, setEditing] = useState(false);
  const [adding, setAdding] = useState('');
  const [assigned, assign] = useMutation(ConsoleAssignRoleScopesDocument);
  const [removed, remove] = useMutation(ConsoleRemoveRoleScopeDocument);
  const busy = assigned.fetching || removed.fetching;
  const slug = `role-${role.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const held = useMemo(() => new Set(role.scopes.map((scope) => scope.id)), [role.scopes]);

  async function add(event: FormEvent) {
    event.preventDefault();
    if (!adding) return;
    const result = await assign({ roleId: role.id, scopeIds: [adding] });
    const payload = result.data?.assignRoleScopes;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.role) setAdding('');
  }

  async function take(scopeId: string) {
    const result = await remove({ roleId: role.id, scopeId });
    const payload = result.data?.removeRoleScope;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
  }

  const addReason = !write.allowed ? write.reason : !resourcesRead.allowed ? resourcesRead.reason : null;
  const keepsManagement = (scope: Role['scopes'][number]) => role.builtIn && scope.builtIn;
  return (
    <section className="card role-card" aria-labelledby={`${slug}-title`} data-role={role.name}>
      <div className="role-head">
        <div>
          <h2 id={`${slug}-title`}>
            {role.name}
            {role.builtIn && <span className="tag">Built-in</span>}
            {role.tenant && <span className="tag">Tenant {role.tenant.name}</span>}
          </h2>
          {role.description && <p className="muted small">{role.description}</p>}
          <p className="muted small">
            {role.userCount} {role.userCount === 1 ? 'user' : 'users'}
          </p>
        </div>
        <div className="role-actions">
          <button
            type="button"
            className="button small"
            disabled={!write.allowed}
            aria-label={`Edit the role ${role.name}`}
            aria-describedby={!write.allowed ? `${slug}-delete-reason` : undefined}
            onClick={() => setEditing(true)}
          >
            Edit
          </button>{' '}
          <button
            type="button"
            className="button small danger"
            disabled={!write.allowed || role.builtIn}
            aria-label={`Delete the role ${role.name}`}
            aria-describedby={!write.allowed || role.builtIn ? `${slug}-delete-reason` : undefined}
            onClick={onDelete}
          >
            Delete
          </button>
        </div>
      </div>
      {(!write.allowed || role.builtIn) && (
        <Reason id={`${slug}-delete-reason`}>
          {role.builtIn ? 'The built-in role cannot be deleted.' : write.reason}
        </Reason>
      )}
      {editing && <EditRoleDialog role={role} onClose={() => setEditing(false)} />}
      <FieldErrors id={`${slug}-errors`} errors={errorsAt(errors, null, ['scopeIds'])} />
      {role.scopes.length === 0 ? (
        <p className="muted">No scopes.</p>
      ) : (
        byResource(role.scopes).map(([resourceId, group]) => (
          <div key={resourceId} className="scope-group">
            <h3>{group.name}</h3>
            <ul className="scopes" aria-label={`Scopes of ${role.name} on ${group.name}`}>
              {group.scopes.map((scope) => (
                <li key={scope.id} className="scope" title={scope.description ?? undefined}>
                  <code>{scope.name}</code>
                  <button
                    type="button"
                    className="scope-remove"
                    disabled={!write.allowed || busy || keepsManagement(scope)}
                    aria-label={`Remove ${scope.name} from ${role.name}`}
                    title={
                      !write.allowed
                        ? (write.reason ?? undefined)
                        : keepsManagement(scope)
                          ? 'The built-in role keeps its management scopes.'
                          : `Remove ${scope.name}`
                    }
                    onClick={() => void take(scope.id)}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
          </div>
        ))
      )}
      <form className="inline add-scope" onSubmit={(event) => void add(event)}>
        <label htmlFor={`${slug}-add`} className="visually-hidden">
          Scope to add to {role.name}
        </label>
        <select
          id={`${slug}-add`}
          value={adding}
          onChange={(event) => setAdding(event.target.value)}
          disabled={addReason !== null}
          aria-invalid={errorsAt(errors, 'scopeIds').length > 0}
          aria-describedby={`${slug}-add-errors${addReason ? ` ${slug}-add-reason` : ''}`}
        >
          <option value="">Choose a scope to add…</option>
          {(resources ?? []).map((resource) => {
            const options = resource.scopes.filter((scope) => !held.has(scope.id));
            return options.length === 0 ? null : (
              <optgroup key={resource.id} label={resource.name}>
                {options.map((scope) => (
                  <option key={scope.id} value={scope.id}>
                    {scope.name}
                    {scope.description ? ` — ${scope.description}` : ''}
                  </option>
                ))}
              </optgroup>
            );
          })}
        </select>
        <button type="submit" className="button small" disabled={addReason !== null || !adding || busy}>
          Add scope
        </button>
      </form>
      <FieldErrors id={`${slug}-add-errors`} errors={errorsAt(errors, 'scopeIds')} />
      {addReason && <Reason id={`${slug}-add-reason`}>{addReason}</Reason>}
    </section>
  );
}

const EDIT_FIELDS = ['name', 'description'];

/** Renames or re-describes a role (the built-in one keeps its name); only what changed is sent. */
function EditRoleDialog({ role, onClose }: { role: Role; onClose: () => void }) {
  const [name, setName] = useState(role.name);
  const [description, setDescription] = useState(role.description ?? '');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, update] = useMutation(ConsoleUpdateRoleDocument);

  async function confirm() {
    const patch: RolePatch = {};
    if (name !== role.name) patch.name = name;
    if ((description.trim() || null) !== role.description) patch.description = description.trim() || null;
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    const result = await update({ id: role.id, patch });
    const payload = result.data?.updateRole;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.role) onClose();
  }

  return (
    <ConfirmDialog
      title={`Edit the role “${role.name}”`}
      confirmLabel="Save changes"
      busy={state.fetching}
      errors={errorsAt(errors, null, EDIT_FIELDS)}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <label htmlFor="edit-role-name">Name</label>
      <input
        id="edit-role-name"
        value={name}
        onChange={(event) => setName(event.target.value)}
        disabled={role.builtIn}
        aria-invalid={errorsAt(errors, 'name').length > 0}
        aria-describedby={`edit-role-name-errors${role.builtIn ? ' edit-role-name-reason' : ''}`}
        autoComplete="off"
      />
      {role.builtIn && <Reason id="edit-role-name-reason">The built-in role keeps its name.</Reason>}
      <FieldErrors id="edit-role-name-errors" errors={errorsAt(errors, 'name')} />
      <label htmlFor="edit-role-description">Description (optional)</label>
      <input
        id="edit-role-description"
        value={description}
        onChange={(event) => setDescription(event.target.value)}
        aria-invalid={errorsAt(errors, 'description').length > 0}
        aria-describedby="edit-role-description-errors"
      />
      <FieldErrors id="edit-role-description-errors" errors={errorsAt(errors, 'description')} />
    </ConfirmDialog>
  );
}

function DeleteRoleDialog({ role, onClose, onDeleted }: { role: Role; onClose: () => void; onDeleted: () => void }) {
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, remove] = useMutation(ConsoleDeleteRoleDocument);

  async function confirm() {
    const result = await remove({ id: role.id });
    const payload = result.data?.deleteRole;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.deletedId) onDeleted();
  }

  return (
    <TypedDeleteDialog
      title={`Delete the role “${role.name}”?`}
      confirmLabel="Delete role"
      what="the role’s name"
      expected={role.name}
      busy={state.fetching}
      errors={errors}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <p>
        {role.userCount > 0
          ? `${role.userCount} ${role.userCount === 1 ? 'user holds' : 'users hold'} it and lose its scopes at once, as do applications holding it.`
          : 'No user holds it; applications holding it lose its scopes at once.'}{' '}
        This cannot be undone.
      </p>
    </TypedDeleteDialog>
  );
}

const CREATE_FIELDS = ['name', 'description', 'tenantId'];

/** A new role, realm-wide or defined by one tenant (listed with tenants:read). */
function CreateRole({ tenants }: { tenants: ConsoleRolesQuery['tenants'] | null }) {
  const write = usePermission('roles:write');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [state, create] = useMutation(ConsoleCreateRoleDocument);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const result = await create({
      input: { name, description: description.trim() || null, tenantId: tenantId || null },
    });
    const payload = result.data?.createRole;
    setErrors(payload?.userErrors ?? []);
    if (payload?.role) {
      setDone(`The role “${payload.role.name}” was created. Add its scopes in its card.`);
      setName('');
      setDescription('');
      setTenantId('');
    }
  }

  const disabled = !write.allowed;
  return (
    <section className="card" aria-labelledby="new-role-title">
      <h2 id="new-role-title">New role</h2>
      {state.error && <Notice kind="error">{state.error.message}</Notice>}
      {done && <Notice kind="success">{done}</Notice>}
      <FieldErrors id="new-role-errors" errors={errorsAt(errors, null, CREATE_FIELDS)} />
      <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
        <div>
          <label htmlFor="role-name">Name</label>
          <input
            id="role-name"
            value={name}
            onChange={(event) => setName(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'name').length > 0}
            aria-describedby="role-name-errors"
            autoComplete="off"
          />
          <FieldErrors id="role-name-errors" errors={errorsAt(errors, 'name')} />
        </div>
        <div>
          <label htmlFor="role-description">Description (optional)</label>
          <input
            id="role-description"
            value={description}
            onChange={(event) => setDescription(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'description').length > 0}
            aria-describedby="role-description-errors"
          />
          <FieldErrors id="role-description-errors" errors={errorsAt(errors, 'description')} />
        </div>
        {tenants && tenants.nodes.length > 0 && (
          <div>
            <label htmlFor="role-tenant">Defined by</label>
            <select
              id="role-tenant"
              value={tenantId}
              onChange={(event) => setTenantId(event.target.value)}
              disabled={disabled}
              aria-invalid={errorsAt(errors, 'tenantId').length > 0}
              aria-describedby="role-tenant-hint role-tenant-errors"
            >
              <option value="">The whole realm</option>
              {tenants.nodes.map((tenant) => (
                <option key={tenant.id} value={tenant.id}>
                  Tenant {tenant.name}
                </option>
              ))}
            </select>
            <p className="hint" id="role-tenant-hint">
              A tenant’s role can be held only inside that tenant.
              {tenants.totalCount > tenants.nodes.length && ` The first ${tenants.nodes.length} tenants are listed.`}
            </p>
            <FieldErrors id="role-tenant-errors" errors={errorsAt(errors, 'tenantId')} />
          </div>
        )}
        <div>
          <button
            type="submit"
            className="button primary"
            disabled={disabled || state.fetching}
            aria-describedby={disabled ? 'new-role-reason' : undefined}
          >
            Create role
          </button>
        </div>
        {disabled && <Reason id="new-role-reason">{write.reason}</Reason>}
      </form>
    </section>
  );
}
