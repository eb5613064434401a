/**
 * One of the developer's applications (`/ui/apps/:app`): its API keys (generate, rotate with an overlap,
 * revoke; a new key is shown once), the rate limits that apply to it, and its own usage per minute.
 */
import { useCallback, useEffect, useState } from 'react';
import { ChangeDialog, errorMessage, type PendingChange } from '../../components/change-dialog';
import { SecretOnce } from '../../components/secret-once';
import { Section } from '../../components/section';
import { asApiError, type ApiClient } from '../../lib/api-client';
import { Link } from '../../lib/router';
import { useResource, type ResourceState } from '../../lib/use-resource';
import { appPath, type ApiKey, type ApiKeyCreated, type ApiKeyRotated, type AppLimit, type Usage } from './types';
import { UsageChart } from './usage-chart';

export interface AppDetailPageProps {
  api: ApiClient;
  app: string;
  /** Milliseconds between usage refreshes; 0 turns polling off (tests). */
  usageRefreshMs?: number;
}

const OVERLAPS: { seconds: number; label: string }[] = [
  { seconds: 0, label: 'no overlap (old key stops now)' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '7 days' },
];

const WINDOWS = [
  { minutes: 60, label: '1 hour' },
  { minutes: 360, label: '6 hours' },
  { minutes: 1440, label: '24 hours' },
];

const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
const shortId = (id: string) => id.slice(0, 8);

