import { describe, expect, it } from 'vitest';
import { buildMatch, MatchError, type Notes } from './match.js';
import { parseRule, RuleSyntaxError, toDisjunctiveNormalForm, tokenize, type RuleExpr } from './rule.js';

/** A compact rendering of the tree: `and(or(...))`, negation as `!`. */
function show(e: RuleExpr): string {
  if (e.type === 'matcher') return `${e.name}(${e.args.join(',')})`;
  if (e.type === 'not') return `!${show(e.expr)}`;
  return `${e.type}(${show(e.left)}, ${show(e.right)})`;
}

function syntaxError(rule: string): RuleSyntaxError {
  try {
    parseRule(rule);
  } catch (e) {
    if (e instanceof RuleSyntaxError) return e;
    throw e;
  }
  throw new Error(`no error for ${rule}`);
}

function dnf(rule: string): string[] {
  return toDisjunctiveNormalForm(parseRule(rule)).map((c) => c.map((l) => `${l.negated ? '!' : ''}${l.matcher.name}(${l.matcher.args.join(',')})`).join(' & '));
}

describe('rule parser', () => {
  it('gives && precedence over ||', () => {
    expect(show(parseRule('Host(`a`) || Path(`/b`) && Method(`GET`)'))).toBe('or(Host(a), and(Path(/b), Method(GET)))');
    expect(show(parseRule('Host(`a`) && Path(`/b`) || Method(`GET`)'))).toBe('or(and(Host(a), Path(/b)), Method(GET))');
  });

  it('binds ! tighter than && and lets parentheses group', () => {
    expect(show(parseRule('!Host(`a`) && Path(`/b`)'))).toBe('and(!Host(a), Path(/b))');
    expect(show(parseRule('!(Host(`a`) && Path(`/b`))'))).toBe('!and(Host(a), Path(/b))');
    expect(show(parseRule('Host(`a`) && (Path(`/b`) || Path(`/c`))'))).toBe('and(Host(a), or(Path(/b), Path(/c)))');
    expect(show(parseRule('((Host(`a`)))'))).toBe('Host(a)');
  });

  it('is left-associative', () => {
    expect(show(parseRule('Path(`/a`) || Path(`/b`) || Path(`/c`)'))).toBe('or(or(Path(/a), Path(/b)), Path(/c))');
  });

  it('reads backtick strings raw and double-quoted strings with Go escapes', () => {
    expect(parseRule('PathRegexp(`^/a\\d+$`)')).toMatchObject({ args: ['^/a\\d+$'] });
    expect(parseRule('Header("X-Name", "a \\"quoted\\" value\\t")')).toMatchObject({ name: 'Header', args: ['X-Name', 'a "quoted" value\t'] });
    expect(parseRule('Host("caf\\u00e9.example")')).toMatchObject({ args: ['café.example'] });
  });

  it('accepts the v2 multi-value forms and any case of matcher names', () => {
    expect(parseRule('Host(`a.com`, `b.com`)')).toMatchObject({ name: 'Host', args: ['a.com', 'b.com'] });
    expect(parseRule('Headers(`X-A`, `1`)')).toMatchObject({ name: 'Headers', args: ['X-A', '1'] });
    expect(parseRule('pathprefix(`/x`)')).toMatchObject({ name: 'PathPrefix' });
  });

  it('reports errors with their column', () => {
    let e = syntaxError('Host(`a`) & Path(`/b`)');
    expect(e.column).toBe(11);
    expect(e.message).toBe("expected '&&' at column 11");
    e = syntaxError('Host(`a`');
    expect(e.message).toBe("expected ',' or ')' but found end of rule at column 9");
    e = syntaxError('Host(`a`) && Pathh(`/b`)');
    expect(e).toMatchObject({ column: 14, reason: "unknown matcher 'Pathh'" });
    e = syntaxError("Host('a')");
    expect(e.column).toBe(6);
    expect(e.reason).toMatch(/single quotes/);
    e = syntaxError('Host(`a');
    expect(e).toMatchObject({ column: 6, reason: 'unterminated `…` string' });
    e = syntaxError('(Host(`a`) || Path(`/b`)');
    expect(e.reason).toBe("expected ')' but found end of rule");
    e = syntaxError('Host(`a`) Path(`/b`)');
    expect(e).toMatchObject({ column: 11, reason: "unexpected 'Path'" });
    e = syntaxError('Host()');
    expect(e.reason).toBe('Host needs at least one value');
    e = syntaxError('Host("a\\d")');
    expect(e.reason).toMatch(/invalid escape/);
    expect(syntaxError('').reason).toBe('empty rule');
    expect(syntaxError('Host(`a`) &&').reason).toBe("expected a matcher, '!' or '(' but found end of rule");
  });

  it('tokenizes operators and strings with positions', () => {
    expect(tokenize('!A(`x`)').map((t) => `${t.kind}@${t.column}`)).toEqual(['!@1', 'ident@2', '(@3', 'string@4', ')@7', 'end@8']);
  });
});

