/**
 * Public developer sign-up (POST /developers/signup). The account may need an administrator's approval
 * before it can sign in (the answer says which), so the page ends by saying what happens next.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../../lib/api-client';
import { formErrors, NO_ERRORS, type FormErrors } from '../../lib/form-errors';
import { Link } from '../../lib/router';
import type { SignupResult } from './types';

const FIELDS = ['username', 'email', 'password'] as const;

export function SignupPage({ api }: { api: ApiClient }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<SignupResult | undefined>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      const body = { username: username.trim(), password, ...(email.trim() ? { email: email.trim() } : {}) };
      setDone(await api.post<SignupResult>('/developers/signup', { body, anonymous: true }));
    } catch (e) {
      // A taken name is a 409 without a pointer: it still belongs next to the user name.
      if (e instanceof ApiError && e.status === 409) setErrors({ fields: { username: 'This user name is taken. Choose another.' }, form: undefined });
      else setErrors(formErrors(e, FIELDS));
    } finally {
      setPending(false);
    }
  }

  if (done) {
    return (
      <section className="card portal-public" aria-labelledby="signup-done-title">
        <h1 id="signup-done-title">Account created</h1>
        {done.status === 'pending' ? (
          <p role="status">
            Your developer account <strong>{done.username}</strong> waits for an administrator&apos;s approval. You can sign in once it is approved; until then,
            signing in tells you it is still pending.
          </p>
        ) : (
          <p role="status">
            Your developer account <strong>{done.username}</strong> is ready.
          </p>
        )}
        <p>
          <Link to="/ui/apps">Go to sign in</Link>
        </p>
      </section>
    );
  }

  const fieldError = (name: (typeof FIELDS)[number]) =>
    errors.fields[name] ? (
      <span className="field-error" id={`signup-${name}-error`}>
        {errors.fields[name]}
      </span>
    ) : null;
  const described = (name: (typeof FIELDS)[number], help?: string) => {
    const ids = [help, errors.fields[name] ? `signup-${name}-error` : undefined].filter(Boolean).join(' ');
    return { 'aria-invalid': errors.fields[name] ? true : undefined, 'aria-describedby': ids || undefined };
  };

  return (
    <form className="card portal-public portal-form" onSubmit={(e) => void submit(e)} aria-labelledby="signup-title" noValidate>
      <h1 id="signup-title">Developer sign-up</h1>
      <p className="muted">Create a developer account to get API keys for your applications.</p>
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
      <label>
        User name
        <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} {...described('username', 'signup-username-help')} />
        <span className="field-help muted" id="signup-username-help">
          Lower-case letters, digits, _ and -, 2 to 40 characters.
        </span>
        {fieldError('username')}
      </label>
      <label>
        Email (optional)
        <input name="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} {...described('email')} />
        {fieldError('email')}
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} {...described('password', 'signup-password-help')} />
        <span className="field-help muted" id="signup-password-help">
          At least 12 characters.
        </span>
        {fieldError('password')}
      </label>
      <button type="submit" disabled={pending || !username || !password}>
        {pending ? 'Creating account…' : 'Create account'}
      </button>
      <p className="muted">
        Already have an account? <Link to="/ui/apps">Sign in</Link>
      </p>
    </form>
  );
}
