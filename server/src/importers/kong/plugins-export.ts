/**
 * Gatehouse plugin configs → Kong plugin configs (the inverse of plugins-import.ts). A converter reads the
 * (defaults-filled) Gatehouse config through `Ours`; every field it does not read that differs from the
 * plugin schema's default is reported as having no Kong equivalent.
 */
import { validate } from '../../config/validate.js';
import { PLUGINS } from '../../plugins/index.js';
import { ORIGIN_SCHEME } from './plugins-import.js';
import { deepEqual, isObj, type Obj } from './util.js';

export class Ours {
  private readonly used = new Set<string>();
  readonly notes: string[] = [];
  constructor(
    readonly cfg: Obj,
    private readonly defaults: Obj,
  ) {}
  get<T = unknown>(k: string): T {
    this.used.add(k);
    return this.cfg[k] as T;
  }
  /** Reads a field Kong cannot express: a note unless it holds the default. */
  unsupported(k: string, why: string): void {
    const v = this.get(k);
    if (v !== undefined && !deepEqual(v, this.defaults[k])) this.notes.push(`\`${k}: ${JSON.stringify(v)}\` ${why}`);
  }
  rest(): string[] {
    for (const [k, v] of Object.entries(this.cfg)) {
      if (this.used.has(k) || v === undefined || deepEqual(v, this.defaults[k])) continue;
      this.notes.push(`\`${k}\` has no Kong equivalent`);
    }
    return this.notes;
  }
}

export function schemaDefaults(name: string): Obj {
  const def = PLUGINS.get(name);
  if (!def) return {};
  const v = validate(def.schema, {});
  return v.ok && isObj(v.value) ? v.value : {};
}

type Converter = (o: Ours) => Obj | string;

const put = (out: Obj, k: string, v: unknown) => {
  if (v !== undefined) out[k] = v;
};

const keyAuth: Converter = (o) => {
  const out: Obj = { key_names: o.get('key_names'), key_in_header: o.get('key_in_header'), key_in_query: o.get('key_in_query'), hide_credentials: o.get('hide_credentials') };
  put(out, 'anonymous', o.get('anonymous'));
  return out;
};

const basicAuth: Converter = (o) => {
  const out: Obj = { realm: o.get('realm'), hide_credentials: o.get('hide_credentials') };
  put(out, 'anonymous', o.get('anonymous'));
  o.get('cache_size');
  return out;
};

const jwt: Converter = (o) => {
  const required = o.get<string[]>('required_claims');
  const verify = required.filter((c) => c === 'exp' || c === 'nbf') as string[];
  if (verify.length !== required.length) o.notes.push(`required claims ${required.filter((c) => !verify.includes(c)).join(', ')} cannot be required (Kong verifies exp and nbf only)`);
  if (o.get<unknown[]>('issuers').length) o.notes.push('`issuers` (keys in the plugin config, JWKS) have no Kong equivalent: Kong verifies against consumer jwt_secrets only');
  if (!o.get<boolean>('consumer_credentials')) o.notes.push('consumer_credentials false has no Kong equivalent');
  const out: Obj = {
    key_claim_name: o.get('key_claim_name'),
    header_names: o.get('header_names'),
    cookie_names: o.get('cookie_names'),
    uri_param_names: o.get('query_params'),
    claims_to_verify: verify,
  };
  put(out, 'anonymous', o.get('anonymous'));
  for (const k of ['max_token_bytes', 'leeway_seconds', 'cache_size', 'jwks_timeout_ms', 'jwks_default_ttl_seconds', 'jwks_min_ttl_seconds', 'jwks_max_ttl_seconds', 'jwks_refetch_cooldown_seconds']) o.get(k);
  return out;
};

const acl: Converter = (o) => {
  const out: Obj = { hide_groups_header: o.get('hide_groups_header') };
  put(out, 'allow', o.get('allow'));
  put(out, 'deny', o.get('deny'));
  o.unsupported('required_scopes', 'has no Kong equivalent in the acl plugin');
  if (!out.allow && !out.deny) return 'an acl with only required_scopes has no Kong equivalent';
  return out;
};

const KONG_LIMIT_BY = ['consumer', 'credential', 'ip', 'service', 'header'];

