/**
 * Traefik router rules (`Host(`a`) && (PathPrefix(`/v1`) || !Method(`GET`))`): a tokenizer and a
 * precedence-climbing parser for the expression language of Traefik v3 (and the multi-value v2 forms),
 * then the rewrite the importer needs: negation pushed down to the matchers and the expression spread
 * into an OR of ANDs, because one Gatehouse route can only express an AND of conditions.
 */

export class RuleSyntaxError extends Error {
  override name = 'RuleSyntaxError';
  constructor(
    readonly reason: string,
    /** 1-based column in the rule text. */
    readonly column: number,
  ) {
    super(`${reason} at column ${column}`);
  }
}

/** Canonical matcher names; the v2-only spellings are kept as they are and read by the importer. */
export const MATCHERS = [
  'Host',
  'HostRegexp',
  'Path',
  'PathPrefix',
  'PathRegexp',
  'Method',
  'Header',
  'HeaderRegexp',
  'Headers',
  'HeadersRegexp',
  'Query',
  'QueryRegexp',
  'ClientIP',
  'HostHeader',
] as const;
export type MatcherName = (typeof MATCHERS)[number];
const BY_LOWER = new Map<string, MatcherName>(MATCHERS.map((m) => [m.toLowerCase(), m]));

export interface Matcher {
  type: 'matcher';
  name: MatcherName;
  args: string[];
  /** 1-based column of the matcher name, for messages. */
  column: number;
}
export type RuleExpr = Matcher | { type: 'and' | 'or'; left: RuleExpr; right: RuleExpr } | { type: 'not'; expr: RuleExpr };

type Token =
  | { kind: 'ident'; value: string; column: number }
  | { kind: 'string'; value: string; column: number }
  | { kind: '(' | ')' | ',' | '&&' | '||' | '!' | 'end'; column: number };

const GO_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

export function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i]!;
    const column = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === ',' || c === '!') {
      tokens.push({ kind: c, column });
      i++;
    } else if (c === '&' || c === '|') {
      if (rule[i + 1] !== c) throw new RuleSyntaxError(`expected '${c}${c}'`, column);
      tokens.push({ kind: c === '&' ? '&&' : '||', column });
      i += 2;
    } else if (c === '`') {
      // A Go raw string: no escapes, ends at the next backtick.
      const end = rule.indexOf('`', i + 1);
      if (end === -1) throw new RuleSyntaxError('unterminated `…` string', column);
      tokens.push({ kind: 'string', value: rule.slice(i + 1, end), column });
      i = end + 1;
    } else if (c === '"') {
      // A Go interpreted string: backslash escapes.
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= rule.length) throw new RuleSyntaxError('unterminated "…" string', column);
        const d = rule[j]!;
        if (d === '"') break;
        if (d === '\\') {
          const e = rule[j + 1];
          if (e === undefined) throw new RuleSyntaxError('unterminated "…" string', column);
          if (e === 'x' || e === 'u') {
            const len = e === 'x' ? 2 : 4;
            const hex = rule.slice(j + 2, j + 2 + len);
            if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) throw new RuleSyntaxError(`invalid escape '\\${e}${hex}'`, j + 1);
            value += String.fromCharCode(parseInt(hex, 16));
            j += 2 + len;
            continue;
          }
          const mapped = GO_ESCAPES[e];
          if (mapped === undefined) throw new RuleSyntaxError(`invalid escape '\\${e}' in a "…" string (use a \`…\` string for regular expressions)`, j + 1);
          value += mapped;
          j += 2;
          continue;
        }
        value += d;
        j++;
      }
      tokens.push({ kind: 'string', value, column });
      i = j + 1;
    } else if (c === "'") {
      throw new RuleSyntaxError("single quotes are not accepted; quote values with ` or \"", column);
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < rule.length && /[A-Za-z0-9_]/.test(rule[j]!)) j++;
      tokens.push({ kind: 'ident', value: rule.slice(i, j), column });
      i = j;
    } else {
      throw new RuleSyntaxError(`unexpected character '${c}'`, column);
    }
  }
  tokens.push({ kind: 'end', column: rule.length + 1 });
  return tokens;
}

