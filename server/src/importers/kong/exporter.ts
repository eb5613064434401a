/**
 * Gatehouse document → Kong declarative configuration (decK, `_format_version: "3.0"`): services with
 * their routes nested, upstreams with targets, consumers with ACL groups and the credentials Kong can take,
 * and plugins at the top level with their scope references. What Kong cannot express is reported the same
 * way the importer reports, with the Gatehouse entity as `source` and the Kong location as `target`.
 */
import { Document } from 'yaml';
import { checkDocument } from '../../config/check.js';
import type { ConfigDocument, HealthchecksConfig, RouteConfig, ServiceConfig, UpstreamConfig } from '../../config/schema.js';
import { PLUGINS } from '../../plugins/index.js';
import type { ImportReportEntry } from '../types.js';
import { BUILT_IN_EQUIVALENTS } from './plugins-import.js';
import { Ours, PLUGIN_EXPORTERS, schemaDefaults } from './plugins-export.js';
import { deepEqual, type Obj } from './util.js';

export interface KongExportResult {
  /** The decK file, as a JSON-compatible object. */
  kong: Obj;
  /** The same as decK YAML. */
  text: string;
  report: ImportReportEntry[];
}

const DEFAULT_RETRY_BUDGET = { ratio: 0.2, min_per_second: 10 };

export function exportToKong(input: ConfigDocument): KongExportResult {
  // Defaults filled in, so every field can be compared with the schema's default.
  const checked = checkDocument(structuredClone(input), PLUGINS);
  const doc = checked.ok ? checked.document : input;
  const report: ImportReportEntry[] = [];
  const add = (outcome: ImportReportEntry['outcome'], source: string, message: string, target?: string) =>
    report.push({ outcome, source, message, ...(target ? { target } : {}) });
  const result = (source: string, target: string, notes: string[]) =>
    notes.length ? add('approximated', source, notes.join('; '), target) : add('mapped', source, '', target);

  const services: Obj[] = [];
  const serviceIndex = new Map<string, Obj>();
  doc.services.forEach((s, i) => {
    const notes: string[] = [];
    const out = service(s, notes);
    services.push(out);
    serviceIndex.set(s.name, out);
    result(`services/${s.name}`, `services[${i}]`, notes);
  });

  for (const c of doc.certificates ?? []) {
    add('unmapped', `certificates/${c.name}`, 'not exported: Kong needs the private key, which Gatehouse never exports; add the certificate to Kong from its files');
  }

  const topRoutes: Obj[] = [];
  for (const r of doc.routes) {
    if (!r.enabled) {
      add('unmapped', `routes/${r.name}`, 'Kong routes cannot be disabled; the route was left out');
      continue;
    }
    const notes: string[] = [];
    const out = route(r, notes);
    const parent = r.service !== undefined ? serviceIndex.get(r.service) : undefined;
    if (parent) {
      const list = (parent.routes ??= []) as Obj[];
      list.push(out);
      result(`routes/${r.name}`, `services[${services.indexOf(parent)}].routes[${list.length - 1}]`, notes);
    } else {
      topRoutes.push(out);
      result(`routes/${r.name}`, `routes[${topRoutes.length - 1}]`, notes);
    }
  }

  const upstreams = doc.upstreams.map((u, i) => {
    const notes: string[] = [];
    const out = upstream(u, notes);
    result(`upstreams/${u.name}`, `upstreams[${i}]`, notes);
    return out;
  });

  const consumers = doc.consumers.map((c, i) => {
    const out: Obj = { username: c.username };
    if (c.custom_id !== undefined) out.custom_id = c.custom_id;
    if (c.tags.length) out.tags = c.tags;
    if (c.groups.length) out.acls = c.groups.map((group) => ({ group }));
    result(`consumers/${c.username}`, `consumers[${i}]`, []);
    return out;
  });
  (doc.credentials ?? []).forEach((cred) => {
    const source = `credentials/${cred.id} (${cred.kind} of ${cred.consumer})`;
    const i = doc.consumers.findIndex((c) => c.username === cred.consumer);
    const owner = consumers[i];
    if (cred.kind === 'jwt' && cred.rsa_public_key !== undefined && owner) {
      const list = (owner.jwt_secrets ??= []) as Obj[];
      list.push({ key: cred.key, algorithm: cred.algorithm, rsa_public_key: cred.rsa_public_key, ...(cred.tags.length ? { tags: cred.tags } : {}) });
      const notes = cred.expires_at || cred.revoked_at ? ['expiry and revocation have no Kong equivalent'] : [];
      result(source, `consumers[${i}].jwt_secrets[${list.length - 1}]`, notes);
    } else {
      add('unmapped', source, 'Gatehouse keeps only a hash or an encrypted copy of this secret; re-create the credential in Kong with its clear value');
    }
  });

  const plugins: Obj[] = [];
  for (const p of doc.plugins) {
    const scope = [p.service && !p.route ? `@service:${p.service}` : '', p.route ? `@route:${p.route}` : '', p.consumer ? `@consumer:${p.consumer}` : ''].join('');
    const source = `plugins/${p.name}${scope}`;
    const convert = PLUGIN_EXPORTERS[p.name];
    if (!convert) {
      add('unmapped', source, `Gatehouse's ${p.name} plugin has no Kong equivalent in the exporter`);
      continue;
    }
    const o = new Ours(p.config, schemaDefaults(p.name));
    const config = convert(o);
    if (typeof config === 'string') {
      add('unmapped', source, config);
      continue;
    }
    const out: Obj = { name: p.name };
    if (p.service) out.service = p.service;
    if (p.route) out.route = p.route;
    if (p.consumer) out.consumer = p.consumer;
    if (!p.enabled) out.enabled = false;
    out.config = config;
    if (p.tags.length) out.tags = p.tags;
    plugins.push(out);
    result(source, `plugins[${plugins.length - 1}]`, o.rest().map((n) => `config: ${n}`));
  }
  for (const name of Object.keys(BUILT_IN_EQUIVALENTS)) {
    add('approximated', `built-in ${name === 'prometheus' ? 'metrics' : 'X-Request-Id'}`, `Gatehouse does this without a plugin; enable Kong's ${name} plugin if you need it`);
  }

  const kong: Obj = { _format_version: '3.0' };
  if (services.length) kong.services = services;
  if (topRoutes.length) kong.routes = topRoutes;
  if (upstreams.length) kong.upstreams = upstreams;
  if (consumers.length) kong.consumers = consumers;
  if (plugins.length) kong.plugins = plugins;
  const text = new Document(kong, { version: '1.2', aliasDuplicateObjects: false }).toString({ lineWidth: 0, minContentWidth: 0 });
  return { kong, text, report };
}