const rateLimiting: Converter = (o) => {
  const out: Obj = {};
  for (const w of ['second', 'minute', 'hour']) put(out, w, o.get(w));
  const day = o.get<number | undefined>('day');
  const quotaDay = o.get<number | undefined>('quota_day');
  if (quotaDay !== undefined) {
    out.day = quotaDay;
    if (day !== undefined) o.notes.push(`the rolling 24 h limit day ${day} was dropped (Kong has one day limit; quota_day kept)`);
  } else if (day !== undefined) {
    out.day = day;
    o.notes.push('the rolling 24 h `day` limit became Kong\'s calendar-day window');
  }
  put(out, 'month', o.get('quota_month'));
  const by = o.get<string[]>('limit_by');
  const kong = by.find((b) => KONG_LIMIT_BY.includes(b));
  out.limit_by = kong ?? 'consumer';
  if (by.length !== 1 || !kong) o.notes.push(`limit_by [${by.join(', ')}] became '${String(out.limit_by)}' (Kong counts by one key)`);
  if (out.limit_by === 'header') out.header_name = o.get('header_name');
  else o.get('header_name');
  o.unsupported('jwt_claim', 'has no Kong equivalent');
  const policy = o.get<string>('policy');
  out.policy = policy;
  if (policy === 'redis') o.notes.push('policy redis: set the Redis connection (config.redis) in Kong');
  out.fault_tolerant = o.get('fault_policy') === 'fail-open';
  const ietf = o.get<boolean>('ietf_headers');
  const legacy = o.get<boolean>('legacy_headers');
  out.hide_client_headers = !ietf && !legacy;
  if (ietf !== legacy) o.notes.push('Kong shows or hides all rate-limit headers together');
  o.unsupported('algorithm', 'has no Kong equivalent (Kong counts fixed windows)');
  o.get('inherit_global');
  o.get('redis_timeout_ms');
  // Kong's redis policy asks Redis on every request: dropping the lease only costs speed.
  o.get('redis_lease');
  o.get('redis_lease_ms');
  o.unsupported('retry_after', 'has no Kong equivalent (Kong always sends Retry-After)');
  return out;
};

const cors: Converter = (o) => {
  const origins = o.get<string[]>('origins').map((x) => {
    if (!x.startsWith('~')) return x;
    const scheme = `~^${ORIGIN_SCHEME}(?:`;
    if (x.startsWith(scheme) && x.endsWith(')')) return x.slice(scheme.length, -1);
    if (x.startsWith('~^(?:') && x.endsWith(')')) return x.slice(5, -1);
    o.notes.push(`origin regex '${x}' is matched by Kong anchored at the start only`);
    return x.slice(1);
  });
  const out: Obj = {
    origins,
    methods: o.get('methods'),
    exposed_headers: o.get('exposed_headers'),
    credentials: o.get('credentials'),
    preflight_continue: o.get('preflight_continue'),
    private_network: o.get('private_network'),
  };
  put(out, 'headers', o.get('headers'));
  put(out, 'max_age', o.get('max_age'));
  return out;
};

const ipRestriction: Converter = (o) => {
  const out: Obj = { status: o.get('status') };
  const allow = o.get<string[]>('allow');
  const deny = o.get<string[]>('deny');
  if (allow.length) out.allow = allow;
  if (deny.length) out.deny = deny;
  put(out, 'message', o.get('message'));
  return out;
};

/** Gatehouse templates → Kong's Lua templates; undefined when one has no Kong equivalent. */
export function kongTemplate(v: string): string | undefined {
  let ok = true;
  const out = v.replace(/\$\(([^)]*)\)/g, (_m, expr: string) => {
    const m = /^(headers|query|params)\.(.+)$/.exec(expr);
    if (!m) {
      ok = false;
      return '';
    }
    const kind = m[1] === 'headers' ? 'headers' : m[1] === 'query' ? 'query_params' : 'uri_captures';
    return `$(${kind}["${m[2]!}"])`;
  });
  return ok ? out : undefined;
}

function toPairs(map: Obj | undefined, what: string, notes: string[], templates: boolean): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(map ?? {})) {
    if (typeof v !== 'string') {
      notes.push(`${what} '${k}': the JSON value ${JSON.stringify(v)} cannot be expressed (Kong values are strings)`);
      continue;
    }
    const value = templates ? kongTemplate(v) : v;
    if (value === undefined) {
      notes.push(`${what} '${k}': the template '${v}' has no Kong equivalent`);
      continue;
    }
    out.push(`${k}:${value}`);
  }
  return out;
}

