/**
 * The staff home: live requests/s, 429s, error rate and latency for the whole gateway or one service or
 * route (socket.io, one tick a second, see lib/live.ts), the busiest and the failing routes, breakers and
 * target health, and the recent 5xx with their request ids.
 *
 * The window and the scope live in the URL (`?window=900&scope=route:orders`), so a view can be linked
 * and survives a reload. Breakers come from the live ticks (every node's state); target health and the
 * recent errors are read from the admin API and refreshed every few seconds.
 */
import { useCallback, useMemo } from 'react';
import { ErrorRateChart, LatencyChart, TrafficChart, windowLabel } from '../../components/charts/live-charts';
import { formatCount, formatMs, formatPct, parseScope, rateOf, scopeKey, scopeLabel, topRoutes, type RankedRow, type Scope } from '../../components/charts/series';
import { asPage, Section } from '../../components/section';
import type { ApiClient, Page } from '../../lib/api-client';
import { useLiveTicks, type LiveBreakerTick, type LiveState, type LiveTick } from '../../lib/live';
import { queryOf, setQueryParam, useLocation } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import type { RecentErrorsView, ResilienceSummary, UpstreamSummary } from './types';
import { usePolled } from './use-polled';

export const WINDOWS = [300, 900, 3600] as const;
/** How often target health and recent errors are read again. */
export const REFRESH_MS = 5000;

export interface OverviewPageProps {
  api: ApiClient;
  /** Admin API origin for the live socket; empty for the page's own origin. */
  baseUrl: string;
  token: string | undefined;
}

function windowOf(raw: string | null): number {
  const n = Number(raw);
  return (WINDOWS as readonly number[]).includes(n) ? n : WINDOWS[0];
}

export function OverviewPage({ api, baseUrl, token }: OverviewPageProps) {
  const query = queryOf(useLocation());
  const windowSeconds = windowOf(query.get('window'));
  const scopeParam = query.get('scope');
  const scope = useMemo(() => parseScope(scopeParam), [scopeParam]);
  const live = useLiveTicks({ baseUrl, token, windowSeconds });

  return (
    <div className="overview">
      <div className="page-head overview-head">
        <h1>Overview</h1>
        <LiveBadge live={live} />
      </div>
      <OverviewControls api={api} live={live} scope={scope} windowSeconds={windowSeconds} />
      {live.status === 'offline' && (
        <div className="error overview-offline" role="alert">
          <p>Live data is offline: {live.error ?? 'no connection'}.{live.ticks.length > 0 ? ' The charts show the last data received.' : ''}</p>
        </div>
      )}
      <CurrentStats ticks={live.ticks} scope={scope} connecting={live.status === 'connecting' && live.ticks.length === 0} />
      <div className="overview-charts">
        <TrafficChart ticks={live.ticks} scope={scope} windowSeconds={windowSeconds} />
        <ErrorRateChart ticks={live.ticks} scope={scope} windowSeconds={windowSeconds} />
        <LatencyChart ticks={live.ticks} scope={scope} windowSeconds={windowSeconds} />
      </div>
      <div className="overview-grid">
        <TopRoutes ticks={live.ticks} by="requests" windowSeconds={windowSeconds} />
        <TopRoutes ticks={live.ticks} by="errors" windowSeconds={windowSeconds} />
      </div>
      <div className="overview-grid">
        <Breakers breakers={live.ticks.at(-1)?.breakers} />
        <TargetHealth api={api} />
      </div>
      <RecentErrors api={api} />
    </div>
  );
}

function LiveBadge({ live }: { live: LiveState }) {
  const text = live.status === 'live' ? 'Live' : live.status === 'connecting' ? 'Connecting…' : 'Offline';
  return (
    <span className={`badge live-badge live-${live.status}`} role="status" title={live.error}>
      {text}
    </span>
  );
}

