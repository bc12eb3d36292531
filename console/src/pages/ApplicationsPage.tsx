import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmDialog, SecretOnce, TypedDeleteDialog } from '../admin.tsx';
import { errorsAt } from '../input-errors.ts';
import { FieldErrors, Notice, Pager, Reason, showing, When } from '../components.tsx';
import {
  ConsoleApplicationsDocument,
  ConsoleCreateApplicationDocument,
  ConsoleDeleteApplicationDocument,
  ConsoleRotateApplicationSecretDocument,
  ConsoleSetApplicationEnabledDocument,
  ConsoleUpdateApplicationDocument,
  type ApplicationPatch,
  type ApplicationType,
  type ConsoleApplicationRowFragment,
} from '../generated/graphql.ts';
import { usePermission } from '../scopes.ts';
import { requestFailed, type FieldError } from '../user-errors.ts';

type Application = ConsoleApplicationRowFragment;

const TYPES: Record<ApplicationType, { label: string; hint: string }> = {
  SPA: { label: 'Single-page application', hint: 'Runs in the browser; a public client without a secret.' },
  WEB: { label: 'Web application', hint: 'Server-rendered; a confidential client with a secret.' },
  NATIVE: { label: 'Native application', hint: 'Mobile or desktop; a public client without a secret.' },
  M2M: {
    label: 'Machine to machine',
    hint: 'Scripts and services (client credentials); has a secret, no redirect URIs.',
  },
};

const PAGE_SIZE = 25;

const hasSecret = (type: ApplicationType) => type === 'WEB' || type === 'M2M';

const URI_HINT = 'One a line: https (http only for localhost and loopback addresses), no fragment.';

/** The URIs of a textarea holding one a line, each with its line (blank lines are not sent). */
const uriLines = (text: string) =>
  text
    .split('\n')
    .map((line, index) => ({ uri: line.trim(), line: index + 1 }))
    .filter((entry) => entry.uri);

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((value, i) => value === b[i]);

/** How long the replaced secret keeps working after a rotation (the API allows up to 7 days). */
const GRACE_PERIODS = [
  { seconds: 0, label: 'Stops working at once' },
  { seconds: 3600, label: 'Keeps working for 1 hour' },
  { seconds: 86_400, label: 'Keeps working for 1 day' },
  { seconds: 604_800, label: 'Keeps working for 7 days' },
];

export function ApplicationsPage() {
  const read = usePermission('applications:read');
  // The cursors of the pages before this one (null: the first).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error, fetching }, refetch] = useQuery({
    query: ConsoleApplicationsDocument,
    variables: { first: PAGE_SIZE, after: cursors[cursors.length - 1] ?? null },
    pause: !read.allowed,
  });
  // The secret just created or rotated: shown once, kept only here.
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  const page = data?.applications;

  if (!read.allowed) return <Notice kind="error">{read.reason}</Notice>;
  return (
    <div className="applications-page">
      <div className="page-head">
        <h1>Applications</h1>
        <p className="muted" aria-live="polite">
          {page ? `${page.totalCount} ${page.totalCount === 1 ? 'application' : 'applications'}` : ' '}
        </p>
      </div>
      {error && <Notice kind="error">{error.message}</Notice>}
      {deleted && <Notice kind="success">The application “{deleted}” was deleted.</Notice>}
      {secret && (
        <SecretOnce key={secret.value} name={secret.name} secret={secret.value} onDone={() => setSecret(null)} />
      )}
      <div className="admin-layout">
        <section className="card list" aria-labelledby="applications-title">
          <div className="list-head">
            <h2 id="applications-title">All applications</h2>
            {page && page.totalCount > page.nodes.length && (
              <p className="muted" role="status">
                {showing((cursors.length - 1) * PAGE_SIZE + 1, page.nodes.length, page.totalCount)}
              </p>
            )}
          </div>
          <ApplicationTable
            applications={page?.nodes ?? []}
            busy={fetching}
            onSecret={(name, value) => setSecret({ name, value })}
            onDeleted={(name) => {
              setDeleted(name);
              // deleteApplication answers no Application for the document cache to see: fetch the list again.
              refetch({ requestPolicy: 'network-only' });
            }}
          />
          {page && (page.pageInfo.hasNextPage || cursors.length > 1) && (
            <Pager
              label="Application pages"
              newestFirst={false}
              cursors={cursors}
              setCursors={setCursors}
              hasNextPage={page.pageInfo.hasNextPage}
              endCursor={page.pageInfo.endCursor}
            />
          )}
        </section>
        <CreateApplication onCreated={(name, value) => setSecret(value ? { name, value } : null)} />
      </div>
    </div>
  );
}

