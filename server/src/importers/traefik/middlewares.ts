/**
 * Traefik middlewares → Gatehouse plugins and route settings. Each translation is computed once per
 * middleware and applied to every route of every router that uses it; what a translation cannot carry
 * over is said in its notes, and access control that cannot be carried over disables the routes.
 */
import { DEFAULT_COMPRESSIBLE_TYPES } from '../../plugins/compression/schema.js';
import type { ImportOutcome } from '../types.js';
import { escapeRegex, goRegexToJs, RegexConversionError } from './go-regex.js';
import { field, isRec, type Rec } from './input.js';

export interface PluginSpec {
  name: string;
  config: Rec;
}

/** A path rewrite as request-transformer's rewrite_path (regex on the client path → upstream path). */
export type PathOp =
  | { kind: 'regex'; regex: string; replacement: string; what: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'replace'; path: string };

export interface MwEffect {
  outcome: ImportOutcome;
  /** Differences from Traefik's behaviour (they make the outcome `approximated`). */
  approximations: string[];
  /** Plain remarks. */
  notes: string[];
  plugins: PluginSpec[];
  path?: PathOp;
  /** Listener protocols the route keeps (redirectScheme to https: only plain HTTP, as Traefik skips HTTPS requests). */
  protocols?: ('http' | 'https')[];
  retries?: number;
  /** basicAuth users: consumers created in this group. */
  users?: { username: string; hash: string }[];
  group?: string;
  /** Access control that could not be mapped: routes using the middleware are imported disabled. */
  disable?: string;
}

const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
// eslint-disable-next-line no-control-regex -- the same check as the header plugins' schemas: no CR, LF or NUL
const HEADER_VALUE_RE = /^[^\r\n\u0000]*$/;

export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(v))) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  return end === v.length && end > 0 ? total : undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const stringMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isRec(v)) for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? '' : String(x);
  return out;
};

class Effect {
  readonly e: MwEffect = { outcome: 'mapped', approximations: [], notes: [], plugins: [] };
  approx(msg: string): void {
    if (this.e.outcome === 'mapped') this.e.outcome = 'approximated';
    this.e.approximations.push(msg);
  }
  /** A part of the middleware that is not carried over (the rest is). */
  drop(msg: string): void {
    this.approx(`not mapped: ${msg}`);
  }
  note(msg: string): void {
    this.e.notes.push(msg);
  }
  none(msg: string, disable = false): MwEffect {
    this.e.outcome = 'unmapped';
    this.e.notes = [msg, ...this.e.approximations, ...this.e.notes];
    this.e.approximations = [];
    this.e.plugins = [];
    delete this.e.path;
    if (disable) this.e.disable = msg;
    return this.e;
  }
}

/** Flags and fields of a middleware nobody maps: reported as dropped when present. */
function dropOthers(ef: Effect, spec: Rec, handled: string[], mwType: string): void {
  const known = new Set(handled.map((h) => h.toLowerCase()));
  for (const k of Object.keys(spec)) if (!known.has(k.toLowerCase())) ef.drop(`${mwType}.${k}`);
}

/** The middleware type key (`stripPrefix`, …) and its options; undefined when there is not exactly one. */
export function middlewareType(spec: Rec): [string, Rec] | undefined {
  const keys = Object.keys(spec);
  if (keys.length !== 1) return undefined;
  const v = spec[keys[0]!];
  return [keys[0]!, isRec(v) ? v : {}];
}

function regexOrNote(ef: Effect, source: string, what: string): string | undefined {
  try {
    return goRegexToJs(source);
  } catch (e) {
    if (!(e instanceof RegexConversionError)) throw e;
    ef.none(`${what}: ${e.message}`);
    return undefined;
  }
}

