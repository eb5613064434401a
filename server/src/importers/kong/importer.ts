/**
 * Kong declarative configuration (decK `kong.yaml`, `_format_version: "3.0"`) → Gatehouse document.
 *
 * Every input element gets a report entry: `mapped` when Gatehouse behaves the same, `approximated` with
 * the differences, `unmapped` with the reason. Kong defaults are written out explicitly (timeouts of 60 s,
 * 5 retries…) so the imported gateway behaves like the Kong one rather than like Gatehouse's defaults.
 */
import { parseConfigText } from '../../config/config-file.js';
import { parsePathMatcher } from '../../config/check.js';
import {
  CertificateSchema,
  FORMAT_VERSION,
  type CertificateConfig,
  type ConfigDocument,
  type ConsumerConfig,
  type CredentialConfig,
  type HealthchecksConfig,
  type PluginInstanceConfig,
  type RouteConfig,
  type ServiceConfig,
  type UpstreamConfig,
} from '../../config/schema.js';
import { newCredential, CredentialInputError } from '../../auth/new-credential.js';
import { CertificateInputError, describeCertificate, sealCertificate } from '../../tls/certificates.js';
import { processCredentialKeys, type CredentialKeys } from '../../auth/secrets.js';
import { ImportInputError, type Importer, type ImportReportEntry, type ImportResult, type ImportOutcome } from '../types.js';
import { BUILT_IN_EQUIVALENTS, PLUGIN_IMPORTERS, type PluginScope } from './plugins-import.js';
import { Fields, isObj, NAME_RE, present, toName, uniqueName, type Obj } from './util.js';

export interface KongImporterOptions {
  /**
   * The cluster's credential keys. API keys (keyed hash) and HMAC / jwt HS secrets (encrypted) can only be
   * stored with them; without them those credentials are reported as unmapped. Passwords (scrypt) and
   * jwt public keys need no key.
   */
  credentialKeys?: CredentialKeys;
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const HOST_RE = /^(\*\.)?[A-Za-z0-9.-]+(:[0-9]+)?$|^[A-Za-z0-9.-]+\.\*$/;
const KONG_TIMEOUT_MS = 60_000;
const KONG_RETRIES = 5;

/** Top-level keys that are decK metadata, not entities. */
const META_KEYS = new Set(['_format_version', '_transform', '_info', '_workspace', '_konnect']);

const UNSUPPORTED_TOP: Record<string, string> = {
  vaults: 'vaults (secret references) are not supported; put resolved values in the file or environment',
  consumer_groups: 'consumer groups are not supported; use consumer `groups` with the acl plugin',
  _plugin_configs: 'shared plugin configs (_plugin_configs) are not supported',
  oauth2_credentials: 'oauth2 (Kong as authorization server) is not supported; use the jwt or oauth2-introspection plugin against your IdP',
  mtls_auth_credentials: 'mTLS client certificate authentication is not supported',
  key_sets: 'key sets are not supported',
  keys: 'keys are not supported',
  filter_chains: 'filter chains (Wasm) are not supported',
  licenses: 'licenses are Kong Enterprise metadata',
  rbac_roles: 'Kong Enterprise RBAC is not supported',
};

type Credential = CredentialConfig;

/** Top-level `snis` naming one certificate: the names, where they stood, and whether that certificate was found. */
type TopSnis = { names: string[]; entries: string[]; used: boolean };

/** Server names a Gatehouse certificate accepts (the schema's own pattern; matched on lower-cased names). */
const SNI_RE = new RegExp(CertificateSchema.properties.snis.items.pattern!);

class Conversion {
  readonly report: ImportReportEntry[] = [];
  readonly doc: ConfigDocument = { _format_version: FORMAT_VERSION, services: [], routes: [], upstreams: [], consumers: [], plugins: [] };
  readonly credentials: Credential[] = [];
  private readonly serviceRefs = new Map<string, string>();
  private readonly routeRefs = new Map<string, string>();
  private readonly consumerRefs = new Map<string, string>();
  private readonly serviceNames = new Set<string>();
  private readonly routeNames = new Set<string>();
  private readonly upstreamNames = new Set<string>();
  private readonly consumerNames = new Set<string>();
  /** Services that could not be converted: their routes cannot be either. */
  private readonly droppedServices = new Set<string>();
  readonly certificates: CertificateConfig[] = [];
  /** Kong certificate id → the Gatehouse certificate's name (services' client_certificate). */
  private readonly certificateRefs = new Map<string, string>();
  private readonly certificateNames = new Set<string>();
  /** Kong CA certificate id → its PEM (services' ca_certificates). */
  private readonly caCertificates = new Map<string, string>();
  private readonly pending: { raw: Obj; at: string; scope: { service?: string; route?: string; consumer?: string } }[] = [];
  private readonly pendingCreds: { kind: string; raw: Obj; at: string; consumer: string | undefined }[] = [];

  constructor(private readonly keys: CredentialKeys | undefined) {}

  add(outcome: ImportOutcome, source: string, message: string, target?: string): void {
    this.report.push({ outcome, source, message, ...(target ? { target } : {}) });
  }
  /** One entry: mapped when no notes, approximated with the notes otherwise. */
  result(source: string, target: string, notes: string[], mappedNote = ''): void {
    if (notes.length) this.add('approximated', source, notes.join('; '), target);
    else this.add('mapped', source, mappedNote, target);
  }