function ApplicationTable({
  applications,
  busy,
  onSecret,
  onDeleted,
}: {
  applications: readonly Application[];
  busy: boolean;
  onSecret: (name: string, secret: string) => void;
  onDeleted: (name: string) => void;
}) {
  const write = usePermission('applications:write');
  const [rotating, setRotating] = useState<Application | null>(null);
  const [toggling, setToggling] = useState<Application | null>(null);
  const [editing, setEditing] = useState<Application | null>(null);
  const [deleting, setDeleting] = useState<Application | null>(null);
  const action = (label: string, application: Application, onClick: () => void, danger = false) => (
    <button
      type="button"
      className={danger ? 'button small danger' : 'button small'}
      disabled={!write.allowed}
      title={write.reason ?? undefined}
      aria-describedby={write.allowed ? undefined : 'applications-write-reason'}
      aria-label={`${label} ${application.name}`}
      onClick={onClick}
    >
      {label}
    </button>
  );

  return (
    <>
      <table aria-busy={busy}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Client ID</th>
            <th scope="col">Status</th>
            <th scope="col">Secret last set</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {applications.map((application) => (
            <tr key={application.id} data-application={application.clientId}>
              <td>
                <span className="app-name">{application.name}</span>
                {application.builtIn && (
                  <span className="tag" title="Made by Roster (the realm's admin client or its console)">
                    Built-in
                  </span>
                )}
              </td>
              <td>{TYPES[application.type].label}</td>
              <td>
                <code className="client-id">{application.clientId}</code>
              </td>
              <td>
                <span className={`badge ${application.enabled ? 'status-active' : 'status-suspended'}`}>
                  {application.enabled ? 'Enabled' : 'Disabled'}
                </span>
              </td>
              <td>
                {hasSecret(application.type) ? (
                  <When at={application.secretLastRotatedAt} withTime={false} />
                ) : (
                  'No secret'
                )}
              </td>
              <td className="actions">
                {action('Edit', application, () => setEditing(application))}{' '}
                {hasSecret(application.type) && (
                  <button
                    type="button"
                    className="button small"
                    disabled={!write.allowed}
                    title={write.reason ?? undefined}
                    aria-describedby={write.allowed ? undefined : 'applications-write-reason'}
                    aria-label={`Rotate secret of ${application.name}`}
                    onClick={() => setRotating(application)}
                  >
                    Rotate secret
                  </button>
                )}{' '}
                {action(
                  application.enabled ? 'Disable' : 'Enable',
                  application,
                  () => setToggling(application),
                  application.enabled,
                )}{' '}
                {action('Delete', application, () => setDeleting(application), true)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!write.allowed && (
        <Reason id="applications-write-reason">
          {write.reason} Editing, rotating secrets, disabling and deleting are not available.
        </Reason>
      )}
      {rotating && (
        <RotateDialog
          application={rotating}
          onClose={() => setRotating(null)}
          onRotated={(secret) => {
            setRotating(null);
            onSecret(rotating.name, secret);
          }}
        />
      )}
      {toggling && <ToggleDialog application={toggling} onClose={() => setToggling(null)} />}
      {editing && <EditDialog application={editing} onClose={() => setEditing(null)} />}
      {deleting && (
        <DeleteDialog
          application={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setDeleting(null);
            onDeleted(deleting.name);
          }}
        />
      )}
    </>
  );
}

function RotateDialog({
  application,
  onClose,
  onRotated,
}: {
  application: Application;
  onClose: () => void;
  onRotated: (secret: string) => void;
}) {
  const [grace, setGrace] = useState(0);
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, rotate] = useMutation(ConsoleRotateApplicationSecretDocument);

  async function confirm() {
    const result = await rotate({ id: application.id, previousSecretValidForSeconds: grace });
    const payload = result.data?.rotateApplicationSecret;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.clientSecret) onRotated(payload.clientSecret);
  }

  return (
    <ConfirmDialog
      title={`Rotate the secret of “${application.name}”?`}
      confirmLabel="Rotate secret"
      busy={state.fetching}
      errors={errorsAt(errors, null, ['previousSecretValidForSeconds'])}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <p>A new secret is made and shown once. Deployments using the current secret need the new one.</p>
      <label htmlFor="rotate-grace">The current secret</label>
      <select
        id="rotate-grace"
        value={grace}
        onChange={(event) => setGrace(Number(event.target.value))}
        aria-invalid={errorsAt(errors, 'previousSecretValidForSeconds').length > 0}
        aria-describedby="rotate-grace-hint rotate-grace-errors"
      >
        {GRACE_PERIODS.map((period) => (
          <option key={period.seconds} value={period.seconds}>
            {period.label}
          </option>
        ))}
      </select>
      <p className="hint" id="rotate-grace-hint">
        A grace period lets running deployments switch to the new secret without downtime.
      </p>
      <FieldErrors id="rotate-grace-errors" errors={errorsAt(errors, 'previousSecretValidForSeconds')} />
    </ConfirmDialog>
  );
}

