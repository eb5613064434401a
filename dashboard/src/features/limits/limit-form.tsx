/**
 * Add or edit one limit: scope (global, service, route, consumer), windows and quotas or the in-flight
 * maximum, key, policy and fault policy. It only builds the plugin-instance body; the page shows the
 * diff (ChangeReview) and sends it. Server validation errors come back as JSON Pointers (`/config/minute`)
 * and are shown on the matching field.
 */
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ErrorLines } from '../../components/change-dialog';
import type { FieldError } from '../../lib/api-client';
import { instanceBody, RATE_LIMITING, scopeOf, setting, WINDOWS, type LimitPlugin, type PluginInstance, type Scope, type ScopeKind } from './model';

const KEY_PARTS = ['consumer', 'credential', 'ip', 'header', 'jwt_claim', 'route', 'service'] as const;
const NUMBER_FIELDS = ['second', 'minute', 'hour', 'day', 'quota_day', 'quota_month', 'max', 'redis_timeout_ms', 'lease_ms'] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

export interface LimitFormProps {
  /** Undefined to add a new limit. */
  instance: PluginInstance | undefined;
  plugins: LimitPlugin[];
  services: string[];
  routes: string[];
  consumers: string[];
  /** The rate-limiting schema offers calendar quotas. */
  quotas: boolean;
  errors: FieldError[];
  onReview: (body: Record<string, unknown>) => void;
  onCancel: () => void;
}

function initialNumbers(p: PluginInstance | undefined): Record<NumberField, string> {
  const out = {} as Record<NumberField, string>;
  for (const f of NUMBER_FIELDS) out[f] = typeof p?.config[f] === 'number' ? String(p.config[f]) : '';
  return out;
}