describe('disjunctive normal form', () => {
  it('distributes && over ||', () => {
    expect(dnf('Host(`a`) && (Path(`/b`) || Path(`/c`))')).toEqual(['Host(a) & Path(/b)', 'Host(a) & Path(/c)']);
    expect(dnf('(Host(`a`) || Host(`b`)) && (Path(`/c`) || Path(`/d`))')).toHaveLength(4);
  });

  it("pushes negation down with De Morgan's laws", () => {
    expect(dnf('!(Host(`a`) || Path(`/b`))')).toEqual(['!Host(a) & !Path(/b)']);
    expect(dnf('!(Host(`a`) && Path(`/b`))')).toEqual(['!Host(a)', '!Path(/b)']);
    expect(dnf('!!Host(`a`)')).toEqual(['Host(a)']);
  });

  it('refuses rules that expand to too many alternatives', () => {
    const rule = Array.from({ length: 7 }, (_, i) => `(Path(\`/a${i}\`) || Path(\`/b${i}\`))`).join(' && ');
    expect(() => dnf(rule)).toThrow(/more than 64 alternatives/);
  });
});

describe('one alternative → route match', () => {
  const build = (rule: string) => {
    const notes: Notes = { approximated: [], unmapped: [] };
    const [conj] = toDisjunctiveNormalForm(parseRule(rule));
    return { match: buildMatch(conj!, notes), notes };
  };

  it('maps hosts, paths, methods, headers and queries natively', () => {
    const { match, notes } = build('Host(`API.example.com`) && Path(`/orders`) && Method(`POST`) && Header(`X-Version`, `2`) && Query(`debug`, `1`)');
    expect(match).toMatchObject({ hosts: ['api.example.com'], paths: ['=/orders'], methods: ['POST'], headers: { 'x-version': ['2'] }, query: { debug: ['1'] } });
    expect(notes).toEqual({ approximated: [], unmapped: [] });
  });

  it('keeps header values case-sensitive with an anchored regex', () => {
    expect(build('Header(`X-Env`, `Prod.1`)').match!.headers).toEqual({ 'x-env': ['~^Prod\\.1$'] });
    expect(build('HeaderRegexp(`X-Env`, `(?i)^prod`)').match!.headers).toEqual({ 'x-env': ['~(?i:^prod)'] });
  });

  it('turns a negated method into the other methods', () => {
    expect(build('!Method(`GET`) && !Method(`HEAD`)').match!.methods).toEqual(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
  });

  it('combines several path conditions into one lookahead regex with the same meaning', () => {
    const { match } = build('PathPrefix(`/api`) && !PathPrefix(`/api/internal`) && !Path(`/api/health`)');
    expect(match!.paths).toEqual(['~(?=/api)(?!/api/internal)(?!/api/health$)']);
    const re = new RegExp(`^(?:${match!.paths[0]!.slice(1)})`);
    expect(['/api/x', '/apiv2', '/api/health/deep'].map((p) => re.test(p))).toEqual([true, true, true]);
    expect(['/api/internal/x', '/api/health', '/other'].map((p) => re.test(p))).toEqual([false, false, false]);
  });

  it('anchors PathRegexp the way Traefik (unanchored Go regexps) matches', () => {
    expect(build('PathRegexp(`^/users/(?P<id>[0-9]+)$`)').match!.paths).toEqual(['~^/users/(?<id>[0-9]+)$']);
    expect(build('PathRegexp(`\\.php$`)').match!.paths).toEqual(['~.*(?:\\.php$)']);
  });

  it('reads v2 path templates as named groups', () => {
    const { match, notes } = build('Path(`/users/{id:[0-9]+}/posts/{post}`)');
    expect(match!.paths).toEqual(['~/users/(?<id>[0-9]+)/posts/(?<post>[^/]+)$']);
    expect(notes.approximated[0]).toMatch(/v2 template/);
  });

  it('matches HostRegexp and negated hosts on the Host header', () => {
    expect(build('HostRegexp(`^[a-z]+\\.example\\.com$`)').match!.headers).toEqual({ host: ['~*^[a-z]+\\.example\\.com$'] });
    expect(build('HostRegexp(`{sub:[a-z]+}.example.com`)').match!.headers).toEqual({ host: ['~*^(?<sub>[a-z]+)\\.example\\.com$'] });
    const neg = build('!Host(`a.example.com`)').match!.headers.host![0]!;
    const re = new RegExp(neg.slice(2), 'i');
    expect([re.test('a.example.com'), re.test('A.example.com:8080'), re.test('b.example.com')]).toEqual([false, false, true]);
  });

  it('reads v2 and v3 query forms', () => {
    expect(build('Query(`a=1`, `b`)').match!.query).toEqual({ a: ['1'], b: [''] });
    expect(build('Query(`page`)').match!.query).toEqual({ page: [''] });
    const { match, notes } = build('QueryRegexp(`id`, `^[0-9]+$`)');
    expect(match!.query).toEqual({ id: [''] });
    expect(notes.unmapped[0]).toMatch(/present/);
  });

  it('collects ClientIP for ip-restriction', () => {
    const { match, notes } = build('ClientIP(`10.0.0.0/8`) && !ClientIP(`10.1.0.0/16`)');
    expect(match).toMatchObject({ ipAllow: ['10.0.0.0/8'], ipDeny: ['10.1.0.0/16'] });
    expect(notes.approximated.join()).toMatch(/ip-restriction/);
  });

  it('drops contradictory alternatives and refuses what cannot be read', () => {
    expect(build('Host(`a.com`) && Host(`b.com`)').match).toBeUndefined();
    expect(build('Method(`GET`) && Method(`POST`)').match).toBeUndefined();
    expect(() => build('Method(`PROPFIND`)')).toThrow(MatchError);
    expect(() => build('Header(`X A`, `1`)')).toThrow(/not a valid header name/);
    expect(() => build('PathRegexp(`(?U)a+`)')).toThrow(/no JavaScript equivalent/);
  });
});
