import { useState } from 'react';
import { useMutation } from 'urql';
import { FieldErrors, Notice, Reason, Section, When } from '../../components.tsx';
import {
  ConsoleDeleteUserPasskeysDocument,
  ConsoleResetUserMfaDocument,
  ConsoleUnlinkUserIdentityDocument,
  type ConsoleUserQuery,
  type MfaFactorType,
} from '../../generated/graphql.ts';
import { usePermission } from '../../scopes.ts';
import type { FieldError } from '../../user-errors.ts';

type User = NonNullable<ConsoleUserQuery['user']>;

const FACTOR_LABELS: Record<MfaFactorType, string> = {
  TOTP: 'Authenticator app',
  RECOVERY_CODES: 'Recovery codes',
  WEBAUTHN: 'Passkey',
};

export function MfaFactors({ user }: { user: User }) {
  const write = usePermission('users:write');
  const [reset, resetMfa] = useMutation(ConsoleResetUserMfaDocument);
  const [removed, removePasskeys] = useMutation(ConsoleDeleteUserPasskeysDocument);
  const [errors, setErrors] = useState<readonly FieldError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const busy = reset.fetching || removed.fetching;
  const codes = user.mfaFactors.filter((factor) => factor.type !== 'WEBAUTHN').length;
  const passkeys = user.mfaFactors.length - codes;

  async function run(kind: 'mfa' | 'passkeys') {
    setDone(null);
    const result =
      kind === 'mfa'
        ? (await resetMfa({ id: user.id })).data?.resetUserMfa
        : (await removePasskeys({ id: user.id })).data?.deleteUserPasskeys;
    setErrors(result?.userErrors ?? []);
    if (result?.user)
      setDone(
        kind === 'mfa'
          ? 'The authenticator app and recovery codes were removed and the user’s sessions ended; they can enrol again at their next sign-in.'
          : 'The passkeys were removed and the user’s sessions ended.',
      );
  }
  const why = (none: boolean, what: string) => write.reason ?? (none ? `The user has no ${what}.` : null);
  const mfaWhy = why(codes === 0, 'authenticator app or recovery codes');
  const passkeyWhy = why(passkeys === 0, 'passkeys');

  return (
    <Section title="Second factors" id="mfa-title">
      {(reset.error ?? removed.error) && <Notice kind="error">{(reset.error ?? removed.error)!.message}</Notice>}
      <FieldErrors id="mfa-errors" errors={errors} />
      {done && <Notice kind="success">{done}</Notice>}
      {user.mfaFactors.length === 0 ? (
        <p className="muted">No second factor enrolled.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col">Enrolled</th>
              <th scope="col">Last used</th>
            </tr>
          </thead>
          <tbody>
            {user.mfaFactors.map((factor) => (
              <tr key={factor.id} className="mfa-factor">
                <td>
                  <div>{FACTOR_LABELS[factor.type]}</div>
                  {factor.name && <div className="muted small">{factor.name}</div>}
                </td>
                <td>
                  <When at={factor.createdAt} />
                </td>
                <td>
                  <When at={factor.lastUsedAt} never="Never" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="section-actions">
        <button
          type="button"
          className="button danger"
          disabled={mfaWhy !== null || busy}
          aria-describedby={mfaWhy ? 'mfa-reset-reason' : undefined}
          onClick={() => void run('mfa')}
        >
          Reset authenticator and recovery codes
        </button>
        <button
          type="button"
          className="button danger"
          disabled={passkeyWhy !== null || busy}
          aria-describedby={!passkeyWhy ? undefined : passkeyWhy === mfaWhy ? 'mfa-reset-reason' : 'passkeys-reason'}
          onClick={() => void run('passkeys')}
        >
          Remove passkeys
        </button>
      </div>
      {mfaWhy && <Reason id="mfa-reset-reason">{mfaWhy}</Reason>}
      {passkeyWhy && passkeyWhy !== mfaWhy && <Reason id="passkeys-reason">{passkeyWhy}</Reason>}
    </Section>
  );
}

export function Identities({ user }: { user: User }) {
  const write = usePermission('users:write');
  const [unlinked, unlink] = useMutation(ConsoleUnlinkUserIdentityDocument);
  const [errors, setErrors] = useState<Record<string, readonly FieldError[]>>({});

  async function remove(identity: User['identities'][number]) {
    const result = (
      await unlink({ userId: user.id, provider: identity.provider, providerUserId: identity.providerUserId })
    ).data?.unlinkUserIdentity;
    setErrors((current) => ({ ...current, [identity.id]: result?.userErrors ?? [] }));
  }

  return (
    <Section title="Linked identities" id="identities-title">
      {unlinked.error && <Notice kind="error">{unlinked.error.message}</Notice>}
      {user.identities.length === 0 ? (
        <p className="muted">No identity provider is linked.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Their id there</th>
              <th scope="col">Linked</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {user.identities.map((identity) => (
              <tr key={identity.id} className="identity">
                <td>{identity.provider}</td>
                <td>
                  <div>{identity.providerUserId}</div>
                  {identity.email && <div className="muted small">{identity.email}</div>}
                </td>
                <td>
                  <When at={identity.linkedAt} />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="button small"
                    disabled={!write.allowed || unlinked.fetching}
                    aria-describedby={write.allowed ? undefined : 'identities-reason'}
                    aria-label={`Unlink ${identity.provider} ${identity.providerUserId}`}
                    onClick={() => void remove(identity)}
                  >
                    Unlink
                  </button>
                  <FieldErrors id={`identity-${identity.id}-errors`} errors={errors[identity.id] ?? []} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!write.allowed && user.identities.length > 0 && <Reason id="identities-reason">{write.reason}</Reason>}
    </Section>
  );
}
