/**
 * Kong plugin configs → Gatehouse plugin configs, one converter per plugin. A converter reads the Kong
 * config through `Fields`, so every Kong field it does not consume (and that differs from Kong's default)
 * ends up in the report; fields whose Kong default equals Gatehouse's behaviour are accepted silently
 * because decK dumps write every field.
 */
import { Fields, isObj, type Obj } from './util.js';

export type PluginScope = 'global' | 'service' | 'route' | 'consumer';

export interface PluginImportContext {
  scope: PluginScope;
  /** Kong consumer reference (username, custom_id or id) → Gatehouse username. */
  resolveConsumer(ref: string): string | undefined;
}

/** A converted config, or the reason the plugin cannot be converted at all. */
export type Converted = { config: Obj } | { unmapped: string };

type Converter = (f: Fields, ctx: PluginImportContext) => Converted;

/** Kong plugins that have no instance in Gatehouse because the gateway does it itself. */
export const BUILT_IN_EQUIVALENTS: Record<string, string> = {
  prometheus: 'metrics are built in: `GET /metrics` on the admin listener (Prometheus text format); no plugin is needed',
  'correlation-id':
    'Gatehouse always sends `X-Request-Id` upstream and in responses (reusing a well-formed id from a trusted hop); a custom header name or generator is not available',
};

function anonymous(f: Fields, ctx: PluginImportContext, out: Obj): void {
  const a = f.str('anonymous');
  if (a === undefined || a === '') return;
  const user = ctx.resolveConsumer(a);
  if (user) out.anonymous = user;
  else f.notes.push(`\`anonymous: ${a}\` names no consumer in the file; dropped (requests without a credential get 401)`);
}

const authCommon = (f: Fields) => {
  f.unsupported('run_on_preflight', true, 'is not supported (OPTIONS preflights are authenticated like other requests)');
};

const keyAuth: Converter = (f, ctx) => {
  const out: Obj = {
    key_names: f.strs('key_names') ?? ['apikey'],
    key_in_header: f.bool('key_in_header') ?? true,
    key_in_query: f.bool('key_in_query') ?? true,
    hide_credentials: f.bool('hide_credentials') ?? false,
  };
  anonymous(f, ctx, out);
  authCommon(f);
  f.unsupported('key_in_body', false, 'is not supported (keys are read from headers and the query only)');
  f.unsupported('realm', undefined, 'is not supported');
  return { config: out };
};

const basicAuth: Converter = (f, ctx) => {
  const out: Obj = { realm: f.str('realm') ?? 'service', hide_credentials: f.bool('hide_credentials') ?? false };
  anonymous(f, ctx, out);
  return { config: out };
};

const jwt: Converter = (f, ctx) => {
  const claims = f.strs('claims_to_verify') ?? [];
  const out: Obj = {
    consumer_credentials: true,
    key_claim_name: f.str('key_claim_name') ?? 'iss',
    header_names: (f.strs('header_names') ?? ['authorization']).map((h) => h.toLowerCase()),
    cookie_names: f.strs('cookie_names') ?? [],
    query_params: f.strs('uri_param_names') ?? ['jwt'],
    required_claims: claims,
  };
  anonymous(f, ctx, out);
  authCommon(f);
  f.unsupported('secret_is_base64', false, 'is not supported: consumer jwt secrets must be given decoded');
  f.unsupported('maximum_expiration', 0, 'has no equivalent (max_age_seconds limits the age from `iat` instead)');
  f.unsupported('realm', undefined, 'is not supported');
  return { config: out };
};

const acl: Converter = (f) => {
  const allow = f.strs('allow') ?? f.strs('whitelist');
  const deny = f.strs('deny') ?? f.strs('blacklist');
  if (!allow?.length && !deny?.length) return { unmapped: 'acl without allow or deny groups' };
  if (allow?.length && deny?.length) f.notes.push('both allow and deny are set; Gatehouse takes one: only `allow` was kept');
  const out: Obj = allow?.length ? { allow: [...new Set(allow)] } : { deny: [...new Set(deny)] };
  out.hide_groups_header = f.bool('hide_groups_header') ?? false;
  f.unsupported('include_consumer_groups', false, 'is not supported (consumer groups are not converted)');
  f.unsupported('always_use_authenticated_groups', false, 'is not supported');
  return { config: out };
};

const LIMIT_BY: Record<string, string> = { consumer: 'consumer', credential: 'credential', ip: 'ip', service: 'service', header: 'header' };

