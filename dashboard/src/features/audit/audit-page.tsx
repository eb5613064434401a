/**
 * Audit: who changed what and when (GET /audit, newest first), filtered by user, action, target and
 * time, each entry opening to the before/after diff the server recorded. Whole-config changes
 * (config.replace, versions.rollback) record only version numbers, so those entries can load the two
 * versions and diff the documents. The server answers the audit log to admins only.
 */
import { useCallback, useId, useState, type FormEvent } from 'react';
import { DiffView } from '../../components/change-review';
import { Section } from '../../components/section';
import type { ApiClient } from '../../lib/api-client';
import { formatTime } from '../../lib/format';
import { diffLines, stableJson } from '../../lib/line-diff';
import { Link, queryOf, navigate, useLocation } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import { isAdmin } from '../auth/roles';
import type { Session } from '../auth/session';

export interface AuditEvent {
  id: number;
  at: string;
  actor: string;
  actor_role: string;
  actor_via: string;
  action: string;
  target_kind: string | null;
  target_key: string | null;
  before: unknown;
  after: unknown;
  status: number;
  request_id: string | null;
  source_ip: string | null;
}

export interface AuditPage {
  data: AuditEvent[];
  next_cursor: number | null;
}

const FILTERS = ['actor', 'action', 'target', 'since'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const PAGE = 50;

function auditPath(f: Filters, cursor?: number): string {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) p.set(k, f[k]!);
  p.set('limit', String(PAGE));
  if (cursor !== undefined) p.set('cursor', String(cursor));
  return `/audit?${p.toString()}`;
}

/** `datetime-local` has no zone; the audit API wants an RFC 3339 instant. */
function toInstant(local: string): string {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function AuditLogPage({ api, session }: { api: ApiClient; session: Session }) {
  const location = useLocation();
  if (!isAdmin(session.role)) {
    return (
      <section className="card" aria-labelledby="audit-title">
        <h1 id="audit-title">Audit log</h1>
        <p className="empty">The audit log names who changed what, so only admins can read it. Ask an admin, or see the config history.</p>
        <p>
          <Link to="/ui/history">Config history</Link>
        </p>
      </section>
    );
  }
  const q = queryOf(location);
  const filters: Filters = {};
  for (const k of FILTERS) {
    const v = q.get(k);
    if (v) filters[k] = v;
  }
  const key = auditPath(filters);
  return <AuditList key={key} api={api} filters={filters} />;
}

function setFilters(f: Filters) {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) p.set(k, f[k]!);
  const qs = p.toString();
  navigate(`${window.location.pathname}${qs ? `?${qs}` : ''}`, { replace: true });
}