  run(root: Obj): void {
    for (const [key, value] of Object.entries(root)) {
      if (META_KEYS.has(key) || !present(value)) continue;
      if (key in UNSUPPORTED_TOP) {
        const n = Array.isArray(value) ? value.length : 1;
        if (n) this.add('unmapped', key, `${n} ${n === 1 ? 'entry' : 'entries'}: ${UNSUPPORTED_TOP[key]}`);
      } else if (!['services', 'routes', 'upstreams', 'consumers', 'plugins', 'keyauth_credentials', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'acls', 'targets', 'certificates', 'snis', 'ca_certificates'].includes(key)) {
        this.add('unmapped', key, `unknown top-level key '${key}'`);
      }
    }
    // Before the services, which name them (client_certificate, ca_certificates).
    this.list(root, 'ca_certificates', '').forEach((c, i) => this.caCertificate(c, `ca_certificates[${i}]`));
    const snis = this.topSnis(this.list(root, 'snis', ''));
    this.list(root, 'certificates', '').forEach((c, i) => this.certificate(c, `certificates[${i}]`, snis));
    for (const [ref, s] of snis) if (!s.used) s.entries.forEach((at) => this.add('unmapped', at, `names certificate '${ref}', which is not in the file`));
    if (this.certificates.length) this.doc.certificates = this.certificates;
    this.list(root, 'upstreams', '').forEach((u, i) => this.upstream(u, `upstreams[${i}]`));
    this.list(root, 'targets', '').forEach((t, i) => this.topTarget(t, `targets[${i}]`));
    this.list(root, 'services', '').forEach((s, i) => this.service(s, `services[${i}]`));
    this.list(root, 'routes', '').forEach((r, i) => this.route(r, `routes[${i}]`, undefined));
    this.list(root, 'consumers', '').forEach((c, i) => this.consumer(c, `consumers[${i}]`));
    for (const kind of ['keyauth_credentials', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'acls']) {
      this.list(root, kind, '').forEach((c, i) => this.pendingCreds.push({ kind, raw: c, at: `${kind}[${i}]`, consumer: undefined }));
    }
    this.list(root, 'plugins', '').forEach((p, i) => this.pending.push({ raw: p, at: `plugins[${i}]`, scope: {} }));
    for (const c of this.pendingCreds) this.credential(c.kind, c.raw, c.at, c.consumer);
    for (const p of this.pending) this.plugin(p.raw, p.at, p.scope);
    if (this.credentials.length) this.doc.credentials = this.credentials;
  }

  private list(obj: Obj, key: string, at: string): Obj[] {
    const v = obj[key];
    if (!present(v)) return [];
    const where = at ? `${at}.${key}` : key;
    if (!Array.isArray(v)) throw new ImportInputError(`${where} must be a list`, where);
    return v.map((item, i) => {
      if (!isObj(item)) throw new ImportInputError(`${where}[${i}] must be an object`, `${where}[${i}]`);
      return item;
    });
  }

  /** Registers an entity's Kong name and id for references; duplicate names make the file invalid (Kong refuses it too). */
  private name(kind: string, raw: string | undefined, fallback: string, taken: Set<string>, at: string, notes: string[]): string {
    if (raw !== undefined) {
      if (taken.has(raw)) throw new ImportInputError(`duplicate ${kind} name '${raw}' at ${at}`, at);
      if (NAME_RE.test(raw)) {
        taken.add(raw);
        return raw;
      }
      const name = uniqueName(toName(raw, fallback), taken);
      notes.push(`the name '${raw}' is not a valid Gatehouse name; renamed '${name}'`);
      return name;
    }
    return uniqueName(fallback, taken);
  }

  private refs(map: Map<string, string>, raw: Obj, name: string, ...keys: string[]): void {
    for (const k of keys) {
      const v = raw[k];
      if (typeof v === 'string' && v) map.set(v, name);
    }
  }

  private resolve(map: Map<string, string>, ref: unknown): string | undefined {
    if (typeof ref === 'string') return map.get(ref);
    if (isObj(ref)) return this.resolve(map, ref.name ?? ref.id ?? ref.username);
    return undefined;
  }

  private timeouts(f: Fields, out: ServiceConfig): void {
    for (const k of ['connect_timeout', 'read_timeout', 'write_timeout'] as const) {
      const v = Math.round(f.num(k) ?? KONG_TIMEOUT_MS);
      out[k] = Math.min(3_600_000, Math.max(1, v));
      if (out[k] !== v) f.notes.push(`${k} ${v} ms clamped to ${out[k]} ms`);
    }
  }

  /**
   * Kong verifies upstream certificates only when `tls_verify` is true (default false); Gatehouse verifies
   * by default. The Kong default is written out so an imported service keeps working against a
   * self-signed upstream, and the report says so.
   */
  private upstreamTls(f: Fields, out: ServiceConfig, protocol: string): void {
    const verify = f.bool('tls_verify');
    const cas = f.strs('ca_certificates');
    const client = f.get('client_certificate');
    f.unsupported('tls_verify_depth', undefined, 'is not supported (the chain is checked to a trusted CA at any depth)');
    if (protocol !== 'https') return;
    out.tls_verify = verify ?? false;
    if (cas?.length) {
      const pems: string[] = [];
      for (const id of cas) {
        const pem = this.caCertificates.get(id);
        if (pem === undefined) f.notes.push(`ca_certificates: '${id}' is not in the file's ca_certificates; dropped`);
        else pems.push(pem);
      }
      if (pems.length) out.ca_certificates = pems;
    }
    if (client !== undefined) {
      const name = this.resolve(this.certificateRefs, client);
      if (name === undefined) f.notes.push(`client_certificate ${JSON.stringify(client)} was not imported (see certificates); the upstream gets no client certificate`);
      else out.client_certificate = name;
    }
  }