function OverviewControls({ api, live, scope, windowSeconds }: { api: ApiClient; live: LiveState; scope: Scope; windowSeconds: number }) {
  const services = useResource(useCallback(async (signal: AbortSignal) => asPage(await api.get<Page<{ name: string }> | { name: string }[]>('/services?limit=1000', { signal })), [api]));
  const routes = useResource(useCallback(async (signal: AbortSignal) => asPage(await api.get<Page<{ name: string }> | { name: string }[]>('/routes?limit=1000', { signal })), [api]));
  // Configured names, plus any the stream reports (a route removed a minute ago still has traffic on the chart).
  const names = useMemo(() => {
    const s = new Set<string>(services.status === 'ready' ? services.data.data.map((x) => x.name) : []);
    const r = new Set<string>(routes.status === 'ready' ? routes.data.data.map((x) => x.name) : []);
    const last = live.ticks.at(-1);
    if (last) {
      for (const x of last.services) s.add(x.service);
      for (const x of last.routes) r.add(x.route);
    }
    if (scope.kind === 'service') s.add(scope.name);
    if (scope.kind === 'route') r.add(scope.name);
    return { services: [...s].sort(), routes: [...r].sort() };
  }, [services, routes, live.ticks, scope]);

  return (
    <div className="overview-controls">
      <div className="window-picker" role="group" aria-label="Time window">
        {WINDOWS.map((w) => (
          <button key={w} type="button" className={w === windowSeconds ? '' : 'secondary'} aria-pressed={w === windowSeconds} onClick={() => setQueryParam('window', w === WINDOWS[0] ? '' : String(w))}>
            {w / 60} min
          </button>
        ))}
      </div>
      <label className="scope-picker">
        Scope
        <select value={scopeKey(scope)} onChange={(e) => setQueryParam('scope', e.target.value)}>
          <option value="">Whole gateway</option>
          {names.services.length > 0 && (
            <optgroup label="Services">
              {names.services.map((n) => (
                <option key={n} value={`service:${n}`}>
                  {n}
                </option>
              ))}
            </optgroup>
          )}
          {names.routes.length > 0 && (
            <optgroup label="Routes">
              {names.routes.map((n) => (
                <option key={n} value={`route:${n}`}>
                  {n}
                </option>
              ))}
            </optgroup>
          )}
        </select>
      </label>
    </div>
  );
}

function CurrentStats({ ticks, scope, connecting }: { ticks: readonly LiveTick[]; scope: Scope; connecting: boolean }) {
  const last = ticks.at(-1);
  const r = last ? rateOf(last, scope) : undefined;
  if (connecting) {
    return (
      <div className="skeleton" role="status" aria-label="Connecting to the live stream">
        <span />
        <span />
      </div>
    );
  }
  return (
    <section className="card" aria-labelledby="overview-now">
      <h2 id="overview-now">
        Last second <span className="muted">· {scopeLabel(scope)}</span>
      </h2>
      <dl className="stats" aria-live="off">
        <div>
          <dt>Requests/s</dt>
          <dd data-testid="stat-rps">{r ? formatCount(r.rps) : '–'}</dd>
        </div>
        <div className={r && r.limited > 0 ? 'stat-warn' : ''}>
          <dt>429s/s</dt>
          <dd data-testid="stat-limited">{r ? formatCount(r.limited) : '–'}</dd>
        </div>
        <div className={r && r.errors > 0 ? 'stat-bad' : ''}>
          <dt>Error rate</dt>
          <dd data-testid="stat-error-rate">{r ? (r.rps === 0 ? '–' : formatPct(r.error_rate * 100)) : '–'}</dd>
        </div>
        <div>
          <dt>p95 latency</dt>
          <dd data-testid="stat-p95">{r ? formatMs(r.p95) : '–'}</dd>
        </div>
        <div>
          <dt>Nodes</dt>
          <dd>{last ? last.nodes : '–'}</dd>
        </div>
      </dl>
    </section>
  );
}

