/**
 * Developer accounts for staff (`/ui/developers`): the list with each account's status, groups and
 * applications (operators and admins); invitations, approval and the groups a developer's applications
 * get (admins). Approval and groups are config writes, so they go through the change review.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { ChangeReview } from '../../components/change-review';
import { Section } from '../../components/section';
import { ApiError, type ApiClient } from '../../lib/api-client';
import { useResource } from '../../lib/use-resource';
import { canEdit, isAdmin } from '../auth/roles';
import type { Role } from '../auth/session';
import { SecretOnce } from '../portal/secret-once';

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

type Pending = { kind: 'approve'; dev: Developer } | { kind: 'groups'; dev: Developer; groups: string[] };

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
  const [pending, setPending] = useState<Pending | undefined>();
  const [applying, setApplying] = useState(false);
  const [applyError, setApplyError] = useState<string | undefined>();
  const [editing, setEditing] = useState<{ username: string; text: string } | undefined>();

  async function apply() {
    if (!pending) return;
    setApplying(true);
    setApplyError(undefined);
    try {
      const name = encodeURIComponent(pending.dev.username);
      if (pending.kind === 'approve') await api.post(`/developers/${name}/approve`, { body: {} });
      else await api.post(`/developers/${name}/restrict`, { body: { groups: pending.groups } });
      setPending(undefined);
      setEditing(undefined);
      devs.reload();
    } catch (e) {
      setApplyError((e as Error).message);
    } finally {
      setApplying(false);
    }
  }

  const view = (d: Developer) => ({ username: d.username, status: d.status, groups: d.groups });

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
                              setPending({ kind: 'groups', dev: d, groups: parseGroups(editing.text) });
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
                              <button type="button" onClick={() => setPending({ kind: 'approve', dev: d })} aria-label={`Approve ${d.username}`}>
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
      {pending && (
        <ChangeReview
          title={pending.kind === 'approve' ? `Approve developer ${pending.dev.username}` : `Set the groups of ${pending.dev.username}`}
          before={view(pending.dev)}
          after={pending.kind === 'approve' ? { ...view(pending.dev), status: 'approved' } : { ...view(pending.dev), groups: pending.groups }}
          applyLabel={pending.kind === 'approve' ? 'Approve' : 'Apply groups'}
          pending={applying}
          error={applyError}
          onApply={() => void apply()}
          onCancel={() => {
            setPending(undefined);
            setApplyError(undefined);
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
  const [error, setError] = useState<{ field?: string; message: string } | undefined>();
  const [invitation, setInvitation] = useState<Invitation | undefined>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setPending(true);
    setError(undefined);
    try {
      const g = parseGroups(groups);
      const res = await api.post<Invitation>('/developers/invitations', { body: { username: username.trim(), expires_in_seconds: expires, ...(g.length ? { groups: g } : {}) } });
      setInvitation(res);
      setUsername('');
      setGroups('');
      onInvited();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setError({ field: 'username', message: 'This user name is taken.' });
      else if (e instanceof ApiError && e.errors.length) {
        const first = e.errors[0]!;
        setError({ field: first.path.replace(/^\//, '').split('/')[0], message: first.message });
      } else setError({ message: (e as Error).message });
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
        {error && !error.field && (
          <p className="error" role="alert">
            {error.message}
          </p>
        )}
        <div className="form-row">
          <label>
            User name
            <input name="invite-username" value={username} onChange={(e) => setUsername(e.target.value)} aria-invalid={error?.field === 'username' ? true : undefined} />
            {error?.field === 'username' && <span className="field-error">{error.message}</span>}
          </label>
          <label>
            Groups (optional)
            <input name="invite-groups" value={groups} onChange={(e) => setGroups(e.target.value)} placeholder="partners, beta" aria-invalid={error?.field === 'groups' ? true : undefined} />
            {error?.field === 'groups' && <span className="field-error">{error.message}</span>}
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