function ToggleDialog({ application, onClose }: { application: Application; onClose: () => void }) {
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, update] = useMutation(ConsoleSetApplicationEnabledDocument);
  const disabling = application.enabled;

  async function confirm() {
    const result = await update({ id: application.id, enabled: !disabling });
    const payload = result.data?.updateApplication;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.application) onClose();
  }

  return (
    <ConfirmDialog
      title={`${disabling ? 'Disable' : 'Enable'} “${application.name}”?`}
      confirmLabel={disabling ? 'Disable application' : 'Enable application'}
      danger={disabling}
      busy={state.fetching}
      errors={errors}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      {disabling ? (
        <p>
          It gets no new tokens and the tokens it holds are refused from the next request on: people cannot sign in to
          it and its scripts stop. You can enable it again later.
          {application.builtIn &&
            application.type === 'SPA' &&
            ' If this is the console, it is turned off for this realm.'}
        </p>
      ) : (
        <p>It can get tokens again, with the scopes its roles grant.</p>
      )}
    </ConfirmDialog>
  );
}

const EDIT_FIELDS = ['name', 'redirectUris', 'postLogoutRedirectUris'];

/** Renames an application and replaces its redirect URIs; only what changed is sent. */
function EditDialog({ application, onClose }: { application: Application; onClose: () => void }) {
  const [name, setName] = useState(application.name);
  const [uris, setUris] = useState(application.redirectUris.join('\n'));
  const [logoutUris, setLogoutUris] = useState(application.postLogoutRedirectUris.join('\n'));
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  // The textarea lines of the URIs sent, to place the API's errors.
  const [sentLines, setSentLines] = useState<{ redirectUris: number[]; postLogoutRedirectUris: number[] }>({
    redirectUris: [],
    postLogoutRedirectUris: [],
  });
  const [state, update] = useMutation(ConsoleUpdateApplicationDocument);
  const redirects = application.type !== 'M2M';

  async function confirm() {
    const redirect = uriLines(uris);
    const logout = uriLines(logoutUris);
    setSentLines({
      redirectUris: redirect.map((entry) => entry.line),
      postLogoutRedirectUris: logout.map((entry) => entry.line),
    });
    const patch: ApplicationPatch = {};
    if (name !== application.name) patch.name = name;
    if (
      redirects &&
      !sameList(
        redirect.map((entry) => entry.uri),
        application.redirectUris,
      )
    )
      patch.redirectUris = redirect.map((entry) => entry.uri);
    if (
      redirects &&
      !sameList(
        logout.map((entry) => entry.uri),
        application.postLogoutRedirectUris,
      )
    )
      patch.postLogoutRedirectUris = logout.map((entry) => entry.uri);
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    const result = await update({ id: application.id, patch });
    const payload = result.data?.updateApplication;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.application) onClose();
  }

  const at = (field: 'name' | 'redirectUris' | 'postLogoutRedirectUris') =>
    errorsAt(errors, field, [], field === 'name' ? undefined : (index) => sentLines[field][index]);
  return (
    <ConfirmDialog
      title={`Edit “${application.name}”`}
      confirmLabel="Save changes"
      busy={state.fetching}
      errors={errorsAt(errors, null, EDIT_FIELDS)}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <label htmlFor="edit-application-name">Name</label>
      <input
        id="edit-application-name"
        value={name}
        onChange={(event) => setName(event.target.value)}
        aria-invalid={at('name').length > 0}
        aria-describedby="edit-application-name-errors"
        autoComplete="off"
      />
      <FieldErrors id="edit-application-name-errors" errors={at('name')} />
      {redirects && (
        <>
          <label htmlFor="edit-application-uris">Redirect URIs</label>
          <textarea
            id="edit-application-uris"
            value={uris}
            onChange={(event) => setUris(event.target.value)}
            rows={4}
            wrap="off"
            spellCheck={false}
            aria-invalid={at('redirectUris').length > 0}
            aria-describedby="edit-application-uris-hint edit-application-uris-errors"
          />
          <p className="hint" id="edit-application-uris-hint">
            {URI_HINT}
          </p>
          <FieldErrors id="edit-application-uris-errors" errors={at('redirectUris')} />
          <label htmlFor="edit-application-logout-uris">Post-logout redirect URIs</label>
          <textarea
            id="edit-application-logout-uris"
            value={logoutUris}
            onChange={(event) => setLogoutUris(event.target.value)}
            rows={3}
            wrap="off"
            spellCheck={false}
            aria-invalid={at('postLogoutRedirectUris').length > 0}
            aria-describedby="edit-application-logout-uris-errors"
          />
          <FieldErrors id="edit-application-logout-uris-errors" errors={at('postLogoutRedirectUris')} />
        </>
      )}
    </ConfirmDialog>
  );
}

