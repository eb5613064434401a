/**
 * Limits: the global rate limit and every per-service, per-route and per-consumer override in one table
 * (plus concurrency limits), what actually applies to each route and service, and the 429s each route
 * answers right now. Every add / edit / enable / remove goes through ChangeReview and the plugins API,
 * so the change is live on every node as soon as it is applied.
 */
import { useCallback, useState } from 'react';
import { ChangeDialog, ErrorLines, type PendingChange } from '../../components/change-dialog';
import { asPage, Section } from '../../components/section';
import type { ApiClient, FieldError, Page } from '../../lib/api-client';
import { useResource } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Session } from '../auth/session';
import { LimitForm } from './limit-form';
import {
  CONCURRENCY_LIMIT,
  describeKey,
  describeLimit,
  describeQuota,
  effectiveFor,
  explain,
  isEnabled,
  RATE_LIMITING,
  scopeLabel,
  scopeOf,
  setting,
  sortInstances,
  type Effective,
  type LimitPlugin,
  type PluginInstance,
  type RouteRef,
  type ServiceRef,
} from './model';

/** 429s seen on the live stream over the last `seconds`, per route and in total; undefined while unknown. */
export interface LiveLimited {
  status: 'connecting' | 'live' | 'offline';
  seconds: number;
  total: number;
  byRoute: ReadonlyMap<string, number>;
  byService: ReadonlyMap<string, number>;
}

interface LimitsData {
  instances: PluginInstance[];
  services: ServiceRef[];
  routes: RouteRef[];
  consumers: string[];
  plugins: LimitPlugin[];
  quotas: boolean;
}

interface PluginInfo {
  name: string;
  schema: { properties?: Record<string, unknown> };
}

const ALL = 'limit=1000';

async function loadLimits(api: ApiClient, signal: AbortSignal): Promise<LimitsData> {
  const list = async <T,>(path: string) => asPage(await api.get<Page<T> | T[]>(path, { signal })).data;
  const [available, rate, concurrency, services, routes, consumers] = await Promise.all([
    api.get<{ data: PluginInfo[] }>('/plugins-available', { signal }),
    list<PluginInstance>(`/plugins?name=${RATE_LIMITING}&${ALL}`),
    list<PluginInstance>(`/plugins?name=${CONCURRENCY_LIMIT}&${ALL}`),
    list<ServiceRef>(`/services?${ALL}`),
    list<RouteRef>(`/routes?${ALL}`),
    list<{ username: string }>(`/consumers?${ALL}`),
  ]);
  const names = new Set(available.data.map((p) => p.name));
  const plugins = ([RATE_LIMITING, CONCURRENCY_LIMIT] as const).filter((n) => names.has(n));
  const rateSchema = available.data.find((p) => p.name === RATE_LIMITING)?.schema;
  return {
    instances: sortInstances([...rate, ...concurrency]),
    services,
    routes,
    consumers: consumers.map((c) => c.username),
    plugins,
    quotas: Boolean(rateSchema?.properties && 'quota_day' in rateSchema.properties),
  };
}

