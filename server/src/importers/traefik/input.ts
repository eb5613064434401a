/**
 * Reading a Traefik dynamic configuration: the file provider's YAML or TOML, or Kubernetes manifests
 * with IngressRoute / Middleware / TraefikService resources. Both become one model shaped like the
 * file provider (routers, services, middlewares keyed by name), so the conversion is written once.
 */
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { parse as parseToml, TomlError } from 'smol-toml';
import { MAX_ALIAS_COUNT, MAX_CONFIG_BYTES } from '../../config/config-file.js';
import { ImportInputError, type ImportReportEntry } from '../types.js';

export type Rec = Record<string, unknown>;

export interface Def {
  /** Readable location in the input, for the report. */
  source: string;
  spec: Rec;
  /** What the translation from Kubernetes already approximated, reported with the entity. */
  notes?: string[];
  /** Set when the entity cannot be built at all (the reason). */
  error?: string;
}

export interface TraefikModel {
  kind: 'file' | 'kubernetes';
  format: 'yaml' | 'toml';
  routers: Map<string, Def>;
  services: Map<string, Def>;
  middlewares: Map<string, Def>;
  serversTransports: Map<string, Def>;
  /** Input elements outside HTTP routing, reported as they are. */
  report: ImportReportEntry[];
}

export function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A field by name, case-insensitively: Traefik's file provider and labels accept any case
 * (`loadbalancer`, `passhostheader`), and real files use both.
 */
export function field(o: unknown, key: string): unknown {
  if (!isRec(o)) return undefined;
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

export function readInput(text: string, fileName: string): TraefikModel {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) throw new ImportInputError(`the file is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES}`);
  const ext = /\.([A-Za-z]+)$/.exec(fileName)?.[1]?.toLowerCase();
  if (ext === 'toml') return fromFileProvider(readToml(text), 'toml');
  if (ext === 'yaml' || ext === 'yml' || ext === 'json') return fromYaml(text);
  // No telling extension: TOML tables (`[http.routers.x]`) or `key = value` lines mark TOML.
  if (/^\s*\[\[?[A-Za-z0-9_."-]+\]\]?\s*(#.*)?$/m.test(text) || /^\s*[A-Za-z0-9_."-]+\s*=/m.test(text)) return fromFileProvider(readToml(text), 'toml');
  return fromYaml(text);
}

function readToml(text: string): unknown {
  try {
    return parseToml(text);
  } catch (e) {
    if (e instanceof TomlError) throw new ImportInputError(`TOML syntax error at line ${e.line}, column ${e.column}: ${e.message.split('\n')[0]}`);
    throw new ImportInputError(`TOML syntax error: ${(e as Error).message}`);
  }
}

function fromYaml(text: string): TraefikModel {
  let docs: Document[];
  const lineCounter = new LineCounter();
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true }) as Document[];
  } catch (e) {
    throw new ImportInputError(`YAML syntax error: ${(e as Error).message}`);
  }
  if (!Array.isArray(docs)) throw new ImportInputError('YAML syntax error: not a YAML document');
  const values: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length) {
      const e = d.errors[0]!;
      const pos = lineCounter.linePos(e.pos[0]);
      throw new ImportInputError(`YAML syntax error at line ${pos.line}, column ${pos.col}: ${e.message}`);
    }
    try {
      values.push(d.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
    } catch (e) {
      throw new ImportInputError(`YAML rejected: ${(e as Error).message}`);
    }
  }
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.some((v) => isRec(v) && 'apiVersion' in v && 'kind' in v)) return fromKubernetes(present);
  if (present.length !== 1) throw new ImportInputError(present.length === 0 ? 'the file is empty' : 'several YAML documents, but none is a Kubernetes resource');
  return fromFileProvider(present[0], 'yaml');
}

const NOT_TRAEFIK =
  'not a Traefik dynamic configuration: expected a top-level `http` section (file provider, YAML or TOML) or Kubernetes resources of apiVersion traefik.io/v1alpha1';

