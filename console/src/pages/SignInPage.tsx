import { useState, type FormEvent } from 'react';
import { lastRealm, SignInError, startSignIn } from '../auth.ts';
import { Notice } from '../components.tsx';

/** Before signing in: which realm to administer; the realm's own sign-in page asks who you are. */
export function SignInPage({ problem }: { problem: string | null }) {
  const [realm, setRealm] = useState(lastRealm);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(problem);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await startSignIn(realm, `${location.pathname}${location.search}`.replace(/\/callback$/, '/'));
    } catch (caught) {
      setBusy(false);
      setError(caught instanceof SignInError ? caught.message : 'Roster could not be reached. Try again.');
    }
  }

  return (
    <main className="sign-in" id="main">
      <form className="card sign-in-card" onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
        <div className="brand large">
          <span className="logo" aria-hidden="true">
            R
          </span>
          <span>Roster console</span>
        </div>
        <h1 id="sign-in-title">Sign in to administer a realm</h1>
        <p className="muted">
          You sign in with your own account on the realm’s sign-in page. What you can see and change here follows from
          your roles’ management scopes.
        </p>
        {error && <Notice kind="error">{error}</Notice>}
        <label htmlFor="realm">Realm</label>
        <input
          id="realm"
          name="realm"
          value={realm}
          onChange={(event) => setRealm(event.target.value)}
          required
          autoComplete="off"
          spellCheck={false}
        />
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Opening the sign-in page…' : 'Continue to sign in'}
        </button>
      </form>
    </main>
  );
}