  /** A CA certificate (Kong's `ca_certificates` entity): kept by id for the services that list it. */
  caCertificate(raw: Obj, at: string): void {
    const f = new Fields(raw, ['id', 'created_at', 'updated_at', 'cert_digest']);
    const cert = f.str('cert');
    const id = f.str('id');
    f.get('tags');
    if (!cert || !cert.includes('-----BEGIN CERTIFICATE-----')) return this.add('unmapped', at, 'needs a PEM `cert`');
    if (!id) return this.add('unmapped', at, 'has no `id`, so no service can name it');
    this.caCertificates.set(id, cert);
    this.result(at, 'services (ca_certificates of the services that name it)', f.rest(), 'a CA for upstream verification');
  }

  /** Top-level `snis` entities: server names per certificate reference (id or name). */
  private topSnis(list: Obj[]): Map<string, TopSnis> {
    const out = new Map<string, TopSnis>();
    list.forEach((raw, i) => {
      const at = `snis[${i}]`;
      const name = typeof raw.name === 'string' ? raw.name : undefined;
      const ref = raw.certificate;
      const key = typeof ref === 'string' ? ref : isObj(ref) && typeof (ref.id ?? ref.name) === 'string' ? String(ref.id ?? ref.name) : undefined;
      if (!name || !key) return this.add('unmapped', at, 'needs `name` and `certificate`');
      const e = out.get(key) ?? { names: [], entries: [], used: false };
      e.names.push(name);
      e.entries.push(at);
      out.set(key, e);
    });
    return out;
  }

  /**
   * A certificate and its key, with the server names listed on it or in top-level `snis`. The key can only
   * be stored encrypted under the cluster's GATEHOUSE_SECRET_KEY, like HMAC secrets.
   */
  certificate(raw: Obj, at: string, topSnis: Map<string, TopSnis>): void {
    const f = new Fields(raw);
    const id = f.str('id');
    const cert = f.str('cert');
    const key = f.str('key');
    const tags = f.strs('tags') ?? [];
    const listed: string[] = [];
    const snisField = f.get('snis');
    if (Array.isArray(snisField)) for (const s of snisField) if (typeof s === 'string' || (isObj(s) && typeof s.name === 'string')) listed.push(typeof s === 'string' ? s : String(s.name));
    const fromTop = id !== undefined ? topSnis.get(id) : undefined;
    if (fromTop) {
      fromTop.used = true;
      listed.push(...fromTop.names);
      fromTop.entries.forEach((e) => this.add('mapped', e, '', `certificates (server name of ${at})`));
    }
    if (f.get('cert_alt') !== undefined || f.get('key_alt') !== undefined) f.notes.push('the alternate pair (cert_alt/key_alt) is not imported: one certificate per entry');
    if (!cert || !key) return this.add('unmapped', at, 'needs `cert` and `key`');
    if (!this.keys) {
      return this.add('unmapped', at, "its private key can only be stored encrypted with the cluster's GATEHOUSE_SECRET_KEY: import with it set (or through the admin API), or add the certificate with `POST /certificates`");
    }
    // Kong also takes `example.*`; Gatehouse names are exact or `*.` wildcards.
    const snis = [...new Set(listed.map((n) => n.toLowerCase()))].filter((n) => {
      if (SNI_RE.test(n)) return true;
      f.notes.push(`server name '${n}' is not supported (exact names and \`*.\` wildcards only); dropped`);
      return false;
    });
    // Named after its first exact server name (Kong certificates have only ids): the listed ones, else the leaf's.
    let names = snis;
    if (!names.length) {
      try {
        names = describeCertificate(cert).names;
      } catch {
        // A bad PEM is reported by sealCertificate below.
      }
    }
    const label = names.find((n) => !n.startsWith('*')) ?? names[0]?.replace(/^\*\./, 'wildcard.') ?? '';
    const name = uniqueName(toName(label, `certificate-${this.certificates.length + 1}`), this.certificateNames);
    try {
      this.certificates.push(sealCertificate(this.keys, { name, cert, key, ...(snis.length ? { snis } : {}), tags }));
    } catch (err) {
      this.certificateNames.delete(name);
      if (err instanceof CertificateInputError) return this.add('unmapped', at, err.message);
      throw err;
    }
    if (id !== undefined) this.certificateRefs.set(id, name);
    if (!snis.length) f.notes.push("no server names in Kong: the certificate's own DNS names are used");
    this.result(at, `certificates/${name}`, f.rest());
  }

