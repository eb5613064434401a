/**
 * The status page: the gateway's health and counters (GET /status) and the configured services and
 * routes (GET /services, GET /routes), each with its own loading, empty and error state.
 */
import { useCallback, type ReactNode } from 'react';
import { asPage, Section, Truncation } from '../../components/section';
import type { ApiClient, Page } from '../../lib/api-client';
import { useResource } from '../../lib/use-resource';
import { formatUptime, serviceTarget } from './format';
import type { GatewayStatus, Route, Service } from './types';

export function StatusPage({ api }: { api: ApiClient }) {
  const status = useResource(useCallback((signal: AbortSignal) => api.get<GatewayStatus>('/status', { signal }), [api]));
  const services = useResource(
    useCallback(async (signal: AbortSignal) => asPage(await api.get<Page<Service> | Service[]>('/services', { signal })), [api]),
  );
  const routes = useResource(
    useCallback(async (signal: AbortSignal) => asPage(await api.get<Page<Route> | Route[]>('/routes', { signal })), [api]),
  );

  function refreshAll() {
    status.reload();
    services.reload();
    routes.reload();
  }

  return (
    <div className="status-page">
      <div className="page-head">
        <h1>Status</h1>
        <button type="button" className="secondary" onClick={refreshAll}>
          Refresh
        </button>
      </div>

      <Section title="Gateway" state={status} onRetry={status.reload}>
        {(s) => <StatusSummary status={s} />}
      </Section>

      <Section title="Services" state={services} onRetry={services.reload}>
        {(page) =>
          page.data.length === 0 ? (
            <p className="empty">No services yet.</p>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Target</th>
                    <th scope="col">State</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((s) => (
                    <tr key={s.name}>
                      <td>{s.name}</td>
                      <td className="mono">{serviceTarget(s)}</td>
                      <td>{s.enabled === false ? <span className="badge off">disabled</span> : <span className="badge on">enabled</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Truncation page={page} noun="services" />
            </>
          )
        }
      </Section>

      <Section title="Routes" state={routes} onRetry={routes.reload}>
        {(page) =>
          page.data.length === 0 ? (
            <p className="empty">No routes yet.</p>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Service</th>
                    <th scope="col">Paths</th>
                    <th scope="col">Methods</th>
                    <th scope="col">Hosts</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((r) => (
                    <tr key={r.name} className={r.enabled === false ? 'disabled' : undefined}>
                      <td>{r.name}</td>
                      <td>{r.service ?? <span className="muted">none</span>}</td>
                      <td className="mono">{r.paths?.length ? r.paths.join(' ') : <span className="muted">any</span>}</td>
                      <td>{r.methods?.length ? r.methods.join(', ') : <span className="muted">any</span>}</td>
                      <td className="mono">{r.hosts?.length ? r.hosts.join(' ') : <span className="muted">any</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Truncation page={page} noun="routes" />
            </>
          )
        }
      </Section>
    </div>
  );
}

function StatusSummary({ status }: { status: GatewayStatus }) {
  const items: [string, ReactNode][] = [
    ['Version', status.version],
    ['Uptime', formatUptime(status.uptime_seconds)],
    ['Config version', status.config_version],
    ['Routes', status.routes],
    ['Connections', `${status.connections.active} active / ${status.connections.total} total`],
    ['Config store', status.store_reachable ? status.config_source : `${status.config_source} (unreachable)`],
  ];
  return (
    <>
      <dl className="stats">
        {items.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {!status.store_reachable && status.store_error && (
        <p className="error" role="alert">
          Config store unreachable: {status.store_error}. The gateway keeps serving the last good configuration.
        </p>
      )}
      {status.snapshot_errors.length > 0 && (
        <div className="warning">
          <p>Disabled by the snapshot builder:</p>
          <ul>
            {status.snapshot_errors.map((e) => (
              <li key={e.path}>
                <code>{e.path}</code>: {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </>
  );
}
