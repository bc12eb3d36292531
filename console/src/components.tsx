import type { ReactNode } from 'react';
import type { AuthMethod, MfaFactorType, UserStatus } from './generated/graphql.ts';
import { hrefOf, navigate } from './router.ts';
import type { FieldError } from './user-errors.ts';

export function Notice({ kind, children }: { kind: 'error' | 'info' | 'success'; children: ReactNode }) {
  return (
    <div className={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A link inside the console: a real link (open in a new tab works), followed without reloading. */
export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={hrefOf(to)}
      className={className}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export const STATUS_LABELS: Record<UserStatus, string> = {
  ACTIVE: 'Active',
  INVITED: 'Invited',
  PENDING_VERIFICATION: 'Pending verification',
  SUSPENDED: 'Suspended',
  INACTIVE: 'Inactive',
  DELETED: 'Deleted',
};

export const METHOD_LABELS: Record<AuthMethod, string> = {
  PASSWORD: 'Password',
  PASSKEY: 'Passkey',
  EMAIL_CODE: 'Email code',
  PHONE: 'Phone code',
  OAUTH: 'Identity provider',
};

export const FACTOR_LABELS: Record<MfaFactorType, string> = {
  TOTP: 'Authenticator app',
  WEBAUTHN: 'Security key',
  RECOVERY_CODES: 'Recovery codes',
};

/** Country names in the browser's language (null where Intl.DisplayNames is missing). */
export const regionNames = (() => {
  try {
    return new Intl.DisplayNames(undefined, { type: 'region' });
  } catch {
    return null;
  }
})();

export function StatusBadge({ status }: { status: UserStatus }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{STATUS_LABELS[status]}</span>;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const toTheSecond = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function When({
  at,
  withTime = true,
  seconds = false,
  never = '—',
}: {
  at: string | null | undefined;
  withTime?: boolean;
  /** With the seconds (e.g. events of the same minute in a log). */
  seconds?: boolean;
  never?: string;
}) {
  if (!at) return <span className="muted">{never}</span>;
  const value = new Date(at);
  return (
    <time dateTime={at} title={value.toISOString()}>
      {(withTime ? (seconds ? toTheSecond : dateTime) : date).format(value)}
    </time>
  );
}

/**
 * The refusals of a field, announced as they appear. The alert is a box around the list: a list
 * given the alert role would no longer be a list to assistive technology.
 */
export function FieldErrors({ id, errors }: { id?: string; errors: readonly (FieldError | string)[] }) {
  if (!errors.length) return null;
  return (
    <div className="field-errors" id={id} role="alert">
      <ul>
        {errors.map((error) =>
          typeof error === 'string' ? (
            <li key={error}>{error}</li>
          ) : (
            <li key={`${error.code}:${error.message}`}>{error.message}</li>
          ),
        )}
      </ul>
    </div>
  );
}

/** Why a control is disabled, for the administrator and for screen readers (`aria-describedby`). */
export function Reason({ id, children }: { id: string; children: ReactNode }) {
  return (
    <p className="reason" id={id}>
      {children}
    </p>
  );
}

export function Section({
  title,
  children,
  id,
  wide = false,
}: {
  title: string;
  children: ReactNode;
  id: string;
  /** Across the whole width of a grid of cards. */
  wide?: boolean;
}) {
  return (
    <section className={wide ? 'card wide' : 'card'} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** "Showing 21–40 of 45": `shown` items from the `first`-th (from 1) of `total`. */
export function showing(first: number, shown: number, total: number): string {
  return `Showing ${first.toLocaleString()}–${(first + shown - 1).toLocaleString()} of ${total.toLocaleString()}`;
}

/**
 * Keyset paging over a connection: the cursors of the pages before this one (null: the first).
 * The buttons say Newer and Older for lists newest first, Previous and Next page otherwise.
 */
export function Pager({
  label,
  newestFirst = true,
  cursors,
  setCursors,
  hasNextPage,
  endCursor,
  busy = false,
}: {
  label: string;
  newestFirst?: boolean;
  cursors: readonly (string | null)[];
  setCursors: (update: (stack: (string | null)[]) => (string | null)[]) => void;
  hasNextPage: boolean;
  endCursor: string | null | undefined;
  /** While the page asked for is loading (the one shown is not it): both disabled. */
  busy?: boolean;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button
        type="button"
        className="button"
        disabled={busy || cursors.length < 2}
        onClick={() => setCursors((stack) => stack.slice(0, -1))}
      >
        {newestFirst ? 'Newer' : 'Previous page'}
      </button>
      <button
        type="button"
        className="button"
        disabled={busy || !hasNextPage || !endCursor}
        onClick={() => endCursor && setCursors((stack) => [...stack, endCursor])}
      >
        {newestFirst ? 'Older' : 'Next page'}
      </button>
    </nav>
  );
}