function fromFileProvider(root: unknown, format: 'yaml' | 'toml'): TraefikModel {
  if (!isRec(root)) throw new ImportInputError(NOT_TRAEFIK);
  const model: TraefikModel = { kind: 'file', format, routers: new Map(), services: new Map(), middlewares: new Map(), serversTransports: new Map(), report: [] };
  const known = ['http', 'tcp', 'udp', 'tls'];
  if (!Object.keys(root).some((k) => known.includes(k.toLowerCase()))) throw new ImportInputError(NOT_TRAEFIK);
  for (const key of Object.keys(root)) {
    const k = key.toLowerCase();
    if (k === 'http') continue;
    if (k === 'tcp' || k === 'udp') {
      model.report.push({ outcome: 'unmapped', source: key, message: `${key.toUpperCase()} routing is not supported by Gatehouse (HTTP only)` });
    } else if (k === 'tls') {
      model.report.push({
        outcome: 'unmapped',
        source: key,
        message: 'certificates, TLS options and stores are configured on the Gatehouse proxy listener, not in the config document',
      });
    } else {
      model.report.push({ outcome: 'unmapped', source: key, message: 'not a section of Traefik dynamic configuration; ignored' });
    }
  }
  const http = field(root, 'http');
  if (http === undefined || http === null) return model;
  if (!isRec(http)) throw new ImportInputError('`http` must be a map with routers, services and middlewares', 'http');
  const section = (name: string, into: Map<string, Def>) => {
    const v = field(http, name);
    if (v === undefined || v === null) return;
    if (!isRec(v)) throw new ImportInputError(`\`http.${name}\` must be a map of name → definition`, `http.${name}`);
    for (const [id, spec] of Object.entries(v)) {
      if (!isRec(spec)) throw new ImportInputError(`\`http.${name}.${id}\` must be a map`, `http.${name}.${id}`);
      into.set(id, { source: `http.${name}.${id}`, spec });
    }
  };
  section('routers', model.routers);
  section('services', model.services);
  section('middlewares', model.middlewares);
  section('serversTransports', model.serversTransports);
  for (const key of Object.keys(http)) {
    if (!['routers', 'services', 'middlewares', 'serverstransports'].includes(key.toLowerCase())) {
      model.report.push({ outcome: 'unmapped', source: `http.${key}`, message: 'not a section of Traefik HTTP dynamic configuration; ignored' });
    }
  }
  return model;
}

const TRAEFIK_GROUPS = new Set(['traefik.io/v1alpha1', 'traefik.containo.us/v1alpha1']);

interface K8sRef {
  name: string;
  namespace: string;
}

