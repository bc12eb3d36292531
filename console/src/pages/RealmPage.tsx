import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { FieldErrors, Notice, Reason } from '../components.tsx';
import {
  ConsoleRealmDocument,
  ConsoleUpdateRealmSettingsDocument,
  type ConsoleRealmSettingsFragment,
  type MfaPolicy,
  type ProfileField,
  type RealmSettingsPatch,
  type TenancyMode,
} from '../generated/graphql.ts';
import { errorsAt } from '../input-errors.ts';
import { usePermission } from '../scopes.ts';
import { requestFailed, type FieldError } from '../user-errors.ts';

type Settings = ConsoleRealmSettingsFragment['settings'];

/** The settings entered as numbers of seconds, days or sign-ins, with what the API allows (its descriptions). */
const NUMBERS = {
  accessTokenTtlSeconds: { label: 'Access token lifetime (seconds)', hint: '300 to 86,400.' },
  sessionIdleTimeoutSeconds: {
    label: 'Session idle timeout (seconds)',
    hint: '300 to 31,536,000, at most the maximum lifetime.',
  },
  sessionMaxLifetimeSeconds: { label: 'Session maximum lifetime (seconds)', hint: '300 to 31,536,000.' },
  maxFailedSignIns: { label: 'Failed sign-ins before a lockout', hint: '1 to 100.' },
  failedSignInWindowSeconds: {
    label: 'Failed sign-in window (seconds)',
    hint: 'How long a failure keeps counting: 60 to 86,400.',
  },
  lockoutSeconds: { label: 'First lockout (seconds)', hint: 'Doubles with each further lockout: 60 to 86,400.' },
  webhookResponseRetentionDays: { label: 'Webhook answers kept (days)', hint: '1 to 365.' },
  passwordMinLength: {
    label: 'Minimum password length (characters)',
    hint: '8 to 128; applies to passwords set from now on.',
  },
} as const;

type NumberKey = keyof typeof NUMBERS;

const MFA_POLICIES: Record<MfaPolicy, string> = {
  OFF: 'Off: second factors are not offered',
  OPTIONAL: 'Optional: users may enrol a second factor',
  REQUIRED: 'Required: users must enrol a second factor to sign in',
};

const TENANCY_MODES: Record<TenancyMode, string> = {
  SHARED_POOL: 'Shared pool: a user may belong to any number of tenants',
  ISOLATED_POOL: 'Isolated pool: a user belongs to at most one tenant',
};

const PROFILE_FIELDS: Record<ProfileField, string> = {
  NAME: 'Name',
  PHONE: 'Phone number',
  BIRTHDATE: 'Birthdate',
  COUNTRY: 'Country',
  PICTURE: 'Picture',
};

interface Draft {
  numbers: Record<NumberKey, string>;
  mfaPolicy: MfaPolicy;
  requireEmailVerification: boolean;
  requiredProfileFields: ProfileField[];
  mailFrom: string;
  impersonationEnabled: boolean;
  impersonateAdministrators: boolean;
  tenancyMode: TenancyMode;
}

const draftOf = (settings: Settings): Draft => ({
  numbers: Object.fromEntries(
    (Object.keys(NUMBERS) as NumberKey[]).map((key) => [key, String(settings[key])]),
  ) as Record<NumberKey, string>,
  mfaPolicy: settings.mfaPolicy,
  requireEmailVerification: settings.requireEmailVerification,
  requiredProfileFields: [...settings.requiredProfileFields],
  mailFrom: settings.mailFrom ?? '',
  impersonationEnabled: settings.impersonationEnabled,
  impersonateAdministrators: settings.impersonateAdministrators,
  tenancyMode: settings.tenancyMode,
});