export function LimitForm({ instance, plugins, services, routes, consumers, quotas, errors, onReview, onCancel }: LimitFormProps) {
  const id = useId();
  const editing = instance !== undefined;
  const initialScope = instance ? scopeOf(instance) : ({ kind: 'global', name: '' } satisfies Scope);
  const [plugin, setPlugin] = useState<LimitPlugin>((instance?.name as LimitPlugin | undefined) ?? RATE_LIMITING);
  const [scopeKind, setScopeKind] = useState<ScopeKind>(initialScope.kind);
  const [scopeName, setScopeName] = useState(initialScope.name);
  const [numbers, setNumbers] = useState(() => initialNumbers(instance));
  const [limitBy, setLimitBy] = useState<string[]>(() => (instance ? setting<string[]>(instance, 'limit_by') : ['ip']));
  const [headerName, setHeaderName] = useState(() => (typeof instance?.config.header_name === 'string' ? instance.config.header_name : ''));
  const [jwtClaim, setJwtClaim] = useState(() => (typeof instance?.config.jwt_claim === 'string' ? instance.config.jwt_claim : ''));
  const [algorithm, setAlgorithm] = useState(() => (instance ? setting<string>(instance, 'algorithm') : 'gcra'));
  const [policy, setPolicy] = useState(() => (instance ? setting<string>(instance, 'policy') : 'local'));
  const [faultPolicy, setFaultPolicy] = useState(() => (instance ? setting<string>(instance, 'fault_policy') : 'fail-open'));
  const [inheritGlobal, setInheritGlobal] = useState(() => (instance ? setting<boolean>(instance, 'inherit_global') !== false : true));
  const [enabled, setEnabled] = useState(instance?.enabled !== false);
  const [local, setLocal] = useState<string | undefined>();

  const rate = plugin === RATE_LIMITING;
  const fieldError = (path: string) => errors.find((e) => e.path === path)?.message;
  const unplaced = errors.filter((e) => !/^\/(config\/[a-z_]+|service|route|consumer)$/.test(e.path));

  function submit(event: FormEvent) {
    event.preventDefault();
    const config: Record<string, unknown> = { ...(instance && instance.name === plugin ? instance.config : {}) };
    const fields: readonly NumberField[] = rate ? ['second', 'minute', 'hour', 'day', 'quota_day', 'quota_month', 'redis_timeout_ms'] : ['max', 'redis_timeout_ms', 'lease_ms'];
    for (const f of NUMBER_FIELDS) if (!fields.includes(f)) delete config[f];
    for (const f of fields) {
      const raw = numbers[f].trim();
      if (raw === '') delete config[f];
      // Left as typed when not a number: the server's validation names the field.
      else config[f] = /^\d+$/.test(raw) ? Number(raw) : raw;
    }
    if (rate && !WINDOWS.some(([w]) => config[w] !== undefined) && config.quota_day === undefined && config.quota_month === undefined) {
      setLocal('Set at least one window or quota.');
      return;
    }
    if (scopeKind !== 'global' && scopeName === '') {
      setLocal(`Choose the ${scopeKind} this limit applies to.`);
      return;
    }
    setLocal(undefined);
    config.limit_by = limitBy.length ? limitBy : ['ip'];
    if (limitBy.includes('header') && headerName) config.header_name = headerName;
    else delete config.header_name;
    if (limitBy.includes('jwt_claim') && jwtClaim) config.jwt_claim = jwtClaim;
    else delete config.jwt_claim;
    config.policy = policy;
    config.fault_policy = faultPolicy;
    if (rate) {
      config.algorithm = algorithm;
      if (scopeKind !== 'global') config.inherit_global = inheritGlobal;
    } else {
      delete config.algorithm;
      delete config.inherit_global;
    }
    onReview(instanceBody(plugin, { kind: scopeKind, name: scopeKind === 'global' ? '' : scopeName }, enabled, config, instance));
  }

  function numberInput(field: NumberField, label: string, help?: string): ReactNode {
    const err = fieldError(`/config/${field}`);
    return (
      <div className="field">
        <label htmlFor={`${id}-${field}`}>{label}</label>
        <input
          id={`${id}-${field}`}
          inputMode="numeric"
          value={numbers[field]}
          onChange={(e) => setNumbers((n) => ({ ...n, [field]: e.target.value }))}
          aria-invalid={err ? true : undefined}
          aria-describedby={err ? `${id}-${field}-err` : help ? `${id}-${field}-help` : undefined}
        />
        {err ? (
          <span id={`${id}-${field}-err`} className="field-error">
            {err}
          </span>
        ) : (
          help && (
            <span id={`${id}-${field}-help`} className="muted field-help">
              {help}
            </span>
          )
        )}
      </div>
    );
  }

  const names = scopeKind === 'service' ? services : scopeKind === 'route' ? routes : scopeKind === 'consumer' ? consumers : [];
  const scopeErr = fieldError(`/${scopeKind}`);

  return (
    <form className="card limit-form" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>{editing ? 'Edit limit' : 'Add a limit'}</h2>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-plugin`}>Kind</label>
          <select id={`${id}-plugin`} value={plugin} disabled={editing} onChange={(e) => setPlugin(e.target.value as LimitPlugin)}>
            {plugins.map((p) => (
              <option key={p} value={p}>
                {p === RATE_LIMITING ? 'Rate limit (rate-limiting)' : 'Concurrency limit (concurrency-limit)'}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-scope`}>Scope</label>
          <select
            id={`${id}-scope`}
            value={scopeKind}
            onChange={(e) => {
              setScopeKind(e.target.value as ScopeKind);
              setScopeName('');
            }}
          >
            <option value="global">Global (whole gateway)</option>
            <option value="service">Service override</option>
            <option value="route">Route override</option>
            <option value="consumer">Consumer</option>
          </select>
        </div>
        {scopeKind !== 'global' && (
          <div className="field">
            <label htmlFor={`${id}-target`}>{scopeKind[0]!.toUpperCase() + scopeKind.slice(1)}</label>
            <select id={`${id}-target`} value={scopeName} onChange={(e) => setScopeName(e.target.value)} aria-invalid={scopeErr ? true : undefined}>
              <option value="">Choose…</option>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
            {scopeErr && <span className="field-error">{scopeErr}</span>}
          </div>
        )}
      </div>

      {rate ? (
        <fieldset>
          <legend>Windows (requests per key)</legend>
          <div className="form-grid">
            {numberInput('second', 'Per second')}
            {numberInput('minute', 'Per minute')}
            {numberInput('hour', 'Per hour')}
            {numberInput('day', 'Per day', 'Rolling 24 h')}
            {quotas && numberInput('quota_day', 'Quota per calendar day', 'Renews at 00:00 UTC')}
            {quotas && numberInput('quota_month', 'Quota per calendar month', 'Renews on the 1st, UTC')}
          </div>
        </fieldset>
      ) : (
        <div className="form-grid">{numberInput('max', 'Max in flight per key')}</div>
      )}

      <fieldset>
        <legend>Key (what is counted together)</legend>
        <div className="checks">
          {KEY_PARTS.map((k) => (
            <label key={k} className="check">
              <input
                type="checkbox"
                checked={limitBy.includes(k)}
                onChange={(e) => setLimitBy((cur) => (e.target.checked ? [...cur, k] : cur.filter((x) => x !== k)))}
              />
              {k}
            </label>
          ))}
        </div>
        {fieldError('/config/limit_by') && <span className="field-error">{fieldError('/config/limit_by')}</span>}
        <div className="form-grid">
          {limitBy.includes('header') && (
            <div className="field">
              <label htmlFor={`${id}-header`}>Header name</label>
              <input id={`${id}-header`} value={headerName} onChange={(e) => setHeaderName(e.target.value)} />
            </div>
          )}
          {limitBy.includes('jwt_claim') && (
            <div className="field">
              <label htmlFor={`${id}-claim`}>JWT claim</label>
              <input id={`${id}-claim`} value={jwtClaim} onChange={(e) => setJwtClaim(e.target.value)} />
            </div>
          )}
        </div>
      </fieldset>

      <div className="form-grid">
        {rate && (
          <div className="field">
            <label htmlFor={`${id}-algorithm`}>Algorithm</label>
            <select id={`${id}-algorithm`} value={algorithm} onChange={(e) => setAlgorithm(e.target.value)}>
              <option value="gcra">gcra (exact)</option>
              <option value="sliding-window">sliding-window</option>
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor={`${id}-policy`}>Policy</label>
          <select id={`${id}-policy`} value={policy} onChange={(e) => setPolicy(e.target.value)}>
            <option value="local">local (per node)</option>
            <option value="redis">redis (shared by all nodes)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-fault`}>Fault policy</label>
          <select id={`${id}-fault`} value={faultPolicy} onChange={(e) => setFaultPolicy(e.target.value)}>
            <option value="fail-open">fail-open (let traffic through)</option>
            <option value="fail-closed">fail-closed (503)</option>
          </select>
        </div>
        {policy === 'redis' && numberInput('redis_timeout_ms', 'Redis timeout (ms)', 'Default 50')}
        {!rate && policy === 'redis' && numberInput('lease_ms', 'Slot lease (ms)', 'Default 300000')}
      </div>

      <div className="checks">
        {rate && scopeKind !== 'global' && (
          <label className="check">
            <input type="checkbox" checked={inheritGlobal} onChange={(e) => setInheritGlobal(e.target.checked)} />
            Also enforce the global limit
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Enabled
        </label>
      </div>

      {(local || unplaced.length > 0) && (
        <div className="error" role="alert">
          <ErrorLines message={local || undefined} errors={unplaced} />
        </div>
      )}
      <div className="actions">
        <button type="submit">Review change</button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