export function translateMiddleware(type: string, o: Rec, id: string): MwEffect {
  const ef = new Effect();
  const t = type.toLowerCase();
  switch (t) {
    case 'stripprefix': {
      const prefixes = strings(field(o, 'prefixes'));
      if (prefixes.length === 0) return ef.none('stripPrefix has no prefixes');
      // Traefik strips the first listed prefix that matches and keeps the path starting with '/'.
      const alts = prefixes.map((p) => escapeRegex(p.endsWith('/') ? p.slice(0, -1) : p)).join('|');
      ef.e.path = { kind: 'regex', regex: `^(?:${alts})/?(.*)$`, replacement: '/{1}', what: 'stripPrefix' };
      if (prefixes.length === 1) ef.e.plugins.push({ name: 'request-transformer', config: { replace: { headers: { 'X-Forwarded-Prefix': prefixes[0] } }, add: { headers: { 'X-Forwarded-Prefix': prefixes[0] } } } });
      else ef.drop('X-Forwarded-Prefix (which prefix matched is not known to the header operations)');
      if (bool(field(o, 'forceSlash')) === false) ef.drop('forceSlash: false (the path always keeps a leading /)');
      dropOthers(ef, o, ['prefixes', 'forceSlash'], 'stripPrefix');
      return ef.e;
    }
    case 'stripprefixregex': {
      const res = strings(field(o, 'regex'));
      if (res.length === 0) return ef.none('stripPrefixRegex has no regex');
      const js: string[] = [];
      for (const r of res) {
        const c = regexOrNote(ef, r, `stripPrefixRegex \`${r}\``);
        if (c === undefined) return ef.e;
        js.push(c.startsWith('^') ? c.slice(1) : c);
      }
      ef.e.path = { kind: 'regex', regex: `^(?:${js.join('|')})/?(?<rest>.*)$`, replacement: '/{rest}', what: 'stripPrefixRegex' };
      ef.drop('X-Forwarded-Prefix is not sent');
      return ef.e;
    }
    case 'addprefix': {
      const prefix = field(o, 'prefix');
      if (typeof prefix !== 'string' || !prefix) return ef.none('addPrefix has no prefix');
      ef.e.path = { kind: 'prefix', prefix: prefix.startsWith('/') ? prefix : `/${prefix}` };
      return ef.e;
    }
    case 'replacepath': {
      const path = field(o, 'path');
      if (typeof path !== 'string' || !path.startsWith('/')) return ef.none('replacePath needs a path starting with /');
      ef.e.path = { kind: 'replace', path };
      ef.drop('X-Replaced-Path (the original path) is not sent upstream');
      return ef.e;
    }
    case 'replacepathregex': {
      const regex = field(o, 'regex');
      const replacement = field(o, 'replacement');
      if (typeof regex !== 'string' || typeof replacement !== 'string') return ef.none('replacePathRegex needs regex and replacement');
      const c = regexOrNote(ef, regex, `replacePathRegex \`${regex}\``);
      if (c === undefined) return ef.e;
      // Go's ReplaceAllString replaces the matched part and keeps the rest; rewrite_path builds the whole
      // path, so the rest after the match is carried by one more group.
      const groups = new RegExp(`${c}|`).exec('')!.length - 1;
      const repl = replacement.replace(/\$(\d+)|\$\{(\w+)\}|\$(\w+)/g, (_, n?: string, a?: string, b?: string) => `{${n ?? a ?? b}}`);
      if (!repl.startsWith('/')) return ef.none('replacePathRegex: the replacement must produce a path starting with /');
      const anchored = c.startsWith('^');
      ef.e.path = { kind: 'regex', regex: `^(?:${anchored ? c.slice(1) : c})(.*)$`, replacement: `${repl}{${groups + 1}}`, what: 'replacePathRegex' };
      if (!anchored) ef.approx('only a match at the start of the path is replaced (Go replaced every match, anywhere in the path)');
      ef.drop('X-Replaced-Path (the original path) is not sent upstream');
      return ef.e;
    }
    case 'headers':
      return headers(ef, o);
    case 'ratelimit':
      return rateLimit(ef, o);
    case 'inflightreq': {
      const amount = num(field(o, 'amount'));
      if (!amount || amount < 1) return ef.none('inFlightReq needs amount ≥ 1');
      const cfg: Rec = { max: Math.min(amount, 1_000_000) };
      sourceCriterion(ef, field(o, 'sourceCriterion'), cfg);
      ef.e.plugins.push({ name: 'concurrency-limit', config: cfg });
      return ef.e;
    }
    case 'basicauth': {
      const users = strings(field(o, 'users'));
      if (field(o, 'usersFile') !== undefined) ef.drop(`usersFile '${String(field(o, 'usersFile'))}' (the file is not part of the import; add its users as consumers)`);
      if (field(o, 'secret') !== undefined) ef.drop(`Kubernetes secret '${String(field(o, 'secret'))}' (not part of the import; add its users as consumers)`);
      const cfg: Rec = {};
      const realm = field(o, 'realm');
      // eslint-disable-next-line no-control-regex -- basic-auth's realm pattern: no quotes, backslashes or control characters
      if (typeof realm === 'string' && /^[^"\\\x00-\x1f\x7f]+$/.test(realm)) cfg.realm = realm;
      else if (realm !== undefined) ef.drop(`realm '${String(realm)}'`);
      if (bool(field(o, 'removeHeader'))) cfg.hide_credentials = true;
      const hf = field(o, 'headerField');
      if (typeof hf === 'string' && HEADER_NAME_RE.test(hf)) cfg.identity_headers = { consumer_username: hf.toLowerCase() };
      ef.e.users = [];
      for (const line of users) {
        const colon = line.indexOf(':');
        if (colon <= 0) {
          ef.drop(`user entry '${line.slice(0, 40)}' is not \`name:hash\``);
          continue;
        }
        ef.e.users.push({ username: line.slice(0, colon), hash: line.slice(colon + 1) });
      }
      ef.e.group = `traefik-${id}`.slice(0, 64);
      ef.e.plugins.push({ name: 'basic-auth', config: cfg }, { name: 'acl', config: { allow: [ef.e.group] } });
      ef.note(`users become consumers in group '${ef.e.group}', which acl allows on the routes`);
      dropOthers(ef, o, ['users', 'usersFile', 'secret', 'realm', 'removeHeader', 'headerField'], 'basicAuth');
      return ef.e;
    }
    case 'ipallowlist':
    case 'ipwhitelist': {
      const ranges = strings(field(o, 'sourceRange'));
      if (ranges.length === 0) return ef.none(`${type} has no sourceRange`, true);
      const bad = ranges.filter((r) => r.length < 2 || r.length > 64);
      if (bad.length) return ef.none(`${type}: invalid ranges ${bad.join(', ')}`, true);
      const cfg: Rec = { allow: ranges };
      const status = num(field(o, 'rejectStatusCode'));
      if (status !== undefined && status >= 400 && status <= 599) cfg.status = status;
      const ipStrategy = field(o, 'ipStrategy');
      if (ipStrategy !== undefined)
        ef.approx('ipStrategy: Gatehouse takes the client address from X-Forwarded-For only for GATEHOUSE_TRUSTED_PROXIES; set that instead of depth/excludedIPs');
      ef.e.plugins.push({ name: 'ip-restriction', config: cfg });
      return ef.e;
    }
    case 'circuitbreaker':
      return circuitBreaker(ef, o);
    case 'retry': {
      const attempts = num(field(o, 'attempts'));
      if (!attempts || attempts < 1) return ef.none('retry needs attempts ≥ 1');
      // Traefik's attempts count the first try.
      ef.e.retries = Math.min(attempts - 1, 10);
      if (attempts - 1 > 10) ef.approx(`Gatehouse retries at most 10 times (Traefik: ${attempts - 1})`);
      if (field(o, 'initialInterval') !== undefined) ef.drop('initialInterval (Gatehouse retries at once, to another target when there is one)');
      ef.note("retries are a service setting in Gatehouse: they apply to every route of the router's service");
      return ef.e;
    }
    case 'redirectscheme': {
      const scheme = field(o, 'scheme');
      if (scheme !== 'https' && scheme !== 'http') return ef.none(`redirectScheme to '${String(scheme)}' is not supported`);
      const port = field(o, 'port');
      const defaultPort = scheme === 'https' ? '443' : '80';
      const portPart = port !== undefined && String(port) !== '' && String(port) !== defaultPort ? `:${String(port)}` : '';
      const permanent = bool(field(o, 'permanent')) === true;
      ef.e.plugins.push({ name: 'redirect', config: { location: `${scheme}://$(host)${portPart}$(path)`, status_code: permanent ? 301 : 302, keep_query: true } });
      ef.e.protocols = [scheme === 'https' ? 'http' : 'https'];
      ef.approx(
        `status ${permanent ? 301 : 302} for every method (Traefik v3 answers ${permanent ? '308' : '307'} to methods other than GET/HEAD); the route keeps only ${scheme === 'https' ? 'plain HTTP' : 'HTTPS'} requests, as Traefik does not redirect requests already on ${scheme}`,
      );
      return ef.e;
    }
    case 'redirectregex':
      return ef.none("redirectRegex: Gatehouse's redirect plugin builds the location from $(host), $(path) and $(query), not from regex captures of the URL");
    case 'compress':
      return compress(ef, o);
    case 'buffering': {
      const max = num(field(o, 'maxRequestBodyBytes'));
      if (max === undefined || max <= 0) return ef.none('buffering: only maxRequestBodyBytes has a Gatehouse equivalent (request-size-limiting)');
      ef.e.plugins.push({ name: 'request-size-limiting', config: { allowed_payload_size: max } });
      ef.approx('bodies are limited, not buffered (Gatehouse streams request and response bodies)');
      dropOthers(ef, o, ['maxRequestBodyBytes'], 'buffering');
      return ef.e;
    }
    case 'forwardauth':
      return ef.none(`forwardAuth to '${String(field(o, 'address') ?? '?')}': Gatehouse has no external-authorization plugin; the routes are imported disabled until you protect them another way`, true);
    case 'digestauth':
      return ef.none('digestAuth: Gatehouse has no Digest authentication; the routes are imported disabled (basic-auth, key-auth or jwt can replace it)', true);
    case 'passtlsclientcert':
      return ef.none('passTLSClientCert: client certificates are not forwarded by Gatehouse');
    case 'errors':
      return ef.none('errors: Gatehouse has no error-page plugin that calls another service');
    case 'contenttype':
      return ef.none('contentType: Gatehouse never sniffs content types, so nothing to configure');
    case 'grpcweb':
      return ef.none('grpcWeb: Gatehouse does not translate gRPC-Web');
    case 'plugin':
      return ef.none(`Traefik plugin ${Object.keys(isRec(o) ? o : {}).join(', ')}: plugins cannot be imported; the routes are imported disabled in case it guarded them`, true);
    default:
      return ef.none(`middleware type '${type}' is not known`, true);
  }
}

function headers(ef: Effect, o: Rec): MwEffect {
  const reqSet: Record<string, string> = {};
  const reqRemove: string[] = [];
  const respSet: Record<string, string> = {};
  const respRemove: string[] = [];
  const put = (name: string, value: string, set: Record<string, string>, remove: string[], where: string) => {
    if (!HEADER_NAME_RE.test(name) || !HEADER_VALUE_RE.test(value) || value.length > 8192) {
      ef.drop(`${where} '${name}' (not a valid header)`);
      return;
    }
    if (value === '') remove.push(name);
    else set[name] = value;
  };
  for (const [k, v] of Object.entries(stringMap(field(o, 'customRequestHeaders')))) put(k, v, reqSet, reqRemove, 'customRequestHeaders');

  // Security headers first, so customResponseHeaders override them as in Traefik.
  const sts = num(field(o, 'stsSeconds'));
  if (sts !== undefined && sts > 0) {
    let v = `max-age=${sts}`;
    if (bool(field(o, 'stsIncludeSubdomains'))) v += '; includeSubDomains';
    if (bool(field(o, 'stsPreload'))) v += '; preload';
    respSet['Strict-Transport-Security'] = v;
    if (!bool(field(o, 'forceSTSHeader'))) ef.approx('Strict-Transport-Security is sent on every response of the routes (Traefik: HTTPS requests only, unless forceSTSHeader)');
  }
  const frame = field(o, 'customFrameOptionsValue');
  if (typeof frame === 'string' && frame) respSet['X-Frame-Options'] = frame;
  else if (bool(field(o, 'frameDeny'))) respSet['X-Frame-Options'] = 'DENY';
  if (bool(field(o, 'contentTypeNosniff'))) respSet['X-Content-Type-Options'] = 'nosniff';
  const xss = field(o, 'customBrowserXSSValue');
  if (typeof xss === 'string' && xss) respSet['X-XSS-Protection'] = xss;
  else if (bool(field(o, 'browserXssFilter'))) respSet['X-XSS-Protection'] = '1; mode=block';
  const simple: [string, string][] = [
    ['contentSecurityPolicy', 'Content-Security-Policy'],
    ['contentSecurityPolicyReportOnly', 'Content-Security-Policy-Report-Only'],
    ['referrerPolicy', 'Referrer-Policy'],
    ['permissionsPolicy', 'Permissions-Policy'],
    ['featurePolicy', 'Feature-Policy'],
    ['publicKey', 'Public-Key-Pins'],
  ];
  for (const [f, h] of simple) {
    const v = field(o, f);
    if (typeof v === 'string' && v) put(h, v, respSet, respRemove, f);
  }
  for (const [k, v] of Object.entries(stringMap(field(o, 'customResponseHeaders')))) put(k, v, respSet, respRemove, 'customResponseHeaders');

  const cors: Rec = {};
  let hasCors = false;
  const origins = strings(field(o, 'accessControlAllowOriginList'));
  const originRes = strings(field(o, 'accessControlAllowOriginListRegex'));
  const corsFields = ['accessControlAllowOriginList', 'accessControlAllowOriginListRegex', 'accessControlAllowMethods', 'accessControlAllowHeaders', 'accessControlExposeHeaders', 'accessControlAllowCredentials', 'accessControlMaxAge'];
  if (corsFields.some((f) => field(o, f) !== undefined)) {
    hasCors = true;
    const re: string[] = [];
    for (const r of originRes) {
      try {
        re.push(`~${goRegexToJs(r)}`);
      } catch (e) {
        if (!(e instanceof RegexConversionError)) throw e;
        ef.drop(`accessControlAllowOriginListRegex \`${r}\`: ${e.message}`);
      }
    }
    // Traefik allows nothing that is not listed: unlike the cors plugin's defaults.
    cors.origins = [...origins, ...re];
    cors.methods = strings(field(o, 'accessControlAllowMethods')).map((m) => m.toUpperCase());
    cors.headers = strings(field(o, 'accessControlAllowHeaders'));
    cors.exposed_headers = strings(field(o, 'accessControlExposeHeaders'));
    if (bool(field(o, 'accessControlAllowCredentials'))) cors.credentials = true;
    const maxAge = num(field(o, 'accessControlMaxAge'));
    if (maxAge !== undefined && maxAge >= 0) {
      cors.max_age = Math.min(Math.floor(maxAge), 86400);
      if (maxAge > 86400) ef.approx('accessControlMaxAge capped at 86400 seconds');
    }
    for (const list of ['methods', 'headers', 'exposed_headers'] as const) {
      const bad = (cors[list] as string[]).filter((h) => !HEADER_NAME_RE.test(h));
      if (bad.length) {
        ef.drop(`CORS ${list} ${bad.join(', ')} (not tokens)`);
        cors[list] = (cors[list] as string[]).filter((h) => HEADER_NAME_RE.test(h));
      }
    }
  }
  if (field(o, 'addVaryHeader') !== undefined) ef.note('addVaryHeader: the cors plugin always sends Vary: Origin');
  const dropped: [string, string][] = [
    ['allowedHosts', 'restrict the route hosts instead'],
    ['hostsProxyHeaders', 'Gatehouse reads forwarded hosts only from GATEHOUSE_TRUSTED_PROXIES'],
    ['sslRedirect', 'use a redirect plugin'],
    ['sslTemporaryRedirect', 'use a redirect plugin'],
    ['sslHost', 'use a redirect plugin'],
    ['sslForceHost', 'use a redirect plugin'],
    ['sslProxyHeaders', 'Gatehouse reads X-Forwarded-Proto only from GATEHOUSE_TRUSTED_PROXIES'],
  ];
  for (const [f, why] of dropped) if (field(o, f) !== undefined) ef.drop(`${f} (${why})`);
  if (bool(field(o, 'isDevelopment'))) ef.note('isDevelopment only affected allowedHosts/SSL checks');

  if (Object.keys(reqSet).length || reqRemove.length) {
    ef.e.plugins.push({ name: 'request-transformer', config: { remove: { headers: reqRemove }, replace: { headers: reqSet }, add: { headers: { ...reqSet } } } });
  }
  if (Object.keys(respSet).length || respRemove.length) ef.e.plugins.push({ name: 'response-headers', config: { set: respSet, remove: respRemove } });
  if (hasCors) ef.e.plugins.push({ name: 'cors', config: cors });
  if (ef.e.plugins.length === 0) return ef.none('headers: none of its settings has a Gatehouse equivalent');
  return ef.e;
}

function sourceCriterion(ef: Effect, sc: unknown, cfg: Rec): void {
  if (!isRec(sc)) {
    cfg.limit_by = ['ip'];
    return;
  }
  const header = field(sc, 'requestHeaderName');
  if (typeof header === 'string' && header) {
    cfg.limit_by = ['header'];
    cfg.header_name = header;
    ef.note('requests without the header are counted per client IP (Traefik: all together)');
  } else if (bool(field(sc, 'requestHost'))) {
    cfg.limit_by = ['header'];
    cfg.header_name = 'host';
    ef.approx('requestHost → the Host header, which includes the port when the client sends one');
  } else cfg.limit_by = ['ip'];
  if (field(sc, 'ipStrategy') !== undefined) ef.approx('ipStrategy: the client IP comes from X-Forwarded-For only for GATEHOUSE_TRUSTED_PROXIES');
}

const WINDOWS: [string, number][] = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
];

function rateLimit(ef: Effect, o: Rec): MwEffect {
  const average = num(field(o, 'average'));
  if (average === undefined || average <= 0) return ef.none('rateLimit with average 0 does not limit anything');
  const periodMs = field(o, 'period') === undefined ? 1000 : parseDuration(field(o, 'period'));
  if (periodMs === undefined || periodMs <= 0) return ef.none(`rateLimit: unreadable period '${String(field(o, 'period'))}'`);
  const perSecond = (average * 1000) / periodMs;
  let chosen: [string, number] | undefined;
  for (const [w, secs] of WINDOWS) {
    const count = perSecond * secs;
    if (count >= 1 && Math.abs(count - Math.round(count)) < 1e-9) {
      chosen = [w, Math.round(count)];
      break;
    }
  }
  if (!chosen) {
    chosen = ['day', Math.max(1, Math.round(perSecond * 86400))];
    ef.approx(`the rate ${average}/${String(field(o, 'period') ?? '1s')} is rounded to ${chosen[1]} per day`);
  }
  const cfg: Rec = { [chosen[0]]: chosen[1], algorithm: 'gcra', ietf_headers: false, legacy_headers: false };
  sourceCriterion(ef, field(o, 'sourceCriterion'), cfg);
  const burst = num(field(o, 'burst')) ?? 1;
  if (burst !== chosen[1]) {
    ef.approx(`burst ${burst}: Gatehouse allows up to ${chosen[1]} requests in any ${chosen[0]} (its burst is the window's count)`);
  }
  if (field(o, 'redis') !== undefined) {
    cfg.policy = 'redis';
    ef.approx('redis: the counters use Gatehouse\'s REDIS_URL, not the middleware\'s Redis settings');
  }
  ef.e.plugins.push({ name: 'rate-limiting', config: cfg });
  return ef.e;
}

/** Traefik's breaker expressions: `NetworkErrorRatio() > 0.3`, `ResponseCodeRatio(500, 600, 0, 600) > 0.25`, joined with && / ||. */
function circuitBreaker(ef: Effect, o: Rec): MwEffect {
  const expr = field(o, 'expression');
  if (typeof expr !== 'string' || !expr.trim()) return ef.none('circuitBreaker has no expression');
  const terms = expr.split(/\s*(\|\||&&)\s*/).filter((t) => t !== '||' && t !== '&&');
  if (terms.length > 1) ef.approx(`'${expr}': the terms are merged into one threshold (the lowest) and one status list`);
  let threshold: number | undefined;
  const statuses = new Set<number>();
  let network = false;
  for (const term of terms) {
    const m = /^\s*(NetworkErrorRatio\(\s*\)|ResponseCodeRatio\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)|LatencyAtQuantileMS\([^)]*\))\s*(>=?)\s*([\d.]+)\s*$/.exec(term);
    if (!m) return ef.none(`circuitBreaker expression '${term}' is not understood`);
    if (m[1]!.startsWith('LatencyAtQuantileMS')) {
      if (terms.length === 1) return ef.none('circuitBreaker on latency (LatencyAtQuantileMS): Gatehouse breakers count failures, not latency');
      ef.drop(`'${term}' (latency is not a breaker input in Gatehouse)`);
      continue;
    }
    const ratio = Number(m[7]);
    const pct = Math.min(100, Math.max(1, Math.round(ratio * 100)));
    threshold = threshold === undefined ? pct : Math.min(threshold, pct);
    if (m[1]!.startsWith('NetworkErrorRatio')) network = true;
    else {
      const [from, to, dFrom, dTo] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
      if (dFrom > 100 || dTo < 600) ef.approx(`'${term}': the ratio is taken over all responses`);
      if (from < 500) ef.approx(`'${term}': statuses below 500 never count as failures in Gatehouse`);
      for (let s = Math.max(from, 500); s < Math.min(to, 600); s++) statuses.add(s);
    }
  }
  if (threshold === undefined) return ef.none('circuitBreaker: no term has a Gatehouse equivalent');
  const cfg: Rec = { error_threshold_percentage: threshold, failure_statuses: [...statuses].slice(0, 100) };
  if (network && statuses.size === 0) ef.note('NetworkErrorRatio: only connection errors and timeouts count (failure_statuses empty)');
  const fallback = parseDuration(field(o, 'fallbackDuration'));
  if (fallback !== undefined) cfg.reset_timeout = Math.min(Math.max(Math.round(fallback), 100), 3_600_000);
  else cfg.reset_timeout = 10_000;
  if (field(o, 'recoveryDuration') !== undefined) ef.approx('recoveryDuration: Gatehouse lets one probe through when half-open instead of ramping traffic up');
  const code = num(field(o, 'responseCode'));
  if (code !== undefined && code !== 503) ef.drop(`responseCode ${code} (Gatehouse answers 503 while open)`);
  ef.approx('Gatehouse opens only after volume_threshold (20) calls in the 10 s window; Traefik checked the expression every checkPeriod');
  ef.e.plugins.push({ name: 'circuit-breaker', config: cfg });
  return ef.e;
}