/** The changed settings as the API's patch, or the fields that are not whole numbers. */
function patchOf(settings: Settings, draft: Draft): { patch: RealmSettingsPatch; invalid: FieldError[] } {
  const patch: RealmSettingsPatch = {};
  const invalid: FieldError[] = [];
  for (const key of Object.keys(NUMBERS) as NumberKey[]) {
    const text = draft.numbers[key].trim();
    if (!/^\d+$/.test(text)) {
      invalid.push({ field: ['input', 'patch', key], code: 'INVALID', message: 'Enter a whole number.' });
    } else if (Number(text) !== settings[key]) patch[key] = Number(text);
  }
  if (draft.mfaPolicy !== settings.mfaPolicy) patch.mfaPolicy = draft.mfaPolicy;
  if (draft.requireEmailVerification !== settings.requireEmailVerification)
    patch.requireEmailVerification = draft.requireEmailVerification;
  const fields = [...draft.requiredProfileFields].sort();
  if (fields.join() !== [...settings.requiredProfileFields].sort().join()) patch.requiredProfileFields = fields;
  const mailFrom = draft.mailFrom.trim() || null;
  if (mailFrom !== (settings.mailFrom ?? null)) patch.mailFrom = mailFrom;
  if (draft.impersonationEnabled !== settings.impersonationEnabled)
    patch.impersonationEnabled = draft.impersonationEnabled;
  if (draft.impersonateAdministrators !== settings.impersonateAdministrators)
    patch.impersonateAdministrators = draft.impersonateAdministrators;
  if (draft.tenancyMode !== settings.tenancyMode) patch.tenancyMode = draft.tenancyMode;
  return { patch, invalid };
}

export function RealmPage() {
  const read = usePermission('realm:read');
  const [{ data, error }] = useQuery({ query: ConsoleRealmDocument, pause: !read.allowed });
  // Kept here: the form is made again from the saved settings (its key).
  const [saved, setSaved] = useState<string | null>(null);
  if (!read.allowed) return <Notice kind="error">{read.reason}</Notice>;
  const realm = data?.realm;
  return (
    <div className="realm-page">
      <div className="page-head">
        <h1>Realm settings</h1>
        <p className="muted">
          {realm ? (realm.displayName ? `${realm.displayName} (${realm.name})` : realm.name) : ' '}
        </p>
      </div>
      {error && <Notice kind="error">{error.message}</Notice>}
      {saved && <Notice kind="success">{saved}</Notice>}
      {realm && <SettingsForm key={JSON.stringify(realm.settings)} settings={realm.settings} onSaved={setSaved} />}
    </div>
  );
}