  service(raw: Obj, at: string): void {
    const f = new Fields(raw);
    const rawName = f.str('name');
    const name = this.name('service', rawName, `service-${this.doc.services.length + 1}`, this.serviceNames, at, f.notes);
    if (rawName === undefined) f.notes.push(`unnamed in Kong; named '${name}'`);
    this.refs(this.serviceRefs, raw, name, 'name', 'id');
    const out = { name } as ServiceConfig;
    const url = f.str('url');
    let protocol: string;
    if (url !== undefined) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw new ImportInputError(`${at}.url '${url}' is not a URL`, `${at}.url`);
      }
      protocol = u.protocol.slice(0, -1);
      out.url = url;
      for (const k of ['protocol', 'host', 'port', 'path']) f.get(k);
    } else {
      protocol = f.str('protocol') ?? 'http';
      const host = f.str('host');
      if (!host) throw new ImportInputError(`${at} needs \`url\` or \`host\``, at);
      out.protocol = protocol as 'http';
      out.host = host;
      const port = f.num('port');
      if (port !== undefined) out.port = port;
      const path = f.str('path');
      if (path !== undefined) out.path = path;
    }
    const routes = this.list(raw, 'routes', at);
    f.get('routes');
    const plugins = this.list(raw, 'plugins', at);
    f.get('plugins');
    if (protocol !== 'http' && protocol !== 'https') {
      this.droppedServices.add(name);
      this.add('unmapped', at, `protocol '${protocol}' is not supported (HTTP and HTTPS only)`);
      routes.forEach((r, i) => this.add('unmapped', `${at}.routes[${i}]`, `its service '${name}' was not converted`));
      plugins.forEach((p, i) => this.add('unmapped', `${at}.plugins[${i}] (${String(p.name)})`, `its service '${name}' was not converted`));
      return;
    }
    this.timeouts(f, out);
    const retries = Math.round(f.num('retries') ?? KONG_RETRIES);
    out.retries = Math.min(10, Math.max(0, retries));
    if (out.retries !== retries) f.notes.push(`retries ${retries} capped at 10`);
    if (retries > 0) f.notes.push('retries go to another target on connection failures only (Kong also retries timeouts)');
    const enabled = f.bool('enabled');
    if (enabled !== undefined) out.enabled = enabled;
    const tags = f.strs('tags');
    if (tags?.length) out.tags = tags;
    this.upstreamTls(f, out, protocol);
    this.doc.services.push(out);
    this.result(at, `services/${name}`, f.rest());
    routes.forEach((r, i) => this.route(r, `${at}.routes[${i}]`, name));
    plugins.forEach((p, i) => this.pending.push({ raw: p, at: `${at}.plugins[${i}]`, scope: { service: name } }));
  }

  route(raw: Obj, at: string, parent: string | undefined): void {
    const f = new Fields(raw);
    let service = parent;
    const ref = f.get('service');
    if (ref !== undefined) {
      const resolved = this.resolve(this.serviceRefs, ref);
      if (resolved === undefined) {
        const label = typeof ref === 'string' ? ref : JSON.stringify(ref);
        if (typeof ref === 'string' ? this.droppedServices.has(ref) : false) {
          this.add('unmapped', at, `its service '${label}' was not converted`);
          return;
        }
        throw new ImportInputError(`${at}.service '${label}' names no service in the file`, `${at}.service`);
      }
      service = resolved;
    }
    const rawName = f.str('name');
    const name = this.name('route', rawName, `${service ?? 'route'}-route-${this.doc.routes.length + 1}`, this.routeNames, at, f.notes);
    const plugins = this.list(raw, 'plugins', at);
    f.get('plugins');

    const protocols = (f.strs('protocols') ?? ['http', 'https']).map((p) => p.toLowerCase());
    const http = protocols.filter((p): p is 'http' | 'https' => p === 'http' || p === 'https');
    if (!http.length) {
      this.routeNames.delete(name);
      this.add('unmapped', at, `protocols ${protocols.join(', ')} are not supported (HTTP and HTTPS only)`);
      plugins.forEach((p, i) => this.add('unmapped', `${at}.plugins[${i}] (${String(p.name)})`, `its route was not converted`));
      return;
    }
    this.refs(this.routeRefs, raw, name, 'name', 'id');
    if (http.length !== protocols.length) f.notes.push(`protocols ${protocols.filter((p) => !http.includes(p as 'http')).join(', ')} dropped`);
    const out: RouteConfig = { name, hosts: [], paths: [], methods: [], priority: 0, strip_path: true, preserve_host: false, protocols: http, enabled: true, tags: [] };
    if (service !== undefined) out.service = service;
    for (const h of f.strs('hosts') ?? []) {
      if (HOST_RE.test(h)) out.hosts.push(h.toLowerCase());
      else f.notes.push(`host '${h}' is not supported; dropped`);
    }
    for (const p of f.strs('paths') ?? []) {
      const converted = convertPath(p);
      if (converted === undefined) f.notes.push(`path '${p}' is not a valid regex; dropped`);
      else out.paths.push(converted);
    }
    for (const m of f.strs('methods') ?? []) {
      const up = m.toUpperCase();
      if (HTTP_METHODS.has(up)) out.methods.push(up as 'GET');
      else f.notes.push(`method '${m}' is not supported; dropped`);
    }
    const headers = f.get('headers');
    if (isObj(headers)) {
      const h: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(headers)) {
        const values = (Array.isArray(v) ? v : [v]).map(String);
        if (values.length) h[k.toLowerCase()] = values;
      }
      if (Object.keys(h).length) out.headers = h;
    }
    out.strip_path = f.bool('strip_path') ?? true;
    out.preserve_host = f.bool('preserve_host') ?? false;
    const regexPriority = f.num('regex_priority') ?? 0;
    if (regexPriority !== 0) {
      out.priority = Math.max(-1000, Math.min(1000, Math.round(regexPriority)));
      f.notes.push(`regex_priority ${regexPriority} became priority ${out.priority}, which orders all routes, not only regex ones`);
    }
    const tags = f.strs('tags');
    if (tags?.length) out.tags = tags;
    const mapped: string[] = rawName === undefined ? [`unnamed in Kong; named '${name}'`] : [];
    // Kong's prefix `/orders` also matches `/orders-archive`; Gatehouse's only `/orders` and `/orders/…`.
    if (out.paths.some((p) => !p.startsWith('~') && !p.endsWith('/'))) mapped.push('prefix paths match whole path segments');
    const redirect = f.get('https_redirect_status_code');
    if (redirect !== undefined) {
      const msg = `https_redirect_status_code ${String(redirect)} is not supported`;
      if (http.includes('http')) mapped.push(`${msg} (unused: the route accepts plain HTTP)`);
      else f.notes.push(`${msg}: plain-HTTP requests are not redirected to HTTPS (add the redirect plugin)`);
    }
    f.unsupported('path_handling', 'v0', 'is not supported (the service path and the remaining path are joined like Kong\'s v0)');
    // Gatehouse streams bodies either way; buffering only changes how Kong reads them.
    f.get('request_buffering');
    f.get('response_buffering');
    f.unsupported('snis', undefined, 'is not supported');
    f.unsupported('sources', undefined, 'is not supported (use the ip-restriction plugin)');
    f.unsupported('destinations', undefined, 'is not supported');
    this.doc.routes.push(out);
    this.result(at, `routes/${name}`, f.rest(), mapped.join('; '));
    plugins.forEach((p, i) => this.pending.push({ raw: p, at: `${at}.plugins[${i}]`, scope: { route: name } }));
  }

  upstream(raw: Obj, at: string): void {
    const f = new Fields(raw);
    const rawName = f.str('name');
    if (rawName === undefined) throw new ImportInputError(`${at} needs a name`, at);
    const name = this.name('upstream', rawName, 'upstream', this.upstreamNames, at, f.notes);
    const out: UpstreamConfig = { name, algorithm: 'weighted-round-robin', hash_on: 'none', keepalive_connections: 256, keepalive_timeout: 60_000, targets: [], tags: [] };
    const hashOn = f.str('hash_on') ?? 'none';
    const algorithm = f.str('algorithm') ?? (hashOn !== 'none' ? 'consistent-hashing' : 'round-robin');
    if (algorithm === 'round-robin') out.algorithm = 'weighted-round-robin';
    else if (algorithm === 'least-connections' || algorithm === 'consistent-hashing') out.algorithm = algorithm;
    else {
      out.algorithm = 'least-connections';
      f.notes.push(`algorithm '${algorithm}' became least-connections`);
    }
    if (out.algorithm === 'consistent-hashing') {
      if (hashOn === 'header' || hashOn === 'cookie' || hashOn === 'ip' || hashOn === 'consumer') out.hash_on = hashOn;
      else {
        out.hash_on = 'ip';
        f.notes.push(`hash_on '${hashOn}' is not supported; hashing on the client address instead`);
      }
      const header = f.str('hash_on_header');
      if (header && out.hash_on === 'header') out.hash_on_header = header;
      const cookie = f.str('hash_on_cookie');
      if (cookie && out.hash_on === 'cookie') out.hash_on_cookie = cookie;
    } else {
      f.get('hash_on_header');
      f.get('hash_on_cookie');
    }
    for (const k of ['hash_on_query_arg', 'hash_on_uri_capture', 'hash_fallback_header', 'hash_fallback_query_arg', 'hash_fallback_uri_capture']) f.get(k);
    f.unsupported('hash_fallback', 'none', 'is not supported (no fallback hash input)');
    f.unsupported('hash_on_cookie_path', '/', 'is not supported');
    f.unsupported('slots', 10000);
    f.unsupported('host_header', undefined, 'is not supported (use preserve_host or request-transformer)');
    f.unsupported('client_certificate', undefined, 'is not supported');
    f.unsupported('use_srv_name', false, 'is not supported');
    const tags = f.strs('tags');
    if (tags?.length) out.tags = tags;
    const hc = f.get('healthchecks');
    if (isObj(hc)) {
      const converted = healthchecks(hc, f.notes);
      if (converted) out.healthchecks = converted;
    }
    const targets = this.list(raw, 'targets', at);
    f.get('targets');
    this.doc.upstreams.push(out);
    this.refs(this.upstreamRefs, raw, name, 'name', 'id');
    this.result(at, `upstreams/${name}`, f.rest());
    targets.forEach((t, i) => this.target(out, t, `${at}.targets[${i}]`));
  }

  private readonly upstreamRefs = new Map<string, string>();

  private target(u: UpstreamConfig, raw: Obj, at: string): void {
    const f = new Fields(raw);
    f.get('upstream');
    let target = f.str('target');
    if (!target) throw new ImportInputError(`${at} needs a target`, at);
    if (!/:[0-9]{1,5}$/.test(target) || (target.startsWith('[') && !/\]:[0-9]+$/.test(target))) {
      target = `${target}:8000`;
      f.notes.push(`no port given; Kong's default 8000 was used (${target})`);
    }
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(target)) {
      this.add('unmapped', at, `target '${target}' is not host:port`);
      return;
    }
    if (u.targets.some((t) => t.target === target)) throw new ImportInputError(`duplicate target '${target}' in upstream '${u.name}' at ${at}`, at);
    const weight = Math.round(f.num('weight') ?? 100);
    const tags = f.strs('tags');
    u.targets.push({ target, weight: Math.min(65535, Math.max(0, weight)), tags: tags ?? [] });
    this.result(at, `upstreams/${u.name}`, f.rest());
  }

  private topTarget(raw: Obj, at: string): void {
    const name = this.resolve(this.upstreamRefs, raw.upstream);
    const u = this.doc.upstreams.find((x) => x.name === name);
    if (!u) throw new ImportInputError(`${at}.upstream names no upstream in the file`, `${at}.upstream`);
    this.target(u, raw, at);
  }

  consumer(raw: Obj, at: string): void {
    const f = new Fields(raw);
    const username = f.str('username');
    const customId = f.str('custom_id');
    if (username === undefined && customId === undefined) throw new ImportInputError(`${at} needs a username or a custom_id`, at);
    if (customId !== undefined && this.consumerRefs.has(customId) && username === undefined) throw new ImportInputError(`duplicate consumer custom_id '${customId}' at ${at}`, at);
    const name = this.name('consumer', username, toName(customId ?? '', 'consumer'), this.consumerNames, at, f.notes);
    if (username === undefined) {
      f.notes.push(`no username in Kong; the username '${name}' was derived from custom_id`);
      this.consumerNames.add(name);
    }
    this.refs(this.consumerRefs, raw, name, 'id', 'custom_id', 'username');
    const out: ConsumerConfig = { username: name, groups: [], tags: f.strs('tags') ?? [] };
    if (customId !== undefined) out.custom_id = customId;
    this.doc.consumers.push(out);
    for (const kind of ['keyauth_credentials', 'basicauth_credentials', 'jwt_secrets', 'hmacauth_credentials', 'acls']) {
      this.list(raw, kind, at).forEach((c, i) => this.pendingCreds.push({ kind, raw: c, at: `${at}.${kind}[${i}]`, consumer: name }));
      f.get(kind);
    }
    for (const kind of ['oauth2_credentials', 'mtls_auth_credentials']) {
      this.list(raw, kind, at).forEach((_c, i) => this.add('unmapped', `${at}.${kind}[${i}]`, UNSUPPORTED_TOP[kind]!));
      f.get(kind);
    }
    this.list(raw, 'plugins', at).forEach((p, i) => this.pending.push({ raw: p, at: `${at}.plugins[${i}]`, scope: { consumer: name } }));
    f.get('plugins');
    const groups = f.get('groups');
    if (Array.isArray(groups) && groups.length) f.notes.push('consumer group memberships are not supported; use `acls` groups');
    this.result(at, `consumers/${name}`, f.rest());
  }

  private credential(kind: string, raw: Obj, at: string, nested: string | undefined): void {
    const f = new Fields(raw);
    const ref = f.get('consumer');
    const consumer = nested ?? this.resolve(this.consumerRefs, ref);
    if (consumer === undefined) throw new ImportInputError(`${at}.consumer names no consumer in the file`, `${at}.consumer`);
    if (kind === 'acls') {
      const group = f.str('group');
      if (!group) throw new ImportInputError(`${at} needs a group`, at);
      const c = this.doc.consumers.find((x) => x.username === consumer)!;
      if (!c.groups.includes(group)) c.groups.push(group);
      f.get('tags');
      this.result(at, `consumers/${consumer}`, f.rest(), `group '${group}'`);
      return;
    }
    const tags = f.strs('tags') ?? [];
    const target = `credentials of ${consumer}`;
    const keys = this.keys;
    const needKeys = (what: string) =>
      this.add('unmapped', at, `${what} can only be stored hashed/encrypted with the cluster's credential keys; re-create it with \`POST /consumers/${consumer}/credentials\` (the value stays in the Kong file), or import through the admin API`);
    try {
      if (kind === 'keyauth_credentials') {
        const key = f.str('key');
        if (!key) return this.add('unmapped', at, 'a key-auth credential without `key` (Kong generates one) cannot be carried over');
        const ttl = f.num('ttl');
        if (ttl) f.notes.push(`ttl ${ttl} s is not carried over (the credential does not expire)`);
        if (!keys) return needKeys('an API key');
        this.credentials.push(newCredential(keys, consumer, { kind: 'key-auth', key, tags }).credential);
      } else if (kind === 'basicauth_credentials') {
        const username = f.str('username');
        const password = f.str('password');
        if (!username || !password) return this.add('unmapped', at, 'needs username and password');
        // Kong stores sha1(password .. consumer_id); a dump holds that digest, not the password.
        if (/^[0-9a-f]{40}$/.test(password)) {
          return this.add('unmapped', at, "the password looks like Kong's stored SHA-1 digest, not the password itself; set a new password for this user");
        }
        this.credentials.push(newCredential(keys ?? processCredentialKeys(), consumer, { kind: 'basic-auth', key: username, secret: password, tags }).credential);
      } else if (kind === 'jwt_secrets') {
        const key = f.str('key');
        if (!key) return this.add('unmapped', at, 'a jwt secret without `key` cannot be matched against tokens');
        const algorithm = f.str('algorithm') ?? 'HS256';
        const rsa = f.str('rsa_public_key');
        const secret = f.str('secret');
        if (/^HS/.test(algorithm)) {
          if (!secret) return this.add('unmapped', at, `${algorithm} needs \`secret\``);
          if (!keys) return needKeys(`the ${algorithm} secret`);
          this.credentials.push(newCredential(keys, consumer, { kind: 'jwt', key, algorithm, secret, tags }).credential);
        } else {
          if (!rsa) return this.add('unmapped', at, `${algorithm} needs \`rsa_public_key\``);
          this.credentials.push(newCredential(keys ?? processCredentialKeys(), consumer, { kind: 'jwt', key, algorithm, rsa_public_key: rsa, tags }).credential);
        }
      } else {
        const username = f.str('username');
        const secret = f.str('secret');
        if (!username) return this.add('unmapped', at, 'needs username');
        if (!keys) return needKeys('the HMAC secret');
        this.credentials.push(newCredential(keys, consumer, { kind: 'hmac-auth', key: username, ...(secret ? { secret } : {}), tags }).credential);
        if (!secret) f.notes.push('no secret in the file; a new one was generated');
      }
    } catch (e) {
      if (e instanceof CredentialInputError) return this.add('unmapped', at, `${e.message}`);
      throw e;
    }
    this.result(at, target, f.rest());
  }

  private plugin(raw: Obj, at: string, nested: { service?: string; route?: string; consumer?: string }): void {
    const f = new Fields(raw);
    const name = f.str('name');
    if (!name) throw new ImportInputError(`${at} needs a name`, at);
    const source = `${at} (${name})`;
    const scope = { ...nested };
    for (const [k, map] of [
      ['service', this.serviceRefs],
      ['route', this.routeRefs],
      ['consumer', this.consumerRefs],
    ] as const) {
      const ref = f.get(k);
      if (ref === undefined) continue;
      const resolved = this.resolve(map, ref);
      if (resolved === undefined) {
        const label = typeof ref === 'string' ? ref : JSON.stringify(ref);
        if (k === 'service' && this.droppedServices.has(label)) return this.add('unmapped', source, `its service '${label}' was not converted`);
        return this.add('unmapped', source, `${k} '${label}' names no converted ${k} in the file`);
      }
      scope[k] = resolved;
    }
    if (present(raw.consumer_group)) return this.add('unmapped', source, 'plugins scoped to consumer groups are not supported');
    if (name in BUILT_IN_EQUIVALENTS) return this.add('approximated', source, BUILT_IN_EQUIVALENTS[name]!, 'built-in');
    const convert = PLUGIN_IMPORTERS[name];
    if (!convert) return this.add('unmapped', source, `the Kong plugin '${name}' has no Gatehouse equivalent the importer converts`);
    const kind: PluginScope = scope.consumer ? 'consumer' : scope.route ? 'route' : scope.service ? 'service' : 'global';
    const rawConfig = f.get('config');
    const cfg = new Fields(isObj(rawConfig) ? rawConfig : {}, []);
    const converted = convert(cfg, { scope: kind, resolveConsumer: (ref) => this.consumerRefs.get(ref) });
    if ('unmapped' in converted) return this.add('unmapped', source, converted.unmapped);
    const instance: PluginInstanceConfig = { name, enabled: f.bool('enabled') ?? true, config: converted.config, tags: f.strs('tags') ?? [] };
    if (scope.service) instance.service = scope.service;
    if (scope.route) instance.route = scope.route;
    if (scope.consumer) instance.consumer = scope.consumer;
    const key = `${name}|${scope.service ?? ''}|${scope.route ?? ''}|${scope.consumer ?? ''}`;
    if (this.doc.plugins.some((p) => `${p.name}|${p.service ?? ''}|${p.route ?? ''}|${p.consumer ?? ''}` === key)) {
      throw new ImportInputError(`duplicate plugin '${name}' at ${at}: another instance has the same scope`, at);
    }
    const protocols = f.strs('protocols');
    if (protocols?.some((p) => p !== 'http' && p !== 'https' && p !== 'grpc' && p !== 'grpcs')) {
      f.notes.push(`protocols ${protocols.join(', ')}: the instance applies to HTTP(S) requests only`);
    }
    f.get('instance_name');
    f.unsupported('ordering', undefined, 'is not supported (plugins run in Gatehouse\'s fixed order)');
    this.doc.plugins.push(instance);
    const target = `plugins/${name}${scope.route ? `@route:${scope.route}` : scope.service ? `@service:${scope.service}` : ''}${scope.consumer ? `@consumer:${scope.consumer}` : ''}`;
    this.result(source, target, [...cfg.rest().map((n) => `config: ${n}`), ...f.rest()]);
  }
}