function fromKubernetes(docs: unknown[]): TraefikModel {
  const model: TraefikModel = { kind: 'kubernetes', format: 'yaml', routers: new Map(), services: new Map(), middlewares: new Map(), serversTransports: new Map(), report: [] };
  const resources: { doc: Rec; source: string }[] = [];
  const flatten = (doc: unknown, source: string) => {
    if (!isRec(doc)) throw new ImportInputError(`${source} is not a Kubernetes resource (a map with apiVersion and kind)`, source);
    if (doc.kind === 'List' && Array.isArray(doc.items)) doc.items.forEach((item, i) => flatten(item, `${source}.items[${i}]`));
    else resources.push({ doc, source });
  };
  docs.forEach((d, i) => flatten(d, `document ${i + 1}`));
  let traefikResources = 0;
  const traefikServices: { ns: string; name: string; spec: Rec; source: string }[] = [];
  const ingressRoutes: { ns: string; name: string; spec: Rec; source: string }[] = [];
  for (const { doc, source } of resources) {
    const kind = typeof doc.kind === 'string' ? doc.kind : '?';
    const meta = isRec(doc.metadata) ? doc.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : undefined;
    const ns = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    const where = `${kind} ${ns}/${name ?? '?'}`;
    if (typeof doc.apiVersion !== 'string' || !TRAEFIK_GROUPS.has(doc.apiVersion)) {
      model.report.push({ outcome: 'unmapped', source: `${source} (${kind} ${name ?? ''})`.trim(), message: `not a Traefik resource (apiVersion ${String(doc.apiVersion)}); ignored` });
      continue;
    }
    traefikResources++;
    if (!name) throw new ImportInputError(`${source}: ${kind} has no metadata.name`, source);
    const spec = doc.spec;
    if (!isRec(spec)) throw new ImportInputError(`${where}: spec must be a map`, where);
    if (kind === 'IngressRoute') ingressRoutes.push({ ns, name, spec, source: where });
    else if (kind === 'Middleware') model.middlewares.set(`${ns}-${name}`, { source: where, spec: normalizeMiddleware(spec, ns) });
    else if (kind === 'TraefikService') traefikServices.push({ ns, name, spec, source: where });
    else if (kind === 'ServersTransport') model.serversTransports.set(`${ns}-${name}`, { source: where, spec });
    else if (kind === 'IngressRouteTCP' || kind === 'IngressRouteUDP' || kind === 'MiddlewareTCP' || kind === 'ServersTransportTCP') {
      model.report.push({ outcome: 'unmapped', source: where, message: 'TCP/UDP routing is not supported by Gatehouse (HTTP only)' });
    } else if (kind === 'TLSOption' || kind === 'TLSStore') {
      model.report.push({ outcome: 'unmapped', source: where, message: 'TLS settings are configured on the Gatehouse proxy listener, not in the config document' });
    } else model.report.push({ outcome: 'unmapped', source: where, message: `unknown Traefik kind '${kind}'; ignored` });
  }
  if (traefikResources === 0) throw new ImportInputError(NOT_TRAEFIK);

  // Kubernetes Services become one service each (per port and settings) under a stable key.
  const serviceRef = (ref: Rec, defaultNs: string, at: string): string => {
    const name = typeof ref.name === 'string' ? ref.name : undefined;
    if (!name) throw new ImportInputError(`${at}: a service reference needs a name`, at);
    const ns = typeof ref.namespace === 'string' ? ref.namespace : defaultNs;
    if (ref.kind === 'TraefikService') {
      const at_ = name.indexOf('@');
      return at_ === -1 ? `${ns}-${name}` : name;
    }
    return kubernetesService(model, ref, { name, namespace: ns }, at);
  };

  for (const ts of traefikServices) {
    const weighted = field(ts.spec, 'weighted');
    const mirroring = field(ts.spec, 'mirroring');
    const spec: Rec = {};
    if (isRec(weighted)) {
      const services = Array.isArray(weighted.services) ? weighted.services : [];
      spec.weighted = {
        ...weighted,
        services: services.map((s, i) => {
          const r = isRec(s) ? s : {};
          return { name: serviceRef(r, ts.ns, `${ts.source} spec.weighted.services[${i}]`), weight: r.weight ?? 1 };
        }),
      };
    } else if (isRec(mirroring)) {
      const mirrors = Array.isArray(mirroring.mirrors) ? mirroring.mirrors : [];
      spec.mirroring = {
        ...mirroring,
        service: serviceRef(mirroring, ts.ns, `${ts.source} spec.mirroring`),
        mirrors: mirrors.map((m, i) => {
          const r = isRec(m) ? m : {};
          return { name: serviceRef(r, ts.ns, `${ts.source} spec.mirroring.mirrors[${i}]`), percent: r.percent ?? 0 };
        }),
      };
    } else {
      model.services.set(`${ts.ns}-${ts.name}`, { source: ts.source, spec: {}, error: 'a TraefikService needs `weighted` or `mirroring`' });
      continue;
    }
    model.services.set(`${ts.ns}-${ts.name}`, { source: ts.source, spec });
  }

  for (const ir of ingressRoutes) {
    const routes = Array.isArray(ir.spec.routes) ? ir.spec.routes : [];
    if (routes.length === 0) model.report.push({ outcome: 'unmapped', source: ir.source, message: 'the IngressRoute has no routes' });
    routes.forEach((r, i) => {
      const at = `${ir.source} spec.routes[${i}]`;
      const key = `${ir.ns}-${ir.name}${routes.length > 1 ? `-${i + 1}` : ''}`;
      if (!isRec(r)) throw new ImportInputError(`${at} must be a map`, at);
      const router: Rec = { rule: r.match, middlewares: middlewareRefs(r.middlewares, ir.ns, at) };
      if (r.kind !== undefined && r.kind !== 'Rule') {
        model.routers.set(key, { source: at, spec: router, error: `route kind '${String(r.kind)}' is not supported (only Rule)` });
        return;
      }
      if (r.priority !== undefined) router.priority = r.priority;
      if (ir.spec.entryPoints !== undefined) router.entryPoints = ir.spec.entryPoints;
      if (ir.spec.tls !== undefined) router.tls = ir.spec.tls;
      const services = Array.isArray(r.services) ? r.services.filter(isRec) : [];
      if (services.length === 1) router.service = serviceRef(services[0]!, ir.ns, `${at}.services[0]`);
      else if (services.length > 1) {
        // Several services on one route are weighted round robin in Traefik (weight 1 when unset).
        const wkey = `${key}-weighted`;
        model.services.set(wkey, {
          source: `${at}.services`,
          spec: { weighted: { services: services.map((s, j) => ({ name: serviceRef(s, ir.ns, `${at}.services[${j}]`), weight: s.weight ?? 1 })) } },
        });
        router.service = wkey;
      }
      model.routers.set(key, { source: at, spec: router });
    });
  }
  return model;
}