function DeleteDialog({
  application,
  onClose,
  onDeleted,
}: {
  application: Application;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, remove] = useMutation(ConsoleDeleteApplicationDocument);

  async function confirm() {
    const result = await remove({ id: application.id });
    const payload = result.data?.deleteApplication;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    if (payload?.deletedId) onDeleted();
  }

  return (
    <TypedDeleteDialog
      title={`Delete the application “${application.name}”?`}
      confirmLabel="Delete application"
      what="the application’s name"
      expected={application.name}
      busy={state.fetching}
      errors={errors}
      onConfirm={() => void confirm()}
      onCancel={onClose}
    >
      <p>
        Its secrets and roles go with it, and the tokens it holds are refused from the next request on: people cannot
        sign in to it and its scripts stop. This cannot be undone; to stop it for a while, disable it instead.
        {application.builtIn &&
          application.type === 'SPA' &&
          ' If this is the console, it is made again the next time someone opens it.'}
      </p>
    </TypedDeleteDialog>
  );
}

const CREATE_FIELDS = ['name', 'type', 'redirectUris'];

function CreateApplication({ onCreated }: { onCreated: (name: string, secret: string | null) => void }) {
  const write = usePermission('applications:write');
  const [name, setName] = useState('');
  const [type, setType] = useState<ApplicationType>('SPA');
  const [uris, setUris] = useState('');
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  // The textarea's line of each URI sent (blank lines are not sent), to place the API's errors.
  const [sentLines, setSentLines] = useState<readonly number[]>([]);
  const [state, create] = useMutation(ConsoleCreateApplicationDocument);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const sent = type === 'M2M' ? [] : uriLines(uris);
    setSentLines(sent.map((entry) => entry.line));
    const result = await create({ input: { name, type, redirectUris: sent.map((entry) => entry.uri) } });
    const payload = result.data?.createApplication;
    setErrors(payload?.userErrors ?? []);
    if (payload?.application) {
      setDone(`“${payload.application.name}” was created with client ID ${payload.application.clientId}.`);
      onCreated(payload.application.name, payload.clientSecret ?? null);
      setName('');
      setUris('');
    }
  }

  const at = (field: string) => errorsAt(errors, field, [], (index) => sentLines[index]);
  const disabled = !write.allowed;
  return (
    <section className="card" aria-labelledby="new-application-title">
      <h2 id="new-application-title">New application</h2>
      {state.error && <Notice kind="error">{state.error.message}</Notice>}
      {done && <Notice kind="success">{done}</Notice>}
      <FieldErrors id="new-application-errors" errors={errorsAt(errors, null, CREATE_FIELDS)} />
      <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
        <div>
          <label htmlFor="application-name">Name</label>
          <input
            id="application-name"
            value={name}
            onChange={(event) => setName(event.target.value)}
            disabled={disabled}
            aria-invalid={at('name').length > 0}
            aria-describedby="application-name-errors"
            autoComplete="off"
          />
          <FieldErrors id="application-name-errors" errors={at('name')} />
        </div>
        <div>
          <label htmlFor="application-type">Type</label>
          <select
            id="application-type"
            value={type}
            onChange={(event) => setType(event.target.value as ApplicationType)}
            disabled={disabled}
            aria-describedby="application-type-hint application-type-errors"
          >
            {(Object.keys(TYPES) as ApplicationType[]).map((value) => (
              <option key={value} value={value}>
                {TYPES[value].label} ({value})
              </option>
            ))}
          </select>
          <p className="hint" id="application-type-hint">
            {TYPES[type].hint}
          </p>
          <FieldErrors id="application-type-errors" errors={at('type')} />
        </div>
        <div>
          <label htmlFor="application-uris">Redirect URIs</label>
          <textarea
            id="application-uris"
            value={type === 'M2M' ? '' : uris}
            onChange={(event) => setUris(event.target.value)}
            disabled={disabled || type === 'M2M'}
            rows={4}
            wrap="off"
            spellCheck={false}
            placeholder="https://app.example.com/callback"
            aria-invalid={at('redirectUris').length > 0}
            aria-describedby="application-uris-hint application-uris-errors"
          />
          <p className="hint" id="application-uris-hint">
            {type === 'M2M' ? 'Machine-to-machine applications never redirect.' : URI_HINT}
          </p>
          <FieldErrors id="application-uris-errors" errors={at('redirectUris')} />
        </div>
        <div>
          <button
            type="submit"
            className="button primary"
            disabled={disabled || state.fetching}
            aria-describedby={disabled ? 'new-application-reason' : undefined}
          >
            Create application
          </button>
        </div>
        {disabled && <Reason id="new-application-reason">{write.reason}</Reason>}
      </form>
    </section>
  );
}