/** Kong 3 regex paths start with `~` and are anchored at the start, as Gatehouse's; PCRE's `(?P<name>` becomes `(?<name>`. */
export function convertPath(p: string): string | undefined {
  if (!p.startsWith('~')) return p;
  const regex = p.slice(1).replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>');
  const out = `~${regex}`;
  try {
    parsePathMatcher(out);
  } catch {
    return undefined;
  }
  return out;
}

/** Kong's healthchecks (seconds; separate healthy/unhealthy intervals and failure kinds) → Gatehouse's. */
function healthchecks(hc: Obj, notes: string[]): HealthchecksConfig | undefined {
  const active = isObj(hc.active) ? hc.active : {};
  const passive = isObj(hc.passive) ? hc.passive : {};
  const obj = (o: Obj, k: string): Obj => (isObj(o[k]) ? o[k] : {});
  const n = (o: Obj, k: string, d: number): number => (typeof o[k] === 'number' ? o[k] : d);
  const aH = obj(active, 'healthy');
  const aU = obj(active, 'unhealthy');
  const intervals = [n(aH, 'interval', 0), n(aU, 'interval', 0)].filter((x) => x > 0);
  const out = {} as HealthchecksConfig;
  if (intervals.length) {
    const type = typeof active.type === 'string' ? active.type : 'http';
    if (type !== 'http' && type !== 'https') notes.push(`active ${type} health checks are not supported; active checks left off`);
    else {
      const interval = Math.min(...intervals);
      if (intervals.length === 2 && intervals[0] !== intervals[1]) notes.push(`active checks: one interval (${interval} s) for healthy and unhealthy targets`);
      const failures = n(aU, 'http_failures', 0) || n(aU, 'tcp_failures', 0) || n(aU, 'timeouts', 0) || 3;
      const headers: Record<string, string> = {};
      if (isObj(active.headers)) for (const [k, v] of Object.entries(active.headers)) headers[k] = Array.isArray(v) ? v.map(String).join(', ') : String(v);
      out.active = {
        enabled: true,
        type,
        https_verify_certificate: active.https_verify_certificate !== false,
        http_path: typeof active.http_path === 'string' ? active.http_path : '/',
        interval: Math.max(100, Math.round(interval * 1000)),
        timeout: Math.max(1, Math.round(n(active, 'timeout', 1) * 1000)),
        healthy: { successes: Math.min(255, n(aH, 'successes', 0) || 2), http_statuses: Array.isArray(aH.http_statuses) ? (aH.http_statuses as number[]) : [200, 302] },
        unhealthy: { failures: Math.min(255, failures), http_statuses: Array.isArray(aU.http_statuses) ? (aU.http_statuses as number[]) : [429, 404, 500, 501, 502, 503, 504, 505] },
        ...(Object.keys(headers).length ? { headers } : {}),
      };
      if (!n(aH, 'successes', 0)) notes.push('active healthy.successes 0 became 2');
      if (typeof active.https_sni === 'string') notes.push('active https_sni is not supported');
    }
  }
  const pU = obj(passive, 'unhealthy');
  const failures = n(pU, 'http_failures', 0) || n(pU, 'tcp_failures', 0);
  const timeouts = n(pU, 'timeouts', 0);
  if (failures || timeouts) {
    out.passive = {
      enabled: true,
      unhealthy: {
        failures: Math.min(255, failures || 5),
        timeouts: Math.min(255, timeouts || 3),
        http_statuses: Array.isArray(pU.http_statuses) ? (pU.http_statuses as number[]) : [429, 500, 503],
      },
      eject_duration: 30_000,
    };
    notes.push('passive checks: an ejected target gets traffic again after eject_duration (30 s); Kong keeps it out until an active check or an admin brings it back');
  }
  if (isObj(hc.threshold) || (typeof hc.threshold === 'number' && hc.threshold > 0)) notes.push('healthchecks.threshold is not supported');
  if (!out.active && !out.passive) return undefined;
  return out;
}

