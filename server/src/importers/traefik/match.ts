/**
 * One AND of rule matchers (an alternative of a rule in disjunctive normal form) → the match fields of
 * one Gatehouse route. Conditions a route cannot hold natively are combined into one regex with
 * lookaheads (`(?=…)` for each condition, `(?!…)` for each negation), which keeps Traefik's meaning;
 * what has no exact equivalent is collected in `notes`.
 */
import { HttpMethod } from '../../config/schema.js';
import { escapeRegex, goRegexToJs, RegexConversionError, v2TemplateToRegex } from './go-regex.js';
import type { Literal, Matcher } from './rule.js';

export interface Notes {
  approximated: string[];
  /** Conditions dropped: the route matches more than the Traefik router did. */
  unmapped: string[];
}

export interface RouteMatch {
  hosts: string[];
  paths: string[];
  methods: string[];
  headers: Record<string, string[]>;
  query: Record<string, string[]>;
  /** ClientIP(…): Gatehouse routes do not match on the client address; the importer adds ip-restriction. */
  ipAllow: string[];
  ipDeny: string[];
}

export class MatchError extends Error {
  override name = 'MatchError';
}

const METHODS = new Set<string>(HttpMethod.anyOf.map((m) => m.const as string));
const HOST_RE = /^(\*\.)?[A-Za-z0-9.-]+(:[0-9]+)?$|^[A-Za-z0-9.-]+\.\*$/;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

type PathAlt = { kind: 'exact' | 'prefix' | 'regex'; value: string };

const show = (m: Matcher) => `${m.name}(${m.args.map((a) => '`' + a + '`').join(', ')})`;

function convertRegex(source: string, m: Matcher): string {
  try {
    return goRegexToJs(source);
  } catch (e) {
    if (e instanceof RegexConversionError) throw new MatchError(`${show(m)}: ${e.message}`);
    throw e;
  }
}

/** A Go pattern used unanchored (Traefik v3 regexp matchers) as a source the router anchors at the start. */
function startAnchored(re: string): string {
  return re.startsWith('^') ? re : `.*(?:${re})`;
}

function v2Template(text: string, m: Matcher, part: string, notes: Notes): string | undefined {
  if (!text.includes('{')) return undefined;
  try {
    const t = v2TemplateToRegex(text, part);
    if (!t.template) return undefined;
    notes.approximated.push(`${show(m)} read as a Traefik v2 template (\`{name:regex}\`); in v3 braces are literal`);
    return t.regex;
  } catch (e) {
    if (e instanceof RegexConversionError) throw new MatchError(`${show(m)}: ${e.message}`);
    throw e;
  }
}

function pathAlts(m: Matcher, notes: Notes): PathAlt[] {
  return m.args.map((a): PathAlt => {
    if (m.name === 'PathRegexp') return { kind: 'regex', value: startAnchored(convertRegex(a, m)) };
    if (!a.startsWith('/')) throw new MatchError(`${show(m)}: a path must start with '/'`);
    const t = v2Template(a, m, '[^/]+', notes);
    if (t !== undefined) return { kind: 'regex', value: m.name === 'Path' ? `${t}$` : t };
    return { kind: m.name === 'Path' ? 'exact' : 'prefix', value: a };
  });
}

function pathAltRegex(p: PathAlt): string {
  if (p.kind === 'exact') return `${escapeRegex(p.value)}$`;
  if (p.kind === 'prefix') return escapeRegex(p.value);
  return `(?:${p.value})`;
}