export function AppDetailPage({ api, app, usageRefreshMs = 15_000 }: AppDetailPageProps) {
  const loadKeys = useCallback((signal: AbortSignal) => api.get<{ data: ApiKey[] }>(appPath(app, '/keys'), { signal }), [api, app]);
  const loadLimits = useCallback((signal: AbortSignal) => api.get<{ data: AppLimit[] }>(appPath(app, '/limits'), { signal }), [api, app]);
  const [minutes, setMinutes] = useState(60);
  const keys = useResource(loadKeys);
  const limits = useResource(loadLimits);
  const usage = usePolledUsage(api, app, minutes, usageRefreshMs);

  const [secret, setSecret] = useState<{ label: string; key: string } | undefined>();
  const [generating, setGenerating] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>();
  const [overlap, setOverlap] = useState(3600);
  const [change, setChange] = useState<PendingChange | undefined>();

  async function generate() {
    setGenerating(true);
    setActionError(undefined);
    try {
      const made = await api.post<ApiKeyCreated>(appPath(app, '/keys'), { body: {} });
      setSecret({ label: `New key ${shortId(made.id)} for ${app}`, key: made.key });
      keys.reload();
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setGenerating(false);
    }
  }

  const keyView = (k: ApiKey) => ({ id: k.id, status: k.status, expires_at: k.expires_at });
  const keyPath = (k: ApiKey, rest = '') => appPath(app, `/keys/${encodeURIComponent(k.id)}${rest}`);

  function reviewRevoke(k: ApiKey) {
    const before = keyView(k);
    setChange({
      title: `Revoke key ${shortId(k.id)}`,
      before,
      after: { ...before, status: 'revoked' },
      applyLabel: 'Revoke key',
      apply: () => api.delete(keyPath(k)),
    });
  }

  function reviewRotate(k: ApiKey, overlapSeconds: number, at: number) {
    const before = keyView(k);
    const ends = overlapSeconds === 0 ? 'now' : new Date(at + overlapSeconds * 1000).toISOString();
    setChange({
      title: `Rotate key ${shortId(k.id)}`,
      before: { keys: [before] },
      after: { keys: [{ ...before, expires_at: ends }, { id: '(new key, shown once)', status: 'active' }] },
      applyLabel: 'Rotate key',
      apply: async () => {
        const r = await api.post<ApiKeyRotated>(keyPath(k, '/rotate'), { body: { overlap_seconds: overlapSeconds } });
        // The new key exists only in this answer: keep it before the dialog closes.
        setSecret({ label: `New key ${shortId(r.key.id)} for ${app} (replaces ${shortId(k.id)})`, key: r.key.key });
      },
    });
  }

  return (
    <div className="portal-page">
      <p>
        <Link to="/ui/apps">← My applications</Link>
      </p>
      <Section
        title={`Keys of ${app}`}
        level={1}
        state={keys}
        onRetry={keys.reload}
        actions={
          <button type="button" onClick={() => void generate()} disabled={generating}>
            {generating ? 'Generating…' : 'Generate key'}
          </button>
        }
      >
        {({ data }) => (
          <>
            {actionError && (
              <p className="error" role="alert">
                {actionError}
              </p>
            )}
            {secret && <SecretOnce label={secret.label} secret={secret.key} onDismiss={() => setSecret(undefined)} />}
            {data.length === 0 ? (
              <p className="empty">No keys yet. Generate one to call the APIs as {app}.</p>
            ) : (
              <>
                <label className="overlap-select">
                  After a rotation the old key keeps working for
                  <select value={overlap} onChange={(e) => setOverlap(Number(e.target.value))}>
                    {OVERLAPS.map((o) => (
                      <option key={o.seconds} value={o.seconds}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                </label>
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Key</th>
                        <th scope="col">Status</th>
                        <th scope="col">Created</th>
                        <th scope="col">Expires</th>
                        <th scope="col">
                          <span className="sr-only">Actions</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.map((k) => (
                        <tr key={k.id} className={k.status === 'active' ? undefined : 'disabled'}>
                          <td className="mono" title={k.id}>
                            {shortId(k.id)}
                          </td>
                          <td>
                            <span className={`badge ${k.status === 'active' ? 'on' : 'off'}`}>{k.status}</span>
                          </td>
                          <td>{when(k.created_at)}</td>
                          <td>{k.status === 'revoked' ? `revoked ${when(k.revoked_at)}` : when(k.expires_at)}</td>
                          <td>
                            {k.status === 'active' && (
                              <div className="actions">
                                <button type="button" className="secondary" onClick={() => reviewRotate(k, overlap, Date.now())} aria-label={`Rotate key ${shortId(k.id)}`}>
                                  Rotate
                                </button>
                                <button type="button" className="secondary" onClick={() => reviewRevoke(k)} aria-label={`Revoke key ${shortId(k.id)}`}>
                                  Revoke
                                </button>
                              </div>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </>
        )}
      </Section>

      <Section title="Limits" state={limits} onRetry={limits.reload}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="empty">No rate limit applies to this application.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Applies</th>
                    <th scope="col">Limits</th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((l, i) => (
                    <tr key={l.id ?? i}>
                      <td>{l.scope === 'global' ? 'Whole gateway' : 'This application'}</td>
                      <td>{describeLimits(l.limits)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Section>

      <Section
        title="Usage"
        state={usage}
        onRetry={usage.reload}
        actions={
          <>
            <label className="inline-label">
              <span className="sr-only">Window</span>
              <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} aria-label="Usage window">
                {WINDOWS.map((w) => (
                  <option key={w.minutes} value={w.minutes}>
                    Last {w.label}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="secondary" onClick={usage.reload}>
              Refresh
            </button>
          </>
        }
      >
        {(u) => <UsageChart usage={u} />}
      </Section>

      {change && (
        <ChangeDialog
          change={change}
          renderError={errorMessage}
          onClose={() => setChange(undefined)}
          onApplied={() => {
            setChange(undefined);
            keys.reload();
          }}
        />
      )}
    </div>
  );
}

/**
 * The usage resource, refreshed every `refreshMs` without going back to the loading state in between
 * (the chart stays on screen and only its bars move); a new window or app starts loading afresh.
 */
function usePolledUsage(api: ApiClient, app: string, minutes: number, refreshMs: number): ResourceState<Usage> & { reload: () => void } {
  const key = `${app}|${minutes}`;
  const [attempt, setAttempt] = useState(0);
  const [settled, setSettled] = useState<{ key: string; state: ResourceState<Usage> } | undefined>();
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      api.get<Usage>(appPath(app, `/usage?minutes=${minutes}`), { signal: controller.signal }).then(
        (data) => {
          if (controller.signal.aborted) return;
          setSettled({ key, state: { status: 'ready', data } });
          if (refreshMs) timer = setTimeout(load, refreshMs);
        },
        (e: unknown) => {
          if (controller.signal.aborted) return;
          setSettled({ key, state: { status: 'error', error: asApiError(e) } });
        },
      );
    };
    load();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [api, app, minutes, refreshMs, key, attempt]);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { ...(settled?.key === key ? settled.state : { status: 'loading' }), reload };
}

const WINDOW_FIELDS: [string, string][] = [
  ['second', 'second'],
  ['minute', 'minute'],
  ['hour', 'hour'],
  ['day', 'day'],
];

/** "100 per minute, 1,000 per hour; quota 10,000 per day; counted per consumer". */
export function describeLimits(limits: Record<string, unknown>): string {
  const n = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v));
  const parts: string[] = [];
  const windows = WINDOW_FIELDS.filter(([f]) => limits[f] !== undefined).map(([f, label]) => `${n(limits[f])} per ${label}`);
  if (windows.length) parts.push(windows.join(', '));
  const quotas = [
    limits.quota_day !== undefined ? `${n(limits.quota_day)} per day` : undefined,
    limits.quota_month !== undefined ? `${n(limits.quota_month)} per month` : undefined,
  ].filter(Boolean);
  if (quotas.length) parts.push(`quota ${quotas.join(', ')}`);
  if (limits.limit_by !== undefined) parts.push(`counted per ${String(limits.limit_by)}`);
  if (limits.algorithm !== undefined) parts.push(`${String(limits.algorithm)} window`);
  return parts.length ? parts.join('; ') : 'no numbers set';
}