const requestTransformer: Converter = (o) => {
  const out: Obj = {};
  put(out, 'http_method', o.get('http_method'));
  const remove = o.get<Obj>('remove');
  out.remove = { headers: remove.headers ?? [], querystring: remove.querystring ?? [], body: remove.body ?? [] };
  for (const op of ['rename', 'replace', 'add', 'append']) {
    const s = o.get<Obj>(op);
    const tpl = op !== 'rename';
    out[op] = {
      headers: toPairs(s.headers as Obj, `${op}.headers`, o.notes, tpl),
      querystring: toPairs(s.querystring as Obj, `${op}.querystring`, o.notes, tpl),
      body: toPairs(s.body as Obj, `${op}.body`, o.notes, tpl),
    };
  }
  const rw = o.get<{ regex: string; replacement: string } | undefined>('rewrite_path');
  if (rw) {
    const uri = rw.regex === '^.*$' ? kongTemplate(rw.replacement) : undefined;
    if (uri !== undefined && !/\{[^}]+\}/.test(uri)) {
      (out.replace as Obj).uri = uri;
      o.notes.push("rewrite_path became replace.uri, which replaces the whole upstream path (Gatehouse appends it to the service's path)");
    } else o.notes.push('rewrite_path with regex groups has no Kong equivalent');
  }
  o.get('max_body_size');
  return out;
};

function typed(map: Obj | undefined, what: string, notes: string[]): { json: string[]; json_types: string[] } {
  const json: string[] = [];
  const types: string[] = [];
  for (const [k, v] of Object.entries(map ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      json.push(`${k}:${String(v)}`);
      types.push(typeof v);
    } else notes.push(`${what} '${k}': the JSON value ${JSON.stringify(v)} cannot be expressed (Kong values are strings, numbers or booleans)`);
  }
  return { json, json_types: types.every((t) => t === 'string') ? [] : types };
}

const responseTransformer: Converter = (o) => {
  const remove = o.get<Obj>('remove');
  const rename = o.get<Obj>('rename');
  const out: Obj = {
    remove: { headers: remove.headers ?? [], json: remove.json ?? [] },
    rename: { headers: toPairs(rename.headers as Obj, 'rename.headers', o.notes, false), json: toPairs(rename.json as Obj, 'rename.json', o.notes, false) },
  };
  for (const op of ['replace', 'add', 'append']) {
    const s = o.get<Obj>(op);
    out[op] = { headers: toPairs(s.headers as Obj, `${op}.headers`, o.notes, true), ...typed(s.json as Obj, `${op}.json`, o.notes) };
  }
  o.get('max_body_size');
  return out;
};

const proxyCache: Converter = (o) => {
  if (o.get('strategy') !== 'memory') o.notes.push('strategy redis became memory (Kong OSS caches in memory only)');
  const out: Obj = {
    strategy: 'memory',
    request_method: o.get('methods'),
    response_code: o.get('response_codes'),
    cache_ttl: o.get('ttl'),
    cache_control: o.get('cache_control'),
    vary_headers: o.get('vary_headers'),
    response_headers: { 'X-Cache-Key': o.get('expose_key') },
  };
  const ct = o.get<string[] | undefined>('content_types');
  if (ct) out.content_type = ct;
  else o.notes.push('content_types unset (any type) has no Kong equivalent; Kong caches text/plain and application/json by default');
  put(out, 'vary_query_params', o.get('vary_query_params'));
  if (!o.get<boolean>('key_by_consumer')) o.notes.push('Kong always keys entries by consumer');
  o.unsupported('cache_authorized', 'has no Kong equivalent');
  o.unsupported('cache_set_cookie', 'has no Kong equivalent');
  for (const k of ['max_body_size', 'memory_max_entries', 'memory_max_bytes', 'redis_timeout_ms']) o.get(k);
  return out;
};

const requestSizeLimiting: Converter = (o) => {
  const bytes = o.get<number>('allowed_payload_size');
  const [size, unit] = bytes % (1024 * 1024) === 0 ? [bytes / (1024 * 1024), 'megabytes'] : bytes % 1024 === 0 ? [bytes / 1024, 'kilobytes'] : [bytes, 'bytes'];
  return { allowed_payload_size: size, size_unit: unit, require_content_length: o.get('require_content_length') };
};

const requestTermination: Converter = (o) => {
  const out: Obj = { status_code: o.get('status_code') };
  for (const k of ['message', 'body', 'content_type', 'trigger']) put(out, k, o.get(k));
  o.unsupported('headers', 'has no Kong equivalent');
  return out;
};

const botDetection: Converter = (o) => {
  o.unsupported('builtin', "has no Kong equivalent (Kong's built-in list always applies)");
  o.unsupported('empty_user_agent', 'has no Kong equivalent');
  return { allow: o.get('allow'), deny: o.get('deny') };
};

export const PLUGIN_EXPORTERS: Record<string, Converter> = {
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