function TopRoutes({ ticks, by, windowSeconds }: { ticks: readonly LiveTick[]; by: 'requests' | 'errors'; windowSeconds: number }) {
  const rows = useMemo(() => topRoutes(ticks, by), [ticks, by]);
  const title = by === 'requests' ? 'Top routes by traffic' : 'Top routes by errors';
  const id = `top-${by}`;
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>
        {title} <span className="muted">· last {windowLabel(windowSeconds)}</span>
      </h2>
      {rows.length === 0 ? (
        <p className="empty">{by === 'requests' ? 'No traffic in this window.' : 'No errors in this window.'}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Route</th>
                <th scope="col" className="num">
                  Requests
                </th>
                <th scope="col" className="num">
                  {by === 'requests' ? '429s' : 'Errors'}
                </th>
                <th scope="col" className="num">
                  Error rate
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row: RankedRow) => (
                <tr key={row.name}>
                  <td>
                    <button type="button" className="link-button" onClick={() => setQueryParam('scope', `route:${row.name}`)} title={`Chart route ${row.name}`}>
                      {row.name}
                    </button>
                  </td>
                  <td className="num">{formatCount(row.requests)}</td>
                  <td className="num">{formatCount(by === 'requests' ? row.limited : row.errors)}</td>
                  <td className="num">{formatPct(row.errorPct)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const STATE_BADGE: Record<LiveBreakerTick['state'], string> = { closed: 'on', 'half-open': 'warn', open: 'bad' };

function Breakers({ breakers }: { breakers: LiveBreakerTick[] | undefined }) {
  const open = breakers?.filter((b) => b.state !== 'closed').length ?? 0;
  return (
    <section className="card" aria-labelledby="overview-breakers">
      <h2 id="overview-breakers">
        Circuit breakers{' '}
        {breakers && breakers.length > 0 && <span className="muted">· {open === 0 ? 'all closed' : `${open} not closed`}</span>}
      </h2>
      {breakers === undefined ? (
        <p className="empty">Waiting for live data…</p>
      ) : breakers.length === 0 ? (
        <p className="empty">No circuit breakers configured.</p>
      ) : (
        <ul className="state-list">
          {breakers.map((b) => (
            <li key={b.breaker}>
              <span className="mono">{b.group}</span>{' '}
              <span className={`badge ${STATE_BADGE[b.state]}`}>{b.state}</span>
              {b.nodes.closed + b.nodes.open + b.nodes.half_open > 1 && (
                <span className="muted">
                  {' '}
                  ({b.nodes.open} open, {b.nodes.half_open} half-open, {b.nodes.closed} closed)
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function TargetHealth({ api }: { api: ApiClient }) {
  const state = usePolled(
    useCallback(
      async (signal: AbortSignal) => {
        const [resilience, upstreams] = await Promise.all([
          api.get<ResilienceSummary>('/resilience', { signal }),
          api.get<Page<UpstreamSummary> | UpstreamSummary[]>('/upstreams?limit=1000', { signal }).then(asPage),
        ]);
        return { resilience, upstreams };
      },
      [api],
    ),
    REFRESH_MS,
  );
  return (
    <Section title="Target health" state={state} onRetry={state.reload}>
      {({ resilience, upstreams }) => {
        if (upstreams.data.length === 0) return <p className="empty">No upstreams configured.</p>;
        return (
          <ul className="state-list">
            {upstreams.data.map((u) => {
              const checked = resilience.targets.filter((t) => t.upstream === u.name);
              const down = checked.filter((t) => !t.up);
              return (
                <li key={u.name}>
                  <span className="mono">{u.name}</span>{' '}
                  {checked.length === 0 ? (
                    <span className="badge off">checks off · {u.targets.length} targets</span>
                  ) : down.length === 0 ? (
                    <span className="badge on">{checked.length} healthy</span>
                  ) : (
                    <>
                      <span className="badge bad">
                        {down.length} of {checked.length} down
                      </span>
                      <span className="muted"> {down.map((t) => `${t.target} (${t.reason})`).join(', ')}</span>
                    </>
                  )}
                </li>
              );
            })}
          </ul>
        );
      }}
    </Section>
  );
}

function RecentErrors({ api }: { api: ApiClient }) {
  const state = usePolled(
    useCallback((signal: AbortSignal) => api.get<RecentErrorsView>('/errors?limit=10', { signal }), [api]),
    REFRESH_MS,
  );
  return (
    <Section
      title="Recent 5xx"
      state={state}
      onRetry={state.reload}
      actions={
        <button type="button" className="secondary" onClick={state.reload}>
          Refresh
        </button>
      }
    >
      {(view) =>
        view.data.length === 0 ? (
          <p className="empty">No server errors recorded.</p>
        ) : (
          <>
            <p className="muted">
              {view.total} recorded since the proxy started; the newest {view.data.length}:
            </p>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Status</th>
                    <th scope="col">Code</th>
                    <th scope="col">Route</th>
                    <th scope="col">Request</th>
                    <th scope="col">Request id</th>
                  </tr>
                </thead>
                <tbody>
                  {view.data.map((e) => (
                    <tr key={e.request_id + e.at}>
                      <td>{new Date(e.at).toLocaleTimeString()}</td>
                      <td>{e.status}</td>
                      <td className="mono">{e.code}</td>
                      <td>{e.route ?? <span className="muted">none</span>}</td>
                      <td className="mono">
                        {e.method} {e.path}
                      </td>
                      <td className="mono request-id">{e.request_id}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )
      }
    </Section>
  );
}
