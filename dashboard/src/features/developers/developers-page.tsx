/**
 * Developer accounts for staff (`/ui/developers`): the list with each account's status, groups and
 * applications (operators and admins); invitations, approval and the groups a developer's applications
 * get (admins). Approval and groups are config writes, so they go through the change review.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { ChangeDialog, errorMessage, type PendingChange } from '../../components/change-dialog';
import { SecretOnce } from '../../components/secret-once';
import { Section } from '../../components/section';
import { ApiError, type ApiClient } from '../../lib/api-client';
import { formErrors, NO_ERRORS, type FormErrors } from '../../lib/form-errors';
import { useResource } from '../../lib/use-resource';
import { canEdit, isAdmin } from '../auth/roles';
import type { Role } from '../auth/session';

export interface Developer {
  username: string;
  status: 'pending' | 'approved';
  groups: string[];
  email?: string;
  applications: number;
  created_at: string;
}

interface Invitation {
  username: string;
  token: string;
  expires_at: string;
}

export interface DevelopersPageProps {
  api: ApiClient;
  role: Role;
  /** Origin the invitation link points at; the page's own by default. */
  origin?: string;
}

const EXPIRIES = [
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '7 days' },
  { seconds: 30 * 86_400, label: '30 days' },
];

export function parseGroups(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

export function DevelopersPage({ api, role, origin = window.location.origin }: DevelopersPageProps) {
  // Viewers may not list developer accounts (GET /developers is operator+): say so instead of failing.
  if (!canEdit(role)) {
    return (
      <section className="card">
        <h1>Developers</h1>
        <p className="empty">Developer accounts are visible to operators and administrators.</p>
      </section>
    );
  }
  return <DevelopersList api={api} admin={isAdmin(role)} origin={origin} />;
}

function DevelopersList({ api, admin, origin }: { api: ApiClient; admin: boolean; origin: string }) {
  const load = useCallback((signal: AbortSignal) => api.get<{ data: Developer[] }>('/developers', { signal }), [api]);
  const devs = useResource(load);
  const [change, setChange] = useState<PendingChange | undefined>();
  const [editing, setEditing] = useState<{ username: string; text: string } | undefined>();

  const view = (d: Developer) => ({ username: d.username, status: d.status, groups: d.groups });
  const path = (d: Developer, action: string) => `/developers/${encodeURIComponent(d.username)}/${action}`;

  function reviewApprove(d: Developer) {
    setChange({
      title: `Approve developer ${d.username}`,
      before: view(d),
      after: { ...view(d), status: 'approved' },
      applyLabel: 'Approve',
      apply: () => api.post(path(d, 'approve'), { body: {} }),
    });
  }

  function reviewGroups(d: Developer, groups: string[]) {
    setChange({
      title: `Set the groups of ${d.username}`,
      before: view(d),
      after: { ...view(d), groups },
      applyLabel: 'Apply groups',
      apply: () => api.post(path(d, 'restrict'), { body: { groups } }),
    });
  }

  return (
    <div className="developers-page">
      <Section title="Developers" level={1} state={devs} onRetry={devs.reload} actions={<button type="button" className="secondary" onClick={devs.reload}>Refresh</button>}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="empty">No developer accounts yet.{admin ? ' Invite one below, or let developers sign up at /ui/signup.' : ''}</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Developer</th>
                    <th scope="col">Status</th>
                    <th scope="col">Groups</th>
                    <th scope="col">Applications</th>
                    <th scope="col">Since</th>
                    {admin && (
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {data.map((d) => (
                    <tr key={d.username}>
                      <td>
                        {d.username}
                        {d.email && <div className="muted">{d.email}</div>}
                      </td>
                      <td>
                        <span className={`badge ${d.status === 'approved' ? 'on' : 'off'}`}>{d.status}</span>
                      </td>
                      <td>
                        {editing?.username === d.username ? (
                          <form
                            className="inline-form"
                            onSubmit={(e) => {
                              e.preventDefault();
                              reviewGroups(d, parseGroups(editing.text));
                            }}
                          >
                            <label>
                              <span className="sr-only">Groups of {d.username}</span>
                              <input value={editing.text} onChange={(e) => setEditing({ username: d.username, text: e.target.value })} aria-describedby="groups-help" autoFocus />
                            </label>
                            <button type="submit">Review</button>
                            <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
                              Cancel
                            </button>
                          </form>
                        ) : d.groups.length ? (
                          d.groups.join(', ')
                        ) : (
                          <span className="muted">none</span>
                        )}
                      </td>
                      <td>{d.applications}</td>
                      <td>{new Date(d.created_at).toLocaleDateString()}</td>
                      {admin && (
                        <td>
                          <div className="actions">
                            {d.status === 'pending' && (
                              <button type="button" onClick={() => reviewApprove(d)} aria-label={`Approve ${d.username}`}>
                                Approve
                              </button>
                            )}
                            {editing?.username !== d.username && (
                              <button type="button" className="secondary" onClick={() => setEditing({ username: d.username, text: d.groups.join(', ') })} aria-label={`Set groups of ${d.username}`}>
                                Groups…
                              </button>
                            )}
                          </div>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
              {admin && (
                <p className="muted" id="groups-help">
                  Groups decide what a developer&apos;s applications may reach through acl plugins; they apply to existing and new applications. No groups: only
                  routes open to any consumer.
                </p>
              )}
            </div>
          )
        }
      </Section>
      {admin && <InviteForm api={api} origin={origin} onInvited={devs.reload} />}
      {change && (
        <ChangeDialog
          change={change}
          renderError={errorMessage}
          onClose={() => setChange(undefined)}
          onApplied={() => {
            setChange(undefined);
            setEditing(undefined);
            devs.reload();
          }}
        />
      )}
    </div>
  );
}

function InviteForm({ api, origin, onInvited }: { api: ApiClient; origin: string; onInvited: () => void }) {
  const [username, setUsername] = useState('');
  const [groups, setGroups] = useState('');
  const [expires, setExpires] = useState(7 * 86_400);
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [invitation, setInvitation] = useState<Invitation | undefined>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      const g = parseGroups(groups);
      const res = await api.post<Invitation>('/developers/invitations', { body: { username: username.trim(), expires_in_seconds: expires, ...(g.length ? { groups: g } : {}) } });
      setInvitation(res);
      setUsername('');
      setGroups('');
      onInvited();
    } catch (e) {
      // A taken name is a 409 without a pointer: it still belongs next to the user name.
      if (e instanceof ApiError && e.status === 409) setErrors({ fields: { username: 'This user name is taken.' }, form: undefined });
      else setErrors(formErrors(e, ['username', 'groups']));
    } finally {
      setPending(false);
    }
  }

  const link = invitation ? `${origin}/ui/accept-invite?token=${encodeURIComponent(invitation.token)}` : '';
  return (
    <section className="card" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite a developer</h2>
      {invitation && (
        <SecretOnce
          label={`Invitation for ${invitation.username} (valid until ${new Date(invitation.expires_at).toLocaleString()})`}
          secret={link}
          what="invitation link"
          ifLost="If it is lost before it is used, create a new invitation."
          onDismiss={() => setInvitation(undefined)}
        />
      )}
      <form className="invite-form" onSubmit={(e) => void submit(e)} noValidate>
        {errors.form && (
          <p className="error" role="alert">
            {errors.form}
          </p>
        )}
        <div className="form-row">
          <label>
            User name
            <input name="invite-username" value={username} onChange={(e) => setUsername(e.target.value)} aria-invalid={errors.fields.username ? true : undefined} />
            {errors.fields.username && <span className="field-error">{errors.fields.username}</span>}
          </label>
          <label>
            Groups (optional)
            <input name="invite-groups" value={groups} onChange={(e) => setGroups(e.target.value)} placeholder="partners, beta" aria-invalid={errors.fields.groups ? true : undefined} />
            {errors.fields.groups && <span className="field-error">{errors.fields.groups}</span>}
          </label>
          <label>
            Valid for
            <select value={expires} onChange={(e) => setExpires(Number(e.target.value))}>
              {EXPIRIES.map((x) => (
                <option key={x.seconds} value={x.seconds}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <button type="submit" disabled={pending || !username.trim()}>
          {pending ? 'Inviting…' : 'Create invitation'}
        </button>
      </form>
    </section>
  );
}