function SettingsForm({ settings, onSaved }: { settings: Settings; onSaved: (message: string | null) => void }) {
  const write = usePermission('realm:write');
  const [draft, setDraft] = useState<Draft>(() => draftOf(settings));
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [state, update] = useMutation(ConsoleUpdateRealmSettingsDocument);
  const disabled = !write.allowed;
  const set = (patch: Partial<Draft>) => {
    onSaved(null);
    setDraft((current) => ({ ...current, ...patch }));
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    const { patch, invalid } = patchOf(settings, draft);
    if (invalid.length) return setErrors(invalid);
    if (Object.keys(patch).length === 0) return setErrors([]);
    const result = await update({ input: { patch } });
    const payload = result.data?.updateRealmSettings;
    setErrors(payload?.userErrors ?? requestFailed(result.error?.message));
    const count = Object.keys(patch).length;
    if (payload?.realm) onSaved(`Saved: ${count} ${count === 1 ? 'setting' : 'settings'} changed.`);
  }

  const numberField = (key: NumberKey) => {
    const fieldErrors = errorsAt(errors, key);
    return (
      <div key={key}>
        <label htmlFor={`realm-${key}`}>{NUMBERS[key].label}</label>
        <input
          id={`realm-${key}`}
          inputMode="numeric"
          value={draft.numbers[key]}
          onChange={(event) => set({ numbers: { ...draft.numbers, [key]: event.target.value } })}
          disabled={disabled}
          aria-invalid={fieldErrors.length > 0}
          aria-describedby={`realm-${key}-errors realm-${key}-hint`}
        />
        <FieldErrors id={`realm-${key}-errors`} errors={fieldErrors} />
        <p className="hint" id={`realm-${key}-hint`}>
          {NUMBERS[key].hint}
        </p>
      </div>
    );
  };
  const fieldErrors = (key: string) => <FieldErrors id={`realm-${key}-errors`} errors={errorsAt(errors, key)} />;

  return (
    <form className="realm-form" onSubmit={(event) => void submit(event)} noValidate>
      <FieldErrors
        id="realm-errors"
        errors={errorsAt(errors, null, [...Object.keys(NUMBERS), ...Object.keys(draftOf(settings))])}
      />
      <div className="user-grid">
        <Group title="Sign-in">
          <label htmlFor="realm-mfaPolicy">Second factors</label>
          <select
            id="realm-mfaPolicy"
            value={draft.mfaPolicy}
            onChange={(event) => set({ mfaPolicy: event.target.value as MfaPolicy })}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'mfaPolicy').length > 0}
            aria-describedby="realm-mfaPolicy-errors"
          >
            {(Object.keys(MFA_POLICIES) as MfaPolicy[]).map((policy) => (
              <option key={policy} value={policy}>
                {MFA_POLICIES[policy]}
              </option>
            ))}
          </select>
          {fieldErrors('mfaPolicy')}
          <label className="check">
            <input
              type="checkbox"
              checked={draft.requireEmailVerification}
              onChange={(event) => set({ requireEmailVerification: event.target.checked })}
              disabled={disabled}
            />
            Users must verify their email address before signing in
          </label>
          <fieldset disabled={disabled} aria-describedby="realm-requiredProfileFields-errors">
            <legend>Required profile fields</legend>
            {(Object.keys(PROFILE_FIELDS) as ProfileField[]).map((field) => (
              <label key={field} className="check">
                <input
                  type="checkbox"
                  checked={draft.requiredProfileFields.includes(field)}
                  onChange={(event) =>
                    set({
                      requiredProfileFields: event.target.checked
                        ? [...draft.requiredProfileFields, field]
                        : draft.requiredProfileFields.filter((f) => f !== field),
                    })
                  }
                />
                {PROFILE_FIELDS[field]}
              </label>
            ))}
          </fieldset>
          {fieldErrors('requiredProfileFields')}
        </Group>
        <Group title="Tokens and sessions">
          {numberField('accessTokenTtlSeconds')}
          {numberField('sessionIdleTimeoutSeconds')}
          {numberField('sessionMaxLifetimeSeconds')}
        </Group>
        <Group title="Passwords and lockout">
          {numberField('passwordMinLength')}
          {numberField('maxFailedSignIns')}
          {numberField('failedSignInWindowSeconds')}
          {numberField('lockoutSeconds')}
        </Group>
        <Group title="Email, tenancy, impersonation and webhooks">
          <label htmlFor="realm-mailFrom">Sender of emails (optional)</label>
          <input
            id="realm-mailFrom"
            value={draft.mailFrom}
            onChange={(event) => set({ mailFrom: event.target.value })}
            placeholder="Example <no-reply@example.com>"
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'mailFrom').length > 0}
            aria-describedby="realm-mailFrom-errors realm-mailFrom-hint"
          />
          {fieldErrors('mailFrom')}
          <p className="hint" id="realm-mailFrom-hint">
            Empty: no-reply at the host of the server’s public URL.
          </p>
          <label htmlFor="realm-tenancyMode">Tenancy</label>
          <select
            id="realm-tenancyMode"
            value={draft.tenancyMode}
            onChange={(event) => set({ tenancyMode: event.target.value as TenancyMode })}
            disabled={disabled}
            aria-invalid={errorsAt(errors, 'tenancyMode').length > 0}
            aria-describedby="realm-tenancyMode-errors"
          >
            {(Object.keys(TENANCY_MODES) as TenancyMode[]).map((mode) => (
              <option key={mode} value={mode}>
                {TENANCY_MODES[mode]}
              </option>
            ))}
          </select>
          {fieldErrors('tenancyMode')}
          <label className="check">
            <input
              type="checkbox"
              checked={draft.impersonationEnabled}
              onChange={(event) => set({ impersonationEnabled: event.target.checked })}
              disabled={disabled}
            />
            Applications with users:impersonate may act as users (token exchange)
          </label>
          {fieldErrors('impersonationEnabled')}
          <label className="check">
            <input
              type="checkbox"
              checked={draft.impersonateAdministrators}
              onChange={(event) => set({ impersonateAdministrators: event.target.checked })}
              disabled={disabled}
            />
            Administrators may be impersonated too
          </label>
          {fieldErrors('impersonateAdministrators')}
          {numberField('webhookResponseRetentionDays')}
        </Group>
      </div>
      <div className="section-actions">
        <button
          type="button"
          className="button"
          disabled={disabled || state.fetching}
          onClick={() => {
            setErrors([]);
            onSaved(null);
            setDraft(draftOf(settings));
          }}
        >
          Discard changes
        </button>
        <button
          type="submit"
          className="button primary"
          disabled={disabled || state.fetching}
          aria-describedby={disabled ? 'realm-write-reason' : undefined}
        >
          Save settings
        </button>
      </div>
      {disabled && <Reason id="realm-write-reason">{write.reason}</Reason>}
    </form>
  );
}

function Group({ title, children }: { title: string; children: ReactNode }) {
  const id = `realm-group-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}