/**
 * Parses a rule. Precedence, lowest first: `||`, `&&`, `!`; parentheses group. Matcher names are
 * accepted in any case (Traefik v2 did), and checked against the known matchers.
 */
export function parseRule(rule: string): RuleExpr {
  const tokens = tokenize(rule);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const next = () => tokens[pos++]!;
  const describe = (t: Token) => (t.kind === 'end' ? 'end of rule' : t.kind === 'ident' || t.kind === 'string' ? `'${t.value}'` : `'${t.kind}'`);

  function parseOr(): RuleExpr {
    let left = parseAnd();
    while (peek().kind === '||') {
      next();
      left = { type: 'or', left, right: parseAnd() };
    }
    return left;
  }
  function parseAnd(): RuleExpr {
    let left = parseUnary();
    while (peek().kind === '&&') {
      next();
      left = { type: 'and', left, right: parseUnary() };
    }
    return left;
  }
  function parseUnary(): RuleExpr {
    const t = next();
    if (t.kind === '!') return { type: 'not', expr: parseUnary() };
    if (t.kind === '(') {
      const e = parseOr();
      const close = next();
      if (close.kind !== ')') throw new RuleSyntaxError(`expected ')' but found ${describe(close)}`, close.column);
      return e;
    }
    if (t.kind !== 'ident') throw new RuleSyntaxError(`expected a matcher, '!' or '(' but found ${describe(t)}`, t.column);
    const name = BY_LOWER.get(t.value.toLowerCase());
    if (!name) throw new RuleSyntaxError(`unknown matcher '${t.value}'`, t.column);
    const open = next();
    if (open.kind !== '(') throw new RuleSyntaxError(`expected '(' after ${t.value} but found ${describe(open)}`, open.column);
    const args: string[] = [];
    if (peek().kind !== ')') {
      for (;;) {
        const a = next();
        if (a.kind !== 'string') throw new RuleSyntaxError(`expected a quoted value but found ${describe(a)}`, a.column);
        args.push(a.value);
        const sep = next();
        if (sep.kind === ')') break;
        if (sep.kind !== ',') throw new RuleSyntaxError(`expected ',' or ')' but found ${describe(sep)}`, sep.column);
      }
    } else next();
    if (args.length === 0) throw new RuleSyntaxError(`${name} needs at least one value`, t.column);
    return { type: 'matcher', name, args, column: t.column };
  }

  if (peek().kind === 'end') throw new RuleSyntaxError('empty rule', 1);
  const expr = parseOr();
  const rest = peek();
  if (rest.kind !== 'end') throw new RuleSyntaxError(`unexpected ${describe(rest)}`, rest.column);
  return expr;
}

export interface Literal {
  matcher: Matcher;
  negated: boolean;
}

/** Above this many alternatives an expression is refused rather than turned into that many routes. */
export const MAX_ALTERNATIVES = 64;

/**
 * The expression as an OR of ANDs of (possibly negated) matchers. Negation is pushed down with
 * De Morgan's laws first, so `!(A || B)` becomes `!A && !B`.
 */
export function toDisjunctiveNormalForm(expr: RuleExpr): Literal[][] {
  function walk(e: RuleExpr, negated: boolean): Literal[][] {
    if (e.type === 'matcher') return [[{ matcher: e, negated }]];
    if (e.type === 'not') return walk(e.expr, !negated);
    const isOr = (e.type === 'or') !== negated;
    const l = walk(e.left, negated);
    const r = walk(e.right, negated);
    if (isOr) return check([...l, ...r]);
    const out: Literal[][] = [];
    for (const a of l) for (const b of r) out.push([...a, ...b]);
    return check(out);
  }
  function check(x: Literal[][]): Literal[][] {
    if (x.length > MAX_ALTERNATIVES) throw new RuleSyntaxError(`the rule expands to more than ${MAX_ALTERNATIVES} alternatives`, 1);
    return x;
  }
  return walk(expr, false);
}
