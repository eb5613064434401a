/**
 * Public page an invitation link opens (`/ui/accept-invite?token=…`): the invited developer chooses a
 * password (POST /developers/accept-invite) and can sign in at once; the account is approved by the invite.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, type ApiClient } from '../../lib/api-client';
import { formErrors, NO_ERRORS, type FormErrors } from '../../lib/form-errors';
import { Link, queryOf, useLocation } from '../../lib/router';
import type { SignupResult } from './types';

export function AcceptInvitePage({ api }: { api: ApiClient }) {
  const location = useLocation();
  const [token, setToken] = useState(() => queryOf(location).get('token') ?? '');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [done, setDone] = useState<SignupResult | undefined>();
  const mismatch = confirm !== '' && confirm !== password;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (mismatch) return;
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      setDone(await api.post<SignupResult>('/developers/accept-invite', { body: { token: token.trim(), password }, anonymous: true }));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'GW_ERR_DEVELOPER_INVITE_INVALID') {
        setErrors({ fields: {}, form: 'This invitation is invalid, expired or already used. Ask the administrator for a new one.' });
      } else if (e instanceof ApiError && e.status === 409) {
        setErrors({ fields: {}, form: 'The invited user name is already taken. Ask the administrator for a new invitation.' });
      } else setErrors(formErrors(e, ['token', 'password']));
    } finally {
      setPending(false);
    }
  }

  if (done) {
    return (
      <section className="card portal-public" aria-labelledby="invite-done-title">
        <h1 id="invite-done-title">Invitation accepted</h1>
        <p role="status">
          Your developer account <strong>{done.username}</strong> is ready. Sign in with this user name and your new password.
        </p>
        <p>
          <Link to="/ui/apps">Go to sign in</Link>
        </p>
      </section>
    );
  }

  return (
    <form className="card portal-public portal-form" onSubmit={(e) => void submit(e)} aria-labelledby="invite-title" noValidate>
      <h1 id="invite-title">Accept your invitation</h1>
      <p className="muted">Choose the password of your developer account.</p>
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
      <label>
        Invitation token
        <input name="token" required value={token} onChange={(e) => setToken(e.target.value)} className="mono" aria-invalid={errors.fields.token ? true : undefined} />
        {errors.fields.token && <span className="field-error">{errors.fields.token}</span>}
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} aria-invalid={errors.fields.password ? true : undefined} />
        <span className="field-help muted">At least 12 characters.</span>
        {errors.fields.password && <span className="field-error">{errors.fields.password}</span>}
      </label>
      <label>
        Repeat the password
        <input name="confirm" type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} aria-invalid={mismatch ? true : undefined} />
        {mismatch && <span className="field-error">The passwords differ.</span>}
      </label>
      <button type="submit" disabled={pending || !token || !password || mismatch}>
        {pending ? 'Accepting…' : 'Accept invitation'}
      </button>
    </form>
  );
}