export function LimitsPage({ api, session, live }: { api: ApiClient; session: Session; live?: LiveLimited }) {
  const data = useResource(useCallback((signal: AbortSignal) => loadLimits(api, signal), [api]));
  const editable = canEdit(session.role);
  const [form, setForm] = useState<{ instance: PluginInstance | undefined; key: number } | undefined>();
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const [review, setReview] = useState<PendingChange | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  function openForm(instance: PluginInstance | undefined) {
    setForm({ instance, key: Date.now() });
    setFieldErrors([]);
    setNotice(undefined);
  }

  function applied(title: string) {
    setNotice(`${title}: applied.`);
    setReview(undefined);
    setForm(undefined);
    setFieldErrors([]);
    data.reload();
  }

  function reviewSave(body: Record<string, unknown>) {
    const existing = form?.instance;
    const before = existing ? stripId(existing) : undefined;
    const what = scopeLabel(scopeOf(body as unknown as PluginInstance));
    setReview(
      existing
        ? { title: `Change ${existing.name} (${what})`, before, after: body, applyLabel: 'Apply change', apply: () => api.put(`/plugins/${encodeURIComponent(existing.id)}`, { body }) }
        : { title: `Add ${String(body.name)} (${what})`, before: undefined, after: body, applyLabel: 'Add limit', apply: () => api.post('/plugins', { body }) },
    );
  }

  function reviewToggle(p: PluginInstance) {
    const after = { ...stripId(p), enabled: !isEnabled(p) };
    setReview({
      title: `${isEnabled(p) ? 'Disable' : 'Enable'} ${p.name} (${scopeLabel(scopeOf(p))})`,
      before: stripId(p),
      after,
      applyLabel: isEnabled(p) ? 'Disable' : 'Enable',
      apply: () => api.put(`/plugins/${encodeURIComponent(p.id)}`, { body: after }),
    });
  }

  function reviewRemove(p: PluginInstance) {
    setReview({
      title: `Remove ${p.name} (${scopeLabel(scopeOf(p))})`,
      before: stripId(p),
      after: undefined,
      applyLabel: 'Remove limit',
      apply: () => api.delete(`/plugins/${encodeURIComponent(p.id)}`),
    });
  }

  return (
    <div className="limits-page">
      <Section
        title="Limits"
        level={1}
        state={data}
        onRetry={data.reload}
        actions={
          <>
            {editable && (
              <button type="button" onClick={() => openForm(undefined)} disabled={data.status !== 'ready'}>
                Add limit
              </button>
            )}
            <button type="button" className="secondary" onClick={data.reload}>
              Refresh
            </button>
          </>
        }
      >
        {(d) => (
          <>
            <p className="muted">
              The global limit counts across all services. A service or route override replaces it there and, unless told otherwise, still enforces the
              global limit. Changes apply on every node at once.
            </p>
            {notice && (
              <p className="notice" role="status">
                {notice}
              </p>
            )}
            {!editable && <p className="muted">Read-only: your role can view limits but not change them.</p>}
            <InstanceTable instances={d.instances} editable={editable} onEdit={openForm} onToggle={reviewToggle} onRemove={reviewRemove} />
          </>
        )}
      </Section>

      {form && data.status === 'ready' && (
        <LimitForm
          key={form.key}
          instance={form.instance}
          plugins={data.data.plugins}
          services={data.data.services.map((s) => s.name)}
          routes={data.data.routes.map((r) => r.name)}
          consumers={data.data.consumers}
          quotas={data.data.quotas}
          errors={fieldErrors}
          onReview={reviewSave}
          onCancel={() => setForm(undefined)}
        />
      )}

      {data.status === 'ready' && <EffectiveTables data={data.data} live={live} />}

      {review && (
        <ChangeDialog
          change={review}
          // The review stays open with the error; the field errors also go to the form behind it.
          onError={(err) => setFieldErrors(err.errors)}
          renderError={(err) => <ErrorLines message={err.message} errors={err.errors} />}
          onClose={() => setReview(undefined)}
          onApplied={() => applied(review.title)}
        />
      )}
    </div>
  );
}

function stripId(p: PluginInstance): Record<string, unknown> {
  const { id: _id, ...rest } = p;
  return rest;
}