/** `[{name, namespace}]` → middleware keys (`<namespace>-<name>`, or `name@provider` as written). */
function middlewareRefs(v: unknown, ns: string, at: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ImportInputError(`${at}.middlewares must be a list`, at);
  return v.map((m, i) => {
    if (!isRec(m) || typeof m.name !== 'string') throw new ImportInputError(`${at}.middlewares[${i}] needs a name`, at);
    if (m.name.includes('@')) return m.name;
    return `${typeof m.namespace === 'string' ? m.namespace : ns}-${m.name}`;
  });
}

function normalizeMiddleware(spec: Rec, ns: string): Rec {
  const chain = field(spec, 'chain');
  if (isRec(chain)) return { ...spec, chain: { ...chain, middlewares: middlewareRefs(chain.middlewares, ns, 'chain') } };
  return spec;
}

const SERVICE_REF_FIELDS = ['passHostHeader', 'sticky', 'healthCheck', 'responseForwarding', 'serversTransport', 'strategy', 'nativeLB', 'nodePortLB'];

function kubernetesService(model: TraefikModel, ref: Rec, id: K8sRef, at: string): string {
  let port: number | undefined;
  const notes = [
    "Traefik balances over the Kubernetes Service's endpoints (pods); Gatehouse sends to the Service's cluster DNS name, so kube-proxy balances and Traefik's per-endpoint health and stickiness do not apply",
  ];
  let error: string | undefined;
  if (typeof ref.port === 'number') port = ref.port;
  else if (typeof ref.port === 'string' && /^\d+$/.test(ref.port)) port = Number(ref.port);
  else if (ref.port === 'http' || ref.port === 'https') {
    port = ref.port === 'http' ? 80 : 443;
    notes.push(`the named port '${ref.port}' was read as ${port}`);
  } else if (ref.port === undefined) error = 'the service reference has no port';
  else error = `the named port '${String(ref.port)}' cannot be resolved without the Service object`;
  const scheme = typeof ref.scheme === 'string' ? ref.scheme : port === 443 ? 'https' : 'http';
  const lb: Rec = { servers: port === undefined ? [] : [{ url: `${scheme}://${id.name}.${id.namespace}.svc.cluster.local:${port}` }] };
  for (const f of SERVICE_REF_FIELDS) if (ref[f] !== undefined) lb[f] = ref[f];
  if (typeof lb.serversTransport === 'string' && !lb.serversTransport.includes('@')) lb.serversTransport = `${id.namespace}-${lb.serversTransport}`;
  // One service per Kubernetes Service, port and settings: two references with other settings
  // (passHostHeader, sticky, …) must not share one Gatehouse service.
  const base = `${id.namespace}-${id.name}-${port ?? String(ref.port)}`;
  let key = base;
  for (let n = 2; model.services.has(key); n++) {
    if (JSON.stringify(model.services.get(key)!.spec.loadBalancer) === JSON.stringify(lb)) return key;
    key = `${base}-${n}`;
  }
  model.services.set(key, { source: at, spec: { loadBalancer: lb }, notes, ...(error ? { error } : {}) });
  return key;
}