function compress(ef: Effect, o: Rec): MwEffect {
  const cfg: Rec = {};
  const min = num(field(o, 'minResponseBodyBytes'));
  if (min !== undefined && min >= 0) cfg.min_length = Math.floor(min);
  const included = strings(field(o, 'includedContentTypes'));
  const excluded = strings(field(o, 'excludedContentTypes'));
  const typeRe = /^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*\/[A-Za-z0-9!#$&^_.+*-]+$/;
  if (included.length) {
    cfg.types = included.map((t) => t.split(';')[0]!.trim()).filter((t) => typeRe.test(t));
    if ((cfg.types as string[]).length !== included.length) ef.drop('includedContentTypes entries that are not media types');
  } else {
    const ex = new Set(excluded.map((t) => t.split(';')[0]!.trim().toLowerCase()));
    cfg.types = DEFAULT_COMPRESSIBLE_TYPES.filter((t) => !ex.has(t));
    ef.approx("Gatehouse compresses only listed (text-like) types; Traefik compressed every type not excluded");
  }
  const enc = strings(field(o, 'encodings'));
  if (enc.length) {
    const kept = enc.filter((e) => e === 'br' || e === 'gzip');
    if (kept.length) cfg.encodings = kept;
    if (kept.length !== enc.length) ef.drop(`encodings ${enc.filter((e) => !(kept as string[]).includes(e)).join(', ')} (only br and gzip)`);
  }
  if (field(o, 'defaultEncoding') !== undefined) ef.drop('defaultEncoding (Gatehouse compresses only when the client accepts an encoding)');
  ef.e.plugins.push({ name: 'compression', config: cfg });
  return ef.e;
}