function InstanceTable({
  instances,
  editable,
  onEdit,
  onToggle,
  onRemove,
}: {
  instances: PluginInstance[];
  editable: boolean;
  onEdit: (p: PluginInstance) => void;
  onToggle: (p: PluginInstance) => void;
  onRemove: (p: PluginInstance) => void;
}) {
  if (instances.length === 0) {
    return <p className="empty">No limits yet: requests are not rate limited anywhere.{editable ? ' Add a global limit to protect every service.' : ''}</p>;
  }
  return (
    <div className="table-wrap">
      <table aria-label="Configured limits">
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Kind</th>
            <th scope="col">Limits</th>
            <th scope="col">Quotas</th>
            <th scope="col">Key</th>
            <th scope="col">Policy</th>
            <th scope="col">Fault policy</th>
            <th scope="col">State</th>
            {editable && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {instances.map((p) => {
            const scope = scopeLabel(scopeOf(p));
            return (
              <tr key={p.id} className={isEnabled(p) ? undefined : 'disabled'}>
                <td>
                  {scope}
                  {p.name === RATE_LIMITING && scopeOf(p).kind !== 'global' && setting<boolean>(p, 'inherit_global') === false && (
                    <span className="muted"> · ignores global</span>
                  )}
                </td>
                <td>{p.name === RATE_LIMITING ? 'rate' : 'concurrency'}</td>
                <td>
                  {describeLimit(p)}
                  {p.name === RATE_LIMITING && setting<string>(p, 'algorithm') !== 'gcra' && <span className="muted"> ({setting<string>(p, 'algorithm')})</span>}
                </td>
                <td>{p.name === RATE_LIMITING ? describeQuota(p) || '—' : '—'}</td>
                <td>{describeKey(p)}</td>
                <td>{setting<string>(p, 'policy')}</td>
                <td>{setting<string>(p, 'fault_policy')}</td>
                <td>
                  <span className={isEnabled(p) ? 'badge on' : 'badge off'}>{isEnabled(p) ? 'enabled' : 'disabled'}</span>
                </td>
                {editable && (
                  <td>
                    <div className="actions row-actions">
                      <button type="button" className="secondary" onClick={() => onEdit(p)} aria-label={`Edit ${p.name} ${scope}`}>
                        Edit
                      </button>
                      <button type="button" className="secondary" onClick={() => onToggle(p)} aria-label={`${isEnabled(p) ? 'Disable' : 'Enable'} ${p.name} ${scope}`}>
                        {isEnabled(p) ? 'Disable' : 'Enable'}
                      </button>
                      <button type="button" className="secondary" onClick={() => onRemove(p)} aria-label={`Remove ${p.name} ${scope}`}>
                        Remove
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const SOURCE_LABEL = { route: 'route override', service: 'service override', global: 'global' } as const;

function RateCell({ e }: { e: Effective }) {
  if (!e.rate) return <span className="muted">none</span>;
  const quota = describeQuota(e.rate.instance);
  return (
    <>
      {describeLimit(e.rate.instance)}
      {quota && <span className="muted"> · quota {quota}</span>}
      <span className="muted"> per {describeKey(e.rate.instance)}</span>
      {e.alsoGlobal && (
        <>
          <br />
          <span className="muted">+ global {describeLimit(e.alsoGlobal)}</span>
        </>
      )}
    </>
  );
}

function LiveCell({ live, count }: { live: LiveLimited | undefined; count: number | undefined }) {
  if (!live || live.status !== 'live') return <span className="muted">—</span>;
  return <span className={count ? 'limited-count hot' : 'limited-count'}>{count ?? 0}</span>;
}

function EffectiveTables({ data, live }: { data: LimitsData; live: LiveLimited | undefined }) {
  const serviceNames = new Set(data.services.map((s) => s.name));
  const liveHead = `429s, last ${live?.seconds ?? 60} s`;
  return (
    <section className="card" aria-labelledby="effective-limits">
      <div className="section-head">
        <h2 id="effective-limits">Effective limits</h2>
        <LiveStatus live={live} />
      </div>
      {data.routes.length === 0 && data.services.length === 0 ? (
        <p className="empty">No services or routes yet.</p>
      ) : (
        <>
          <h3>Routes</h3>
          {data.routes.length === 0 ? (
            <p className="empty">No routes yet.</p>
          ) : (
            <div className="table-wrap">
              <table aria-label="Effective limit per route">
                <thead>
                  <tr>
                    <th scope="col">Route</th>
                    <th scope="col">Service</th>
                    <th scope="col">Rate limit</th>
                    <th scope="col">From</th>
                    <th scope="col">Concurrency</th>
                    <th scope="col">{liveHead}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.routes.map((r) => {
                    const e = effectiveFor(data.instances, { route: r.name, ...(r.service !== undefined ? { service: r.service } : {}) });
                    return (
                      <tr key={r.name}>
                        <th scope="row">{r.name}</th>
                        <td>{r.service && serviceNames.has(r.service) ? r.service : <span className="muted">none</span>}</td>
                        <td>
                          <RateCell e={e} />
                        </td>
                        <td>
                          <span className={e.rate && e.rate.source !== 'global' ? 'badge source override' : 'badge source'} title={explain(e)}>
                            {e.rate ? SOURCE_LABEL[e.rate.source] : 'none'}
                          </span>
                          <span className="sr-only"> {explain(e)}</span>
                          {e.consumerOverrides.length > 0 && (
                            <div className="muted">
                              {e.consumerOverrides.length} consumer override{e.consumerOverrides.length === 1 ? '' : 's'}
                            </div>
                          )}
                        </td>
                        <td>{e.concurrency ? `${describeLimit(e.concurrency.instance)} (${SOURCE_LABEL[e.concurrency.source]})` : <span className="muted">none</span>}</td>
                        <td>
                          <LiveCell live={live} count={live?.byRoute.get(r.name)} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          <h3>Services</h3>
          <p className="muted">What a service&apos;s routes get unless a route has its own override.</p>
          {data.services.length === 0 ? (
            <p className="empty">No services yet.</p>
          ) : (
            <div className="table-wrap">
              <table aria-label="Effective limit per service">
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Rate limit</th>
                    <th scope="col">From</th>
                    <th scope="col">Why</th>
                    <th scope="col">{liveHead}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.services.map((s) => {
                    const e = effectiveFor(data.instances, { service: s.name });
                    return (
                      <tr key={s.name}>
                        <th scope="row">{s.name}</th>
                        <td>
                          <RateCell e={e} />
                        </td>
                        <td>
                          <span className={e.rate && e.rate.source !== 'global' ? 'badge source override' : 'badge source'}>{e.rate ? SOURCE_LABEL[e.rate.source] : 'none'}</span>
                        </td>
                        <td className="muted">{explain(e)}</td>
                        <td>
                          <LiveCell live={live} count={live?.byService.get(s.name)} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function LiveStatus({ live }: { live: LiveLimited | undefined }) {
  if (!live) return null;
  if (live.status === 'live') {
    return (
      <p className="live-status" role="status">
        <span className="badge on">live</span> 429s in the last {live.seconds} s: <strong data-testid="limited-total">{live.total}</strong>
      </p>
    );
  }
  return (
    <p className="live-status muted" role="status">
      {live.status === 'connecting' ? 'Connecting to the live stream…' : 'Live stream offline: 429 counts unavailable.'}
    </p>
  );
}
