/**
 * The sign-in form: exchanges a user name and password for a session token at POST /auth/login.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../../lib/api-client';
import { Link } from '../../lib/router';
import { sessionFromLogin, type Session, type TokenResponse } from './session';

export interface SignInPageProps {
  api: ApiClient;
  onSignedIn: (session: Session) => void;
  /** Shown above the form, e.g. after an expired session. */
  notice?: string | undefined;
}

function signInMessage(e: unknown): string {
  if (!(e instanceof ApiError)) return 'Sign-in failed unexpectedly.';
  if (e.status === 401) return 'Wrong user name or password.';
  if (e.status === 429) return 'Too many attempts. Wait a minute and try again.';
  if (e.status === 0) return 'The gateway cannot be reached.';
  return e.message;
}

export function SignInPage({ api, onSignedIn, notice }: SignInPageProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | undefined>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setError(undefined);
    try {
      const res = await api.post<TokenResponse>('/auth/login', { body: { username, password }, anonymous: true });
      onSignedIn(sessionFromLogin(username, res));
    } catch (e) {
      setError(signInMessage(e));
      setPending(false);
    }
  }

  return (
    <main className="sign-in">
      <form className="card sign-in-form" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Gatehouse</h1>
        <p className="muted">Sign in to the admin dashboard.</p>
        {notice && !error && <p className="notice" role="status">{notice}</p>}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <label>
          User name
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" disabled={pending || !username || !password}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted">
          Developer? <Link to="/ui/signup">Sign up</Link> for API keys, or open the invitation link you were sent.
        </p>
      </form>
    </main>
  );
}