export function createKongImporter(options: KongImporterOptions = {}): Importer {
  return {
    name: 'kong',
    description: 'Kong declarative configuration (decK kong.yaml, _format_version "3.0")',
    convert(text: string, fileName: string): ImportResult {
      const parsed = parseConfigText(text, fileName.toLowerCase().endsWith('.json') ? 'json' : 'yaml');
      if (!parsed.ok) {
        const i = parsed.issues[0]!;
        throw new ImportInputError(`${fileName} is not a Kong declarative file: ${i.message}${i.line !== undefined ? ` (line ${i.line}, column ${i.column ?? 1})` : ''}`);
      }
      const root = parsed.value;
      if (!isObj(root)) throw new ImportInputError(`${fileName} is not a Kong declarative file: the top level must be a mapping`);
      const version = root._format_version;
      if (version === undefined) throw new ImportInputError(`${fileName} has no _format_version; a decK file starts with \`_format_version: "3.0"\``, '_format_version');
      if (String(version) !== '3.0' && version !== 3) {
        throw new ImportInputError(
          `${fileName}: _format_version "${String(version)}" is not supported; only "3.0" (Kong 3.x) is. Convert older files with \`deck file convert --from kong-gateway-2.x --to kong-gateway-3.x\``,
          '_format_version',
        );
      }
      const c = new Conversion(options.credentialKeys);
      c.run(root);
      return { document: c.doc, report: c.report };
    },
  };
}

export const kongImporter = createKongImporter();
