import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { TypedDeleteDialog } from '../admin.tsx';
import { FieldErrors, Notice, Reason } from '../components.tsx';
import {
  ConsoleAddResourceScopeDocument,
  ConsoleCreateResourceDocument,
  ConsoleDeleteResourceDocument,
  ConsoleRemoveResourceScopeDocument,
  ConsoleResourcesDocument,
  type ConsoleResourceCardFragment,
} from '../generated/graphql.ts';
import { errorsAt } from '../input-errors.ts';
import { usePermission } from '../scopes.ts';
import { invalidValues, requestFailed, type FieldError } from '../user-errors.ts';

type Resource = ConsoleResourceCardFragment;

export function ResourcesPage() {
  const read = usePermission('resources:read');
  const [{ data, error, fetching }, refetch] = useQuery({ query: ConsoleResourcesDocument, pause: !read.allowed });
  const [deleting, setDeleting] = useState<Resource | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const resources = data?.resources;

  if (!read.allowed) return <Notice kind="error">{read.reason}</Notice>;
  return (
    <div className="resources-page">
      <div className="page-head">
        <h1>API resources</h1>
        <p className="muted" aria-live="polite">
          {resources ? `${resources.totalCount} ${resources.totalCount === 1 ? 'resource' : 'resources'}` : ' '}
        </p>
      </div>
      {error && <Notice kind="error">{error.message}</Notice>}
      {done && <Notice kind="success">{done}</Notice>}
      <div className="admin-layout">
        <div className="role-list" aria-busy={fetching}>
          {resources && resources.totalCount > resources.nodes.length && (
            <p className="muted">
              The first {resources.nodes.length} of {resources.totalCount} resources, oldest first.
            </p>
          )}
          {resources?.nodes.map((resource) => (
            <ResourceCard
              key={resource.id}
              resource={resource}
              onDelete={() => {
                setDone(null);
                setDeleting(resource);
              }}
            />
          ))}
        </div>
        <CreateResource
          onCreated={(name) => {
            setDone(`The API resource “${name}” was created. Add its scopes in its card.`);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      </div>
      {deleting && (
        <DeleteResourceDialog
          resource={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setDone(`The API resource “${deleting.name}” was deleted.`);
            setDeleting(null);
            // deleteResource answers no Resource for the document cache to see: fetch the list again.
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      )}
    </div>
  );
}

const SCOPE_FIELDS = ['name', 'description'];

function ResourceCard({ resource, onDelete }: { resource: Resource; onDelete: () => void }) {
  const write = usePermission('resources:write');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [added, addScope] = useMutation(ConsoleAddResourceScopeDocument);
  const [removed, removeScope] = useMutation(ConsoleRemoveResourceScopeDocument);
  const busy = added.fetching || removed.fetching;
  const slug = `resource-${resource.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const why = !write.allowed ? write.reason : resource.builtIn ? 'Roster’s own API is read-only.' : null;

  async function add(event: FormEvent) {
    event.preventDefault();
    const result = await addScope({
      input: { resourceId: resource.id, name, description: description.trim() || null },
    });
    const payload = result.data?.addResourceScope;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.resource) {
      setName('');
      setDescription('');
    }
  }

  async function take(scopeId: string) {
    const result = await removeScope({ resourceId: resource.id, scopeId });
    const payload = result.data?.removeResourceScope;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
  }

  return (
    <section className="card role-card" aria-labelledby={`${slug}-title`} data-resource={resource.indicator}>
      <div className="role-head">
        <div>
          <h2 id={`${slug}-title`}>
            {resource.name}
            {resource.builtIn && <span className="tag">Built-in</span>}
          </h2>
          <p className="muted small">
            <code>{resource.indicator}</code>
          </p>
        </div>
        <button
          type="button"
          className="button small danger"
          disabled={why !== null}
          aria-label={`Delete the API resource ${resource.name}`}
          aria-describedby={why ? `${slug}-reason` : undefined}
          onClick={onDelete}
        >
          Delete
        </button>
      </div>
      <FieldErrors id={`${slug}-errors`} errors={errorsAt(errors, null, SCOPE_FIELDS)} />
      {resource.scopes.length === 0 ? (
        <p className="muted">No scopes yet.</p>
      ) : (
        <table className="resource-scopes" aria-label={`Scopes of ${resource.name}`}>
          <tbody>
            {resource.scopes.map((scope) => (
              <tr key={scope.id} data-scope={scope.name}>
                <td>
                  <code>{scope.name}</code>
                </td>
                <td className="muted">{scope.description ?? '—'}</td>
                <td className="actions">
                  {!resource.builtIn && (
                    <button
                      type="button"
                      className="scope-remove"
                      disabled={why !== null || busy}
                      aria-label={`Remove the scope ${scope.name} from ${resource.name}`}
                      title={why ?? `Remove ${scope.name}`}
                      onClick={() => void take(scope.id)}
                    >
                      ×
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!resource.builtIn && (
        <form className="add-resource-scope" onSubmit={(event) => void add(event)} noValidate>
          <div>
            <label htmlFor={`${slug}-scope-name`}>New scope</label>
            <input
              id={`${slug}-scope-name`}
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="e.g. read:invoices"
              disabled={why !== null}
              aria-invalid={errorsAt(errors, 'name').length > 0}
              aria-describedby={`${slug}-scope-name-errors`}
              autoComplete="off"
              spellCheck={false}
            />
            <FieldErrors id={`${slug}-scope-name-errors`} errors={errorsAt(errors, 'name')} />
          </div>
          <div>
            <label htmlFor={`${slug}-scope-description`}>Description (optional)</label>
            <input
              id={`${slug}-scope-description`}
              value={description}
              onChange={(event) => setDescription(event.target.value)}
              disabled={why !== null}
              aria-invalid={errorsAt(errors, 'description').length > 0}
              aria-describedby={`${slug}-scope-description-errors`}
            />
            <FieldErrors id={`${slug}-scope-description-errors`} errors={errorsAt(errors, 'description')} />
          </div>
          <button type="submit" className="button small" disabled={why !== null || busy || !name.trim()}>
            Add scope
          </button>
        </form>
      )}
      {why && <Reason id={`${slug}-reason`}>{why}</Reason>}
    </section>
  );
}

function DeleteResourceDialog({
  resource,
  onClose,
  onDeleted,
}: {
  resource: Resource;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, remove] = useMutation(ConsoleDeleteResourceDocument);

  async function confirm() {
    const result = await remove({ id: resource.id });
    const payload = result.data?.deleteResource;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.deletedId) onDeleted();
  }

  return (
    <TypedDeleteDialog
      title={`Delete the API resource “${resource.name}”?`}
      confirmLabel="Delete resource"
      what="the resource’s name"
      expected={resource.name}
      busy={state.fetching}
      errors={errors}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <p>
        Its {resource.scopes.length} {resource.scopes.length === 1 ? 'scope goes' : 'scopes go'} with it: every role and
        user holding them loses them at once, and tokens for it can no longer be issued. This cannot be undone.
      </p>
    </TypedDeleteDialog>
  );
}

const CREATE_FIELDS = ['indicator', 'name'];

function CreateResource({ onCreated }: { onCreated: (name: string) => void }) {
  const write = usePermission('resources:write');
  const [indicator, setIndicator] = useState('');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, create] = useMutation(ConsoleCreateResourceDocument);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await create({ input: { indicator: indicator.trim(), name } });
    const payload = result.data?.createResource;
    // A value the URL scalar refuses is a GraphQL error naming the input field: shown there too.
    const refused = invalidValues(result.error?.graphQLErrors ?? [], 'input');
    setErrors(payload?.userErrors ?? (refused.length ? refused : requestFailed(result.error?.message)));
    if (payload?.resource) {
      setIndicator('');
      setName('');
      onCreated(payload.resource.name);
    }
  }

  const disabled = !write.allowed;
  return (
    <section className="card" aria-labelledby="new-resource-title">
      <h2 id="new-resource-title">New API resource</h2>
      <FieldErrors id="new-resource-errors" errors={errorsAt(errors, null, CREATE_FIELDS)} />
      <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
        <div>
          <label htmlFor="resource-indicator">Indicator</label>
          <input
            id="resource-indicator"
            value={indicator}
            onChange={(event) => setIndicator(event.target.value)}
            placeholder="https://api.example.com"
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'indicator').length > 0}
            aria-describedby="resource-indicator-errors resource-indicator-hint"
            autoComplete="off"
            spellCheck={false}
          />
          <FieldErrors id="resource-indicator-errors" errors={errorsAt(errors, 'indicator')} />
          <p className="hint" id="resource-indicator-hint">
            An absolute URI, the audience of the API’s access tokens. It cannot change later.
          </p>
        </div>
        <div>
          <label htmlFor="resource-name">Name</label>
          <input
            id="resource-name"
            value={name}
            onChange={(event) => setName(event.target.value)}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'name').length > 0}
            aria-describedby="resource-name-errors"
            autoComplete="off"
          />
          <FieldErrors id="resource-name-errors" errors={errorsAt(errors, 'name')} />
        </div>
        <div>
          <button
            type="submit"
            className="button primary"
            disabled={disabled || state.fetching}
            aria-describedby={disabled ? 'new-resource-reason' : undefined}
          >
            Create resource
          </button>
        </div>
        {disabled && <Reason id="new-resource-reason">{write.reason}</Reason>}
      </form>
    </section>
  );
}