const rateLimiting: Converter = (f, ctx) => {
  const out: Obj = {};
  const windows = ['second', 'minute', 'hour'] as const;
  for (const w of windows) {
    const n = f.num(w);
    if (n !== undefined && n > 0) out[w] = Math.ceil(n);
  }
  const day = f.num('day');
  if (day !== undefined && day > 0) out.quota_day = Math.ceil(day);
  const month = f.num('month');
  if (month !== undefined && month > 0) out.quota_month = Math.ceil(month);
  const year = f.num('year');
  if (year !== undefined && year > 0) f.notes.push(`\`year: ${year}\` has no equivalent (calendar quotas go up to a month)`);
  if (!windows.some((w) => w in out) && out.quota_day === undefined && out.quota_month === undefined) {
    return { unmapped: 'no limit Gatehouse can express (second, minute, hour, day or month)' };
  }
  f.notes.push(
    "Kong counts per fixed clock window; Gatehouse's gcra spreads the same limit evenly (no double burst at window edges). `day`/`month` became the calendar quotas quota_day/quota_month (UTC, like Kong)",
  );
  const by = f.str('limit_by') ?? 'consumer';
  if (LIMIT_BY[by]) out.limit_by = [LIMIT_BY[by]];
  else if (by === 'path') {
    out.limit_by = ['route'];
    f.get('path');
    f.notes.push('`limit_by: path` became `route` (one counter per route instead of per configured path)');
  } else {
    out.limit_by = ['consumer'];
    f.notes.push(`\`limit_by: ${by}\` is not supported; counted per consumer instead`);
  }
  if (by === 'header') {
    const h = f.str('header_name');
    if (h) out.header_name = h;
    else return { unmapped: '`limit_by: header` without header_name' };
  } else f.get('header_name');
  if (by !== 'path') f.get('path');
  const policy = f.str('policy') ?? 'local';
  out.policy = policy === 'local' ? 'local' : 'redis';
  for (const k of Object.keys(f.obj)) if (k === 'redis' || k.startsWith('redis_')) f.get(k);
  if (policy === 'cluster') f.notes.push('`policy: cluster` (counters in Kong\'s database) became `redis`: set REDIS_URL on every node');
  else if (policy === 'redis') f.notes.push('`policy: redis`: the Redis connection comes from REDIS_URL, not from the plugin\'s redis settings');
  else if (policy !== 'local') f.notes.push(`unknown policy '${policy}'; local counters used`);
  out.fault_policy = (f.bool('fault_tolerant') ?? true) ? 'fail-open' : 'fail-closed';
  const hide = f.bool('hide_client_headers') ?? false;
  out.ietf_headers = !hide;
  out.legacy_headers = !hide;
  // Kong runs only the most specific instance of a plugin; Gatehouse would also enforce the global one.
  if (ctx.scope !== 'global') out.inherit_global = false;
  f.unsupported('error_code', 429, 'is not supported (the refusal is always 429 problem+json)');
  f.unsupported('error_message', 'API rate limit exceeded', 'is not supported (the refusal is always 429 problem+json)');
  f.unsupported('sync_rate', -1, 'is not supported (redis counters are always synchronous)');
  return { config: out };
};

const KONG_CORS_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];

/** Kong compares an origin made only of these characters literally, anything else as a regex. */
const PLAIN_ORIGIN = /^[A-Za-z0-9.:/-]+$/;

/** URL scheme prefix put in front of a Kong origin regex that Kong matches against the host only. */
export const ORIGIN_SCHEME = '[a-z][a-z0-9+.-]*://';

/**
 * Kong matches an origin regex anchored at the start only (`ngx.re.find` flag `a`), against the origin's
 * host when the pattern has no `:`, else against the whole normalised origin.
 */
export function corsOrigin(o: string): string {
  if (o === '*' || o === 'null' || PLAIN_ORIGIN.test(o)) return o;
  const regex = o.startsWith('~') ? o.slice(1) : o;
  return o.includes(':') ? `~^(?:${regex})` : `~^${ORIGIN_SCHEME}(?:${regex})`;
}

const cors: Converter = (f) => {
  const origins = (f.strs('origins') ?? ['*']).map(corsOrigin);
  const out: Obj = {
    origins: origins.length ? origins : ['*'],
    methods: f.strs('methods') ?? KONG_CORS_METHODS,
    exposed_headers: f.strs('exposed_headers') ?? [],
    credentials: f.bool('credentials') ?? false,
    preflight_continue: f.bool('preflight_continue') ?? false,
    private_network: f.bool('private_network') ?? false,
  };
  const headers = f.strs('headers');
  if (headers) out.headers = headers;
  const maxAge = f.num('max_age');
  if (maxAge !== undefined) {
    out.max_age = Math.min(86_400, Math.max(0, Math.round(maxAge)));
    if (out.max_age !== maxAge) f.notes.push(`\`max_age: ${maxAge}\` clamped to ${String(out.max_age)} seconds`);
  }
  return { config: out };
};