function AuditList({ api, filters }: { api: ApiClient; filters: Filters }) {
  const firstPath = auditPath(filters);
  const first = useResource(useCallback((signal: AbortSignal) => api.get<AuditPage>(firstPath, { signal }), [api, firstPath]));
  const [more, setMore] = useState<{ events: AuditEvent[]; next: number | null } | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string | undefined>();

  async function loadOlder(cursor: number) {
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api.get<AuditPage>(auditPath(filters, cursor));
      setMore((m) => ({ events: [...(m?.events ?? []), ...page.data], next: page.next_cursor }));
    } catch (e) {
      setMoreError((e as Error).message);
    } finally {
      setLoadingMore(false);
    }
  }

  function refresh() {
    setMore(undefined);
    first.reload();
  }

  const filtered = FILTERS.some((k) => filters[k]);
  return (
    <div className="audit-page">
      <Section
        title="Audit log"
        level={1}
        state={first}
        onRetry={first.reload}
        actions={
          <button type="button" className="secondary" onClick={refresh}>
            Refresh
          </button>
        }
      >
        {(page) => {
          const events = [...page.data, ...(more?.events ?? [])];
          const next = more ? more.next : page.next_cursor;
          return (
            <>
              <FilterForm filters={filters} />
              {events.length === 0 ? (
                <p className="empty">{filtered ? 'No changes match these filters.' : 'No changes recorded yet.'}</p>
              ) : (
                <div className="table-wrap">
                  <table aria-label="Audit events">
                    <thead>
                      <tr>
                        <th scope="col">When</th>
                        <th scope="col">Who</th>
                        <th scope="col">Action</th>
                        <th scope="col">Target</th>
                        <th scope="col">Status</th>
                        <th scope="col">
                          <span className="sr-only">Details</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {events.map((e) => (
                        <AuditRow key={e.id} api={api} event={e} />
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {moreError && (
                <p className="error" role="alert">
                  Could not load older entries: {moreError}
                </p>
              )}
              {next !== null && (
                <div className="actions pager">
                  <button type="button" className="secondary" disabled={loadingMore} onClick={() => void loadOlder(next)}>
                    {loadingMore ? 'Loading…' : 'Load older'}
                  </button>
                </div>
              )}
            </>
          );
        }}
      </Section>
    </div>
  );
}

function FilterForm({ filters }: { filters: Filters }) {
  const id = useId();
  const [actor, setActor] = useState(filters.actor ?? '');
  const [action, setAction] = useState(filters.action ?? '');
  const [target, setTarget] = useState(filters.target ?? '');
  const [since, setSince] = useState(filters.since ? toLocalInput(filters.since) : '');

  function submit(e: FormEvent) {
    e.preventDefault();
    setFilters({ actor: actor.trim(), action: action.trim(), target: target.trim(), since: since ? toInstant(since) : '' });
  }

  return (
    <form className="filters" onSubmit={submit} aria-label="Filter the audit log">
      <div className="field">
        <label htmlFor={`${id}-actor`}>User</label>
        <input id={`${id}-actor`} value={actor} onChange={(e) => setActor(e.target.value)} placeholder="exact user name" />
      </div>
      <div className="field">
        <label htmlFor={`${id}-action`}>Action</label>
        <input id={`${id}-action`} value={action} onChange={(e) => setAction(e.target.value)} placeholder="plugins. or versions.rollback" list={`${id}-actions`} />
        <datalist id={`${id}-actions`}>
          {['services.', 'routes.', 'upstreams.', 'consumers.', 'plugins.', 'credentials.', 'config.replace', 'versions.rollback', 'login.failed'].map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor={`${id}-target`}>Target</label>
        <input id={`${id}-target`} value={target} onChange={(e) => setTarget(e.target.value)} placeholder="services or services:orders" />
      </div>
      <div className="field">
        <label htmlFor={`${id}-since`}>Since</label>
        <input id={`${id}-since`} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
      </div>
      <div className="actions filter-actions">
        <button type="submit">Filter</button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setActor('');
            setAction('');
            setTarget('');
            setSince('');
            setFilters({});
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

/** `{ version: n }`, what config-wide events record as before/after. */
function versionOf(v: unknown): number | undefined {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const n = (v as { version?: unknown }).version;
    if (keys.length === 1 && typeof n === 'number') return n;
  }
  return undefined;
}

function AuditRow({ api, event: e }: { api: ApiClient; event: AuditEvent }) {
  const [open, setOpen] = useState(false);
  const target = [e.target_kind, e.target_key].filter(Boolean).join(' ');
  const detailId = `audit-${e.id}`;
  return (
    <>
      <tr className={e.status >= 400 ? 'failed' : undefined}>
        <td>
          <time dateTime={e.at}>{formatTime(e.at)}</time>
        </td>
        <td>
          {e.actor || <span className="muted">unknown</span>}
          {e.actor_role && <span className="muted"> ({e.actor_role})</span>}
        </td>
        <td>
          <code>{e.action}</code>
        </td>
        <td>{target || <span className="muted">—</span>}</td>
        <td>{e.status}</td>
        <td>
          <button type="button" className="secondary" aria-expanded={open} aria-controls={open ? detailId : undefined} onClick={() => setOpen((o) => !o)}>
            {open ? 'Hide' : 'Changes'}
            <span className="sr-only"> of {e.action} at {formatTime(e.at)}</span>
          </button>
        </td>
      </tr>
      {open && (
        <tr className="audit-detail">
          <td colSpan={6} id={detailId}>
            <AuditDetail api={api} event={e} />
          </td>
        </tr>
      )}
    </>
  );
}

function AuditDetail({ api, event: e }: { api: ApiClient; event: AuditEvent }) {
  const from = versionOf(e.before);
  const to = versionOf(e.after);
  const lines = diffLines(stableJson(e.before ?? undefined), stableJson(e.after ?? undefined));
  const changed = lines.some((l) => l.kind !== 'same');
  return (
    <div className="audit-detail-body">
      <p className="muted">
        via {e.actor_via || 'unknown'}
        {e.source_ip ? ` from ${e.source_ip}` : ''}
        {e.request_id ? ` · request ${e.request_id}` : ''}
      </p>
      {from !== undefined && to !== undefined ? (
        <VersionsDiff api={api} from={from} to={to} />
      ) : changed ? (
        <DiffView lines={lines} />
      ) : (
        <p className="empty">No before/after recorded for this entry.</p>
      )}
    </div>
  );
}

function VersionsDiff({ api, from, to }: { api: ApiClient; from: number; to: number }) {
  const [shown, setShown] = useState(false);
  if (from === to) return <p className="empty">The config stayed at version {from}: nothing changed.</p>;
  return (
    <>
      <p>
        Config version {from} → {to}. <Link to={`/ui/history?v=${to}`}>Open version {to} in History</Link>
      </p>
      {shown ? (
        <LoadedVersionsDiff api={api} from={from} to={to} />
      ) : (
        <button type="button" className="secondary" onClick={() => setShown(true)}>
          Show the config diff
        </button>
      )}
    </>
  );
}

function LoadedVersionsDiff({ api, from, to }: { api: ApiClient; from: number; to: number }) {
  const state = useResource(
    useCallback(
      (signal: AbortSignal) =>
        Promise.all([api.get<{ document: unknown }>(`/versions/${from}`, { signal }), api.get<{ document: unknown }>(`/versions/${to}`, { signal })]),
      [api, from, to],
    ),
  );
  if (state.status === 'loading') return <p className="muted" role="status">Loading versions {from} and {to}…</p>;
  if (state.status === 'error')
    return (
      <p className="error" role="alert">
        Could not load the versions (older ones may have been pruned): {state.error.message}
      </p>
    );
  const [a, b] = state.data;
  return <DiffView lines={diffLines(stableJson(a.document), stableJson(b.document))} />;
}