/** Builds the match of one alternative; undefined when the alternative can never match. */
export function buildMatch(conj: Literal[], notes: Notes): RouteMatch | undefined {
  const match: RouteMatch = { hosts: [], paths: [], methods: [], headers: {}, query: {}, ipAllow: [], ipDeny: [] };
  let hostSet: Set<string> | undefined;
  const hostPattern: { pos: string[]; neg: string[]; single?: string } = { pos: [], neg: [] };
  const paths = { pos: [] as PathAlt[][], neg: [] as PathAlt[][] };
  let methods: Set<string> | undefined;
  const headers = new Map<string, { pos: string[][]; neg: string[][] }>();
  const header = (name: string, m: Matcher) => {
    if (!HEADER_NAME_RE.test(name)) throw new MatchError(`${show(m)}: '${name}' is not a valid header name`);
    const key = name.toLowerCase();
    let h = headers.get(key);
    if (!h) headers.set(key, (h = { pos: [], neg: [] }));
    return h;
  };
  const query = new Map<string, string[]>();
  let ipSeen = false;

  for (const { matcher: m, negated } of conj) {
    switch (m.name) {
      case 'Host':
      case 'HostHeader': {
        const values = m.args.map((a) => a.toLowerCase());
        if (negated) {
          hostPattern.neg.push(`(?!(?:${values.map(escapeRegex).join('|')})(?::\\d+)?$)`);
          break;
        }
        const plain = values.every((v) => HOST_RE.test(v));
        if (!plain) {
          hostPattern.single = undefined;
          hostPattern.pos.push(`(?=(?:${values.map(escapeRegex).join('|')})(?::\\d+)?$)`);
          break;
        }
        if (values.some((v) => v.startsWith('*.'))) notes.approximated.push(`${show(m)}: a Gatehouse wildcard host also matches deeper subdomains (a.b.example.com)`);
        hostSet = hostSet ? new Set(values.filter((v) => hostSet!.has(v))) : new Set(values);
        if (hostSet.size === 0) return undefined;
        break;
      }
      case 'HostRegexp': {
        const alts = m.args.map((a) => {
          const t = v2Template(a, m, '[^.]+', notes);
          return t !== undefined ? `^${t}$` : convertRegex(a, m);
        });
        notes.approximated.push(`${show(m)} is matched against the Host header, which carries the port when the client sends one`);
        const re = `(?:${alts.join('|')})`;
        if (negated) hostPattern.neg.push(`(?!.*${re})`);
        else {
          hostPattern.pos.push(`(?=.*${re})`);
          hostPattern.single = alts.length === 1 ? alts[0] : re;
        }
        break;
      }
      case 'Path':
      case 'PathPrefix':
      case 'PathRegexp':
        (negated ? paths.neg : paths.pos).push(pathAlts(m, notes));
        break;
      case 'Method': {
        const values = new Set(m.args.map((a) => a.toUpperCase()));
        for (const v of values) if (!METHODS.has(v)) throw new MatchError(`${show(m)}: method '${v}' is not one Gatehouse routes on`);
        const allowed = negated ? new Set([...METHODS].filter((x) => !values.has(x))) : values;
        methods = methods ? new Set([...allowed].filter((x) => methods!.has(x))) : allowed;
        if (methods.size === 0) return undefined;
        break;
      }
      case 'Header':
      case 'Headers':
      case 'HeaderRegexp':
      case 'HeadersRegexp': {
        if (m.args.length !== 2) throw new MatchError(`${show(m)}: needs a header name and a value`);
        const [name, value] = m.args as [string, string];
        const re = m.name.endsWith('Regexp') ? convertRegex(value, m) : `^${escapeRegex(value)}$`;
        const h = header(name, m);
        (negated ? h.neg : h.pos).push([re]);
        if (negated) notes.approximated.push(`!${show(m)}: Gatehouse needs the header present; Traefik's negation also matched requests without it`);
        break;
      }
      case 'Query':
      case 'QueryRegexp': {
        const pairs: [string, string][] = [];
        if (m.name === 'QueryRegexp') {
          if (m.args.length !== 2) throw new MatchError(`${show(m)}: needs a parameter name and a regexp`);
          pairs.push([m.args[0]!, '']);
          notes.unmapped.push(`${show(m)}: Gatehouse matches query values exactly, so this only requires the parameter to be present`);
        } else if (m.args.length === 2 && !m.args[0]!.includes('=')) pairs.push([m.args[0]!, m.args[1]!]);
        else
          for (const a of m.args) {
            const eq = a.indexOf('=');
            pairs.push(eq === -1 ? [a, ''] : [a.slice(0, eq), a.slice(eq + 1)]);
          }
        if (negated) {
          notes.unmapped.push(`!${show(m)}: Gatehouse cannot match the absence of a query parameter; condition dropped`);
          break;
        }
        for (const [k, v] of pairs) {
          if (!k) throw new MatchError(`${show(m)}: empty parameter name`);
          const prev = query.get(k);
          if (prev && !(prev.length === 1 && prev[0] === v)) {
            notes.unmapped.push(`${show(m)}: a second condition on '${k}' cannot be combined; the first one is kept`);
            continue;
          }
          query.set(k, [v]);
        }
        break;
      }
      case 'ClientIP':
        if (negated) match.ipDeny.push(...m.args);
        else if (ipSeen) notes.unmapped.push(`${show(m)}: only the first ClientIP condition of an alternative is kept`);
        else {
          match.ipAllow.push(...m.args);
          ipSeen = true;
        }
        notes.approximated.push(
          `${negated ? '!' : ''}${show(m)} → ip-restriction on the route: other clients get 403, where Traefik let another router match them`,
        );
        break;
    }
  }

  if (hostSet) match.hosts = [...hostSet];
  if (hostPattern.pos.length || hostPattern.neg.length) {
    // One pattern for every host condition the hosts list cannot hold.
    const single = hostPattern.pos.length === 1 && hostPattern.neg.length === 0 ? hostPattern.single : undefined;
    match.headers.host = [single !== undefined ? `~*${single}` : `~*^${[...hostPattern.pos, ...hostPattern.neg].join('')}`];
  }

  if (paths.pos.length === 1 && paths.neg.length === 0) {
    for (const p of paths.pos[0]!) {
      if (p.kind === 'exact') match.paths.push(`=${p.value}`);
      else if (p.kind === 'regex') match.paths.push(`~${p.value}`);
      else {
        match.paths.push(p.value);
        if (!p.value.endsWith('/'))
          notes.approximated.push(`PathPrefix(\`${p.value}\`) matches on segment boundaries in Gatehouse (${p.value}, ${p.value}/…); Traefik also matched ${p.value}x…`);
      }
    }
  } else if (paths.pos.length || paths.neg.length) {
    const parts = [
      ...paths.pos.map((alts) => `(?=${alts.map(pathAltRegex).join('|')})`),
      ...paths.neg.map((alts) => `(?!${alts.map(pathAltRegex).join('|')})`),
    ];
    match.paths.push(`~${parts.join('')}`);
  }

  if (methods) match.methods = [...METHODS].filter((x) => methods!.has(x));

  for (const [name, { pos, neg }] of headers) {
    if (name === 'host' && match.headers.host) {
      throw new MatchError('Header(`Host`, …) cannot be combined with HostRegexp or a negated Host in one alternative');
    }
    if (pos.length === 1 && neg.length === 0) {
      const re = pos[0]![0]!;
      const exact = /^\^((?:[^\\.*+?^${}()|[\]]|\\.)*)\$$/.exec(re);
      // An exact value without letters needs no regex: case cannot differ.
      const literal = exact ? exact[1]!.replace(/\\(.)/g, '$1') : undefined;
      match.headers[name] = [literal !== undefined && !/[A-Za-z]/.test(literal) ? literal : `~${re}`];
    } else {
      const parts = [...pos.map((alts) => `(?=.*(?:${alts.join('|')}))`), ...neg.map((alts) => `(?!.*(?:${alts.join('|')}))`)];
      match.headers[name] = [`~^${parts.join('')}`];
    }
  }
  for (const [k, v] of query) match.query[k] = v;
  return match;
}
