/**
 * An upstream's targets with their health (GET /upstreams/:name/targets and /health), and for operators
 * Add (a form generated from the target schema) and Remove, each through the change review.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { defaultsOf, prune, validateValue, type JsonSchema } from '../../components/schema-form/json-schema';
import { SchemaForm } from '../../components/schema-form/schema-form';
import { Section } from '../../components/section';
import type { ApiClient, FieldError } from '../../lib/api-client';
import { useResource } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Session } from '../auth/session';
import { ChangeDialog, type PendingChange } from '../../components/change-dialog';

interface Target {
  target: string;
  weight?: number;
  tags?: string[];
  /** Where the target comes from: `config`, or a discovery provider (`dns`, `etcd`) that keeps it current. */
  source?: string;
}

interface TargetHealth {
  target: string;
  health: 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF';
  reason?: string;
}

interface TargetsView {
  targets: Target[];
  health: Map<string, TargetHealth>;
  healthError?: string;
}

export function TargetsSection({ api, session, upstream, onChanged }: { api: ApiClient; session: Session; upstream: string; onChanged: () => void }) {
  const base = `/upstreams/${encodeURIComponent(upstream)}`;
  const editable = canEdit(session.role);
  const [adding, setAdding] = useState(false);
  const [change, setChange] = useState<PendingChange | undefined>();
  const view = useResource(
    useCallback(
      async (signal: AbortSignal): Promise<TargetsView> => {
        const [targets, health] = await Promise.all([
          api.get<{ data: Target[] }>(`${base}/targets`, { signal }),
          // Health comes from the data plane; the list still shows when it cannot answer.
          api.get<{ data: TargetHealth[] }>(`${base}/health`, { signal }).then(
            (h) => ({ ok: true as const, data: h.data }),
            (e: Error) => ({ ok: false as const, error: e.message }),
          ),
        ]);
        return {
          targets: targets.data,
          health: new Map(health.ok ? health.data.map((h) => [h.target, h]) : []),
          ...(health.ok ? {} : { healthError: health.error }),
        };
      },
      [api, base],
    ),
  );

  function applied() {
    setChange(undefined);
    setAdding(false);
    view.reload();
    onChanged();
  }

  return (
    <Section
      title="Targets"
      state={view}
      onRetry={view.reload}
      actions={
        <>
          <button type="button" className="secondary" onClick={view.reload}>
            Refresh health
          </button>
          {editable && !adding && (
            <button type="button" onClick={() => setAdding(true)}>
              Add target
            </button>
          )}
        </>
      }
    >
      {(v) => (
        <>
          {adding && view.status === 'ready' && (
            <AddTarget api={api} upstream={upstream} current={v.targets} onCancel={() => setAdding(false)} onApplied={applied} />
          )}
          {v.healthError && <p className="warning">Health is not available: {v.healthError}</p>}
          {v.targets.length === 0 ? (
            <p className="empty">No targets: requests to services using this upstream answer 503.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Target</th>
                    <th scope="col">Weight</th>
                    <th scope="col">Source</th>
                    <th scope="col">Health</th>
                    {editable && (
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {v.targets.map((t) => {
                    const h = v.health.get(t.target);
                    return (
                      <tr key={t.target}>
                        <td className="mono">{t.target}</td>
                        <td>{t.weight ?? 100}</td>
                        <td>{t.source && t.source !== 'config' ? <span className="badge">{t.source}</span> : 'config'}</td>
                        <td>
                          <HealthBadge health={h} />
                        </td>
                        {editable && (
                          <td>
                            {/* A discovered target is not in the config: its provider adds and removes it. */}
                            {(t.source ?? 'config') === 'config' && (
                              <button
                                type="button"
                                className="secondary danger"
                                aria-label={`Remove target ${t.target}`}
                                onClick={() =>
                                  setChange({
                                    title: `Remove target ${t.target} from ${upstream}?`,
                                    before: { targets: v.targets },
                                    after: { targets: v.targets.filter((x) => x.target !== t.target) },
                                    applyLabel: 'Remove target',
                                    apply: () => api.delete(`${base}/targets/${encodeURIComponent(t.target)}`),
                                  })
                                }
                              >
                                Remove
                              </button>
                            )}
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          {change && <ChangeDialog change={change} onClose={() => setChange(undefined)} onApplied={applied} />}
        </>
      )}
    </Section>
  );
}

function HealthBadge({ health }: { health: TargetHealth | undefined }) {
  if (!health) return <span className="muted">not known yet</span>;
  const text = health.health === 'HEALTHY' ? 'healthy' : health.health === 'UNHEALTHY' ? 'unhealthy' : 'not checked';
  const cls = health.health === 'HEALTHY' ? 'on' : health.health === 'UNHEALTHY' ? 'bad' : 'off';
  return (
    <span className={`badge ${cls}`} title={health.reason}>
      {text}
    </span>
  );
}

function AddTarget({ api, upstream, current, onCancel, onApplied }: { api: ApiClient; upstream: string; current: Target[]; onCancel: () => void; onApplied: () => void }) {
  const schema = useResource(useCallback((signal: AbortSignal) => api.get<JsonSchema>('/schemas/targets', { signal }), [api]));
  if (schema.status === 'loading') return <p role="status">Loading the form…</p>;
  if (schema.status === 'error') return <p className="error" role="alert">Could not load the form: {schema.error.message}</p>;
  return <AddTargetForm api={api} upstream={upstream} current={current} schema={schema.data} onCancel={onCancel} onApplied={onApplied} />;
}

function AddTargetForm({ api, upstream, current, schema, onCancel, onApplied }: { api: ApiClient; upstream: string; current: Target[]; schema: JsonSchema; onCancel: () => void; onApplied: () => void }) {
  const [value, setValue] = useState<unknown>(() => defaultsOf(schema));
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [change, setChange] = useState<PendingChange | undefined>();
  function submit(e: FormEvent) {
    e.preventDefault();
    const after = prune(schema, value) as Target;
    const problems = validateValue(schema, after);
    setErrors(problems);
    if (problems.length) return;
    setChange({
      title: `Add target ${after.target} to ${upstream}`,
      before: { targets: current },
      after: { targets: [...current, after] },
      applyLabel: 'Add target',
      apply: () => api.post(`/upstreams/${encodeURIComponent(upstream)}/targets`, { body: after }),
    });
  }
  return (
    <form noValidate onSubmit={submit} className="inline-form">
      <SchemaForm label="New target" schema={schema} value={value} onChange={setValue} errors={errors} />
      <div className="actions form-actions">
        <button type="submit">Review and add</button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {change && <ChangeDialog change={change} onClose={() => setChange(undefined)} onFieldErrors={setErrors} onApplied={onApplied} />}
    </form>
  );
}