const ipRestriction: Converter = (f) => {
  const out: Obj = { allow: f.strs('allow') ?? f.strs('whitelist') ?? [], deny: f.strs('deny') ?? f.strs('blacklist') ?? [], status: f.num('status') ?? 403 };
  const message = f.str('message');
  if (message !== undefined) out.message = message;
  return { config: out };
};

/**
 * Kong's transformer values are Lua templates (`$(headers.x)`, `$(uri_captures["id"])`); the simple
 * lookups have a Gatehouse equivalent, anything else (Lua expressions) cannot be converted.
 */
export function convertTemplate(value: string): string | undefined {
  let ok = true;
  const out = value.replace(/\$\(([^)]*)\)/g, (_m, expr: string) => {
    const m = /^\s*(headers|query_params|uri_captures)\s*(?:\.([A-Za-z0-9_-]+)|\[\s*["']([^"']+)["']\s*\])\s*$/.exec(expr);
    if (!m) {
      ok = false;
      return '';
    }
    const kind = m[1] === 'headers' ? 'headers' : m[1] === 'query_params' ? 'query' : 'params';
    return `$(${kind}.${(m[2] ?? m[3])!})`;
  });
  return ok ? out : undefined;
}

/** Splits Kong's `name:value` strings into a map; a value may itself contain colons. */
function pairs(list: string[] | undefined, what: string, notes: string[], templates: boolean): Obj {
  const out: Obj = {};
  for (const item of list ?? []) {
    const i = item.indexOf(':');
    if (i <= 0) {
      notes.push(`${what} entry '${item}' is not \`name:value\`; dropped`);
      continue;
    }
    const name = item.slice(0, i);
    const raw = item.slice(i + 1);
    const value = templates ? convertTemplate(raw) : raw;
    if (value === undefined) {
      notes.push(`${what} '${name}': the template '${raw}' uses a Lua expression Gatehouse cannot evaluate; dropped`);
      continue;
    }
    if (name in out) notes.push(`${what} '${name}' is given twice; the last value is kept`);
    out[name] = value;
  }
  return out;
}

function typedJson(values: Obj, types: string[] | undefined): Obj {
  if (!types?.length) return values;
  const out: Obj = {};
  Object.entries(values).forEach(([k, v], i) => {
    const t = types[i] ?? 'string';
    out[k] = t === 'number' && Number.isFinite(Number(v)) ? Number(v) : t === 'boolean' ? v === 'true' : v;
  });
  return out;
}

const requestTransformer: Converter = (f) => {
  const out: Obj = {};
  const method = f.str('http_method');
  if (method) out.http_method = method.toUpperCase();
  const section = (op: string) => (isObj(f.obj[op]) ? new Fields(f.obj[op], []) : undefined);
  let bodyOps = false;
  for (const op of ['remove', 'rename', 'replace', 'add', 'append'] as const) {
    const s = section(op);
    f.get(op);
    if (!s) continue;
    const headers = s.strs('headers');
    const query = s.strs('querystring');
    const body = s.strs('body');
    if (body?.length) bodyOps = true;
    if (op === 'remove') out.remove = { headers: headers ?? [], querystring: query ?? [], body: body ?? [] };
    else {
      const tpl = op !== 'rename';
      out[op] = {
        headers: pairs(headers, `${op}.headers`, f.notes, tpl),
        querystring: pairs(query, `${op}.querystring`, f.notes, tpl),
        body: pairs(body, `${op}.body`, f.notes, tpl),
      };
    }
    if (op === 'replace') {
      const uri = s.str('uri');
      if (uri !== undefined) {
        const replacement = convertTemplate(uri);
        if (replacement === undefined || !replacement.startsWith('/')) f.notes.push(`replace.uri '${uri}' cannot be converted; dropped`);
        else {
          out.rewrite_path = { regex: '^.*$', replacement };
          f.notes.push("replace.uri became rewrite_path; the result is appended to the service's path (Kong replaces the whole upstream path)");
        }
      }
    }
    s.unsupported('json_types', undefined, 'is not supported (body values are sent as strings)');
    for (const n of s.rest()) f.notes.push(`${op}: ${n}`);
  }
  if (bodyOps) f.notes.push('body edits apply to JSON bodies only (Kong also edits form-encoded and multipart bodies)');
  return { config: out };
};

