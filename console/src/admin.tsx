/** Pieces the admin screens share: a confirmation dialog, one that asks for a name to be typed, and a secret shown once. */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { FieldErrors } from './components.tsx';
import type { FieldError } from './user-errors.ts';

/**
 * A modal confirmation (the browser's own `<dialog>`: focus stays inside, Escape cancels). The
 * first control inside gets the focus; without one, Cancel does, so Enter never confirms by accident.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger = false,
  canConfirm = true,
  busy = false,
  errors = [],
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  canConfirm?: boolean;
  busy?: boolean;
  errors?: readonly FieldError[];
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current!;
    dialog.showModal();
    return () => dialog.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby={`${id}-title`}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (canConfirm && !busy) onConfirm();
        }}
      >
        <h2 id={`${id}-title`}>{title}</h2>
        {children}
        <FieldErrors id={`${id}-errors`} errors={errors} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className={danger ? 'button danger' : 'button primary'} disabled={!canConfirm || busy}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * A deletion confirmed by typing `expected` (a name or slug, exactly): the Delete button stays
 * disabled until it matches. `what` names it in the label ("the role’s name").
 */
export function TypedDeleteDialog({
  title,
  confirmLabel,
  what,
  expected,
  busy,
  errors,
  onConfirm,
  onCancel,
  children,
}: {
  title: string;
  confirmLabel: string;
  what: string;
  expected: string;
  busy: boolean;
  errors: readonly FieldError[];
  onConfirm: () => void;
  onCancel: () => void;
  children: ReactNode;
}) {
  const [typed, setTyped] = useState('');
  const id = useId();
  return (
    <ConfirmDialog
      title={title}
      confirmLabel={confirmLabel}
      danger
      canConfirm={typed === expected}
      busy={busy}
      errors={errors}
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      {children}
      <label htmlFor={`${id}-typed`}>
        Type {what}, {expected}, to confirm
      </label>
      <input
        id={`${id}-typed`}
        value={typed}
        onChange={(event) => setTyped(event.target.value)}
        autoComplete="off"
        spellCheck={false}
      />
    </ConfirmDialog>
  );
}

/**
 * A client secret, shown this once: Roster stores only its hash, so it is kept nowhere but in
 * this component's state (not in the address, the storage or the document cache).
 */
export function SecretOnce({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const id = useId();
  useEffect(() => field.current?.focus(), [secret]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      field.current?.select();
      setCopied('failed');
    }
  }

  return (
    <section className="secret-once" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Client secret of “{name}”</h2>
      <p className="secret-warning" role="alert">
        Copy this secret now and keep it somewhere safe: it is shown only this once. Roster stores only a hash of it, so
        it cannot show it again; if it is lost, rotate the secret.
      </p>
      <label htmlFor={`${id}-value`}>Client secret</label>
      <div className="inline">
        <input
          id={`${id}-value`}
          ref={field}
          className="secret-value"
          readOnly
          value={secret}
          spellCheck={false}
          onFocus={(event) => event.target.select()}
        />
        <button type="button" className="button primary" onClick={() => void copy()}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="hint" aria-live="polite">
        {copied === 'yes' && 'Copied to the clipboard.'}
        {copied === 'failed' && 'The browser refused the clipboard: the secret is selected, copy it with Ctrl+C.'}
      </p>
      <button type="button" className="button" onClick={onDone}>
        I have stored the secret
      </button>
    </section>
  );
}
