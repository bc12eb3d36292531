import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { FieldErrors, Notice, Reason, Section } from '../../components.tsx';
import {
  ConsoleAssignUserRolesDocument,
  ConsoleRemoveUserRoleDocument,
  ConsoleRoleChoicesDocument,
  type ConsoleUserQuery,
} from '../../generated/graphql.ts';
import { usePermission } from '../../scopes.ts';
import { errorsFor, type FieldError } from '../../user-errors.ts';

type User = NonNullable<ConsoleUserQuery['user']>;
type Assignment = NonNullable<User['roleAssignments']>[number];

const ROLE_FIELDS = ['roleIds', 'tenantId'];

/** The user's roles, realm-wide and per tenant (`showTenant`: tenants:read), given and taken with users:roles. */
export function Roles({ user, showTenant }: { user: User; showTenant: boolean }) {
  const grant = usePermission('users:roles');
  const why =
    grant.reason ?? (user.status === 'DELETED' ? 'A deleted user’s roles cannot change; restore them first.' : null);
  const [{ data: choices }] = useQuery({ query: ConsoleRoleChoicesDocument, pause: why !== null });
  const [assigned, assign] = useMutation(ConsoleAssignUserRolesDocument);
  const [removed, remove] = useMutation(ConsoleRemoveUserRoleDocument);
  const [roleId, setRoleId] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [rowErrors, setRowErrors] = useState<Record<string, readonly FieldError[]>>({});
  const busy = assigned.fetching || removed.fetching;
  const assignments = user.roleAssignments ?? [];
  const tenants = user.tenants?.nodes ?? [];
  const roles = [...(choices?.roles.nodes ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const keyOf = (assignment: Assignment) => `${assignment.role.id}:${assignment.tenant?.id ?? ''}`;

  async function add(event: FormEvent) {
    event.preventDefault();
    const result = (
      await assign({ userId: user.id, roleIds: [roleId], tenantId: tenantId || null, tenants: showTenant })
    ).data?.assignUserRoles;
    setErrors(result?.userErrors ?? []);
    if (result?.user) setRoleId('');
  }

  async function take(assignment: Assignment) {
    const result = (
      await remove({
        userId: user.id,
        roleId: assignment.role.id,
        tenantId: assignment.tenant?.id ?? null,
        tenants: showTenant,
      })
    ).data?.removeUserRole;
    setRowErrors((current) => ({ ...current, [keyOf(assignment)]: result?.userErrors ?? [] }));
  }

  const roleErrors = errorsFor(errors, 'roleIds');
  const tenantErrors = errorsFor(errors, 'tenantId');
  return (
    <Section title="Roles" id="roles-title">
      {(assigned.error ?? removed.error) && <Notice kind="error">{(assigned.error ?? removed.error)!.message}</Notice>}
      {assignments.length === 0 ? (
        <p className="muted">No roles.</p>
      ) : (
        <ul className="plain roles">
          {assignments.map((assignment) => {
            const key = keyOf(assignment);
            // Without tenants:read the tenant of a tenant-scoped assignment is unknown, so it cannot be named.
            const unknownTenant = !showTenant;
            const removeWhy =
              why ?? (unknownTenant ? 'Needs the tenants:read scope to tell which tenant the role is held in.' : null);
            const where = showTenant ? (assignment.tenant ? assignment.tenant.name : 'whole realm') : null;
            return (
              <li key={key} className="role">
                <div className="role-line">
                  <div>
                    <strong>{assignment.role.name}</strong>
                    {where && <span className="muted"> · {where}</span>}
                    {assignment.role.description && <div className="muted small">{assignment.role.description}</div>}
                  </div>
                  <button
                    type="button"
                    className="button small"
                    disabled={removeWhy !== null || busy}
                    aria-label={`Remove ${assignment.role.name}${where ? ` (${where})` : ''}`}
                    aria-describedby={removeWhy ? 'roles-reason' : undefined}
                    title={removeWhy ?? undefined}
                    onClick={() => void take(assignment)}
                  >
                    Remove
                  </button>
                </div>
                <FieldErrors id={`role-${key}-errors`} errors={rowErrors[key] ?? []} />
              </li>
            );
          })}
        </ul>
      )}
      <form onSubmit={(event) => void add(event)} className="stack role-form">
        <FieldErrors id="roles-errors" errors={errorsFor(errors, null, ROLE_FIELDS)} />
        <label htmlFor="add-role">Give a role</label>
        <select
          id="add-role"
          value={roleId}
          onChange={(event) => setRoleId(event.target.value)}
          disabled={why !== null}
          aria-invalid={roleErrors.length > 0}
          aria-describedby={why ? 'roles-reason' : roleErrors.length ? 'add-role-errors' : undefined}
        >
          <option value="">Choose a role…</option>
          {roles.map((role) => (
            <option key={role.id} value={role.id}>
              {role.name}
            </option>
          ))}
        </select>
        <FieldErrors id="add-role-errors" errors={roleErrors} />
        {showTenant && (
          <>
            <label htmlFor="add-role-tenant">Where</label>
            <select
              id="add-role-tenant"
              value={tenantId}
              onChange={(event) => setTenantId(event.target.value)}
              disabled={why !== null}
              aria-invalid={tenantErrors.length > 0}
              aria-describedby={tenantErrors.length ? 'add-role-tenant-errors' : undefined}
            >
              <option value="">The whole realm</option>
              {tenants.map((tenant) => (
                <option key={tenant.id} value={tenant.id}>
                  In {tenant.name}
                </option>
              ))}
            </select>
            <FieldErrors id="add-role-tenant-errors" errors={tenantErrors} />
          </>
        )}
        <div>
          <button
            type="submit"
            className="button"
            disabled={why !== null || busy || roleId === ''}
            aria-describedby={why ? 'roles-reason' : undefined}
          >
            Give role
          </button>
        </div>
      </form>
      {why && <Reason id="roles-reason">{why}</Reason>}
    </Section>
  );
}