const responseTransformer: Converter = (f) => {
  const out: Obj = {};
  for (const op of ['remove', 'rename', 'replace', 'add', 'append'] as const) {
    f.get(op);
    const raw = f.obj[op];
    if (!isObj(raw)) continue;
    const s = new Fields(raw, []);
    const headers = s.strs('headers');
    const json = s.strs('json');
    const types = s.strs('json_types');
    if (op === 'remove') out.remove = { headers: headers ?? [], json: json ?? [] };
    else if (op === 'rename') out.rename = { headers: pairs(headers, 'rename.headers', f.notes, false), json: pairs(json, 'rename.json', f.notes, false) };
    else out[op] = { headers: pairs(headers, `${op}.headers`, f.notes, true), json: typedJson(pairs(json, `${op}.json`, f.notes, false), types) };
    for (const n of s.rest()) f.notes.push(`${op}: ${n}`);
  }
  return { config: out };
};

const proxyCache: Converter = (f) => {
  const strategy = f.str('strategy') ?? 'memory';
  if (strategy !== 'memory') f.notes.push(`strategy '${strategy}' became memory`);
  const methods = (f.strs('request_method') ?? ['GET', 'HEAD']).map((m) => m.toUpperCase());
  const kept = methods.filter((m): m is 'GET' | 'HEAD' => m === 'GET' || m === 'HEAD');
  if (kept.length !== methods.length) f.notes.push(`only GET and HEAD are cached; ${methods.filter((m) => !(kept as string[]).includes(m)).join(', ')} dropped`);
  const headers = f.get('response_headers');
  const out: Obj = {
    strategy: 'memory',
    methods: kept.length ? kept : ['GET', 'HEAD'],
    response_codes: (f.strs('response_code') ?? ['200', '301', '404']).map(Number),
    content_types: f.strs('content_type') ?? ['text/plain', 'application/json'],
    ttl: f.num('cache_ttl') ?? 300,
    cache_control: f.bool('cache_control') ?? false,
    // Kong keys entries by consumer (and route) whatever the config says.
    key_by_consumer: true,
    expose_key: isObj(headers) && typeof headers['X-Cache-Key'] === 'boolean' ? headers['X-Cache-Key'] : true,
  };
  const vh = f.strs('vary_headers');
  if (vh) out.vary_headers = vh;
  const vq = f.strs('vary_query_params');
  if (vq) out.vary_query_params = vq;
  f.notes.push('requests with an Authorization header bypass the cache unless cache_authorized is turned on (Kong caches them per consumer)');
  f.unsupported('storage_ttl', undefined, 'is not supported (entries are evicted by LRU)');
  f.unsupported('ignore_uri_case', false, 'is not supported');
  f.unsupported('cache_post', undefined);
  f.get('memory');
  return { config: out };
};

const UNITS: Record<string, number> = { bytes: 1, kilobytes: 1024, megabytes: 1024 * 1024 };

const requestSizeLimiting: Converter = (f) => {
  const size = f.num('allowed_payload_size') ?? 128;
  const unit = f.str('size_unit') ?? 'megabytes';
  const mult = UNITS[unit];
  if (mult === undefined) return { unmapped: `unknown size_unit '${unit}'` };
  return { config: { allowed_payload_size: Math.round(size * mult), require_content_length: f.bool('require_content_length') ?? false } };
};

const requestTermination: Converter = (f) => {
  const out: Obj = { status_code: f.num('status_code') ?? 503 };
  for (const k of ['message', 'body', 'content_type', 'trigger'] as const) {
    const v = f.str(k);
    if (v !== undefined) out[k] = v;
  }
  f.unsupported('echo', false, 'is not supported (the request is not echoed back)');
  return { config: out };
};

const botDetection: Converter = (f) => {
  f.notes.push("Gatehouse's built-in list of bad bots (builtin: true) differs from Kong's");
  return { config: { allow: f.strs('allow') ?? f.strs('whitelist') ?? [], deny: f.strs('deny') ?? f.strs('blacklist') ?? [], builtin: true } };
};

export const PLUGIN_IMPORTERS: Record<string, Converter> = {
  'key-auth': keyAuth,
  'basic-auth': basicAuth,
  jwt,
  acl,
  'rate-limiting': rateLimiting,
  cors,
  'ip-restriction': ipRestriction,
  'request-transformer': requestTransformer,
  'response-transformer': responseTransformer,
  'proxy-cache': proxyCache,
  'request-size-limiting': requestSizeLimiting,
  'request-termination': requestTermination,
  'bot-detection': botDetection,
};