function service(s: ServiceConfig, notes: string[]): Obj {
  const out: Obj = { name: s.name };
  if (s.url !== undefined) out.url = s.url;
  else {
    out.protocol = s.protocol ?? 'http';
    out.host = s.host;
    if (s.port !== undefined) out.port = s.port;
    if (s.path !== undefined) out.path = s.path;
  }
  out.connect_timeout = s.connect_timeout;
  out.read_timeout = s.read_timeout;
  out.write_timeout = s.write_timeout;
  out.retries = s.retries;
  if (!s.enabled) out.enabled = false;
  if (s.tags.length) out.tags = s.tags;
  if (s.retry_on_statuses.length) notes.push('retry_on_statuses has no Kong equivalent (Kong retries connection errors and timeouts only)');
  if (!deepEqual(s.retry_budget, DEFAULT_RETRY_BUDGET)) notes.push('retry_budget has no Kong equivalent');
  if (s.openapi) notes.push('openapi (the developer portal description) has no Kong equivalent');
  if ((s.url ?? `${s.protocol ?? 'http'}:`).startsWith('https:')) {
    // Kong's default is not to verify; Gatehouse's is to verify: always written out.
    out.tls_verify = s.tls_verify !== false;
    if (s.tls_server_name !== undefined) notes.push('tls_server_name has no Kong service equivalent (Kong sends the Host as SNI)');
    if (s.ca_certificates?.length) notes.push('ca_certificates are not exported: create them in Kong as ca_certificates and list their ids on the service');
    if (s.client_certificate !== undefined) notes.push(`client_certificate '${s.client_certificate}' is not exported: its key never leaves Gatehouse`);
  }
  return out;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function route(r: RouteConfig, notes: string[]): Obj {
  const out: Obj = { name: r.name };
  out.paths = r.paths.map((p) => {
    if (!p.startsWith('=')) return p;
    notes.push(`exact path '${p}' became the regex path '~${escapeRegex(p.slice(1))}$'`);
    return `~${escapeRegex(p.slice(1))}$`;
  });
  if (r.hosts.length) out.hosts = r.hosts;
  if (r.methods.length) out.methods = r.methods;
  if (r.headers && Object.keys(r.headers).length) out.headers = r.headers;
  out.protocols = r.protocols;
  out.strip_path = r.strip_path;
  out.preserve_host = r.preserve_host;
  if (r.priority !== 0) {
    out.regex_priority = r.priority;
    notes.push(`priority ${r.priority} became regex_priority, which Kong uses to order regex routes only`);
  }
  if (r.tags.length) out.tags = r.tags;
  if (r.query && Object.keys(r.query).length) notes.push('query matching has no Kong equivalent; the route matches any query');
  if (r.rewrite !== undefined) notes.push(`rewrite '${r.rewrite}' has no Kong route equivalent (use request-transformer replace.uri)`);
  return out;
}

function upstream(u: UpstreamConfig, notes: string[]): Obj {
  const out: Obj = { name: u.name };
  if (u.algorithm === 'round-robin') {
    out.algorithm = 'round-robin';
    if (new Set(u.targets.map((t) => t.weight)).size > 1) notes.push("round-robin ignores weights in Gatehouse; Kong's round-robin honours them");
  } else out.algorithm = u.algorithm === 'weighted-round-robin' ? 'round-robin' : u.algorithm;
  if (u.algorithm === 'consistent-hashing') {
    out.hash_on = u.hash_on;
    if (u.hash_on_header) out.hash_on_header = u.hash_on_header;
    if (u.hash_on_cookie) out.hash_on_cookie = u.hash_on_cookie;
  }
  if (u.healthchecks) {
    const hc = healthchecks(u.healthchecks, notes);
    if (hc) out.healthchecks = hc;
  }
  if (u.tags.length) out.tags = u.tags;
  out.targets = u.targets.map((t) => ({ target: t.target, weight: t.weight, ...(t.tags.length ? { tags: t.tags } : {}) }));
  if (u.keepalive_connections !== 256 || u.keepalive_timeout !== 60_000) notes.push('keepalive_connections/keepalive_timeout are node settings in Kong (upstream_keepalive_*)');
  if (u.discovery) notes.push('discovery has no Kong equivalent (Kong resolves targets through DNS only)');
  return out;
}

function healthchecks(hc: HealthchecksConfig, notes: string[]): Obj | undefined {
  const out: Obj = {};
  const a = hc.active;
  if (a.enabled) {
    const interval = a.interval / 1000;
    out.active = {
      type: a.type,
      http_path: a.http_path,
      https_verify_certificate: a.https_verify_certificate,
      timeout: a.timeout / 1000,
      ...(a.headers ? { headers: Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k, [v]])) } : {}),
      healthy: { interval, successes: a.healthy.successes, http_statuses: a.healthy.http_statuses },
      unhealthy: { interval, http_failures: a.unhealthy.failures, tcp_failures: a.unhealthy.failures, timeouts: a.unhealthy.failures, http_statuses: a.unhealthy.http_statuses },
    };
  }
  const p = hc.passive;
  if (p.enabled) {
    out.passive = {
      type: 'http',
      unhealthy: { http_failures: p.unhealthy.failures, tcp_failures: p.unhealthy.failures, timeouts: p.unhealthy.timeouts, http_statuses: p.unhealthy.http_statuses },
    };
    if (p.eject_duration !== 30_000 || !a.enabled) notes.push("passive checks: Kong keeps an ejected target out until an active check or an admin brings it back (no eject_duration)");
  }
  return Object.keys(out).length ? out : undefined;
}
