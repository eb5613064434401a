/**
 * Tests of config file parsing (positions, limits, alias bombs) and of lossless serialisation.
 */
import { describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES, parseConfigText, serializeConfig } from './config-file.js';
import { ConfigDocumentSchema, type ConfigDocument } from './schema.js';
import { validate } from './validate.js';

function full(input: unknown): ConfigDocument {
  const v = validate(ConfigDocumentSchema, input);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}

/** A document exercising every entity kind and the strings YAML is most likely to mangle. */
const tricky = full({
  _format_version: '1',
  services: [
    { name: 'users', url: 'http://users.internal:8080/v1', tags: ['yes', 'no', 'null', '~', '012', '1e3', 'true', ''.padEnd(3, ' ')] },
    { name: 'orders', host: 'orders', port: 443, protocol: 'https', path: '/a: b # not a comment', retries: 3, enabled: false },
  ],
  routes: [
    {
      name: 'orders',
      service: 'orders',
      paths: ['~/orders/(?<id>\\d+)$', '=/exact', '/p'],
      hosts: ['*.example.com'],
      methods: ['GET', 'POST'],
      headers: { 'x-env': ['~*^prod$', 'multi\nline'], 'x-emoji': ['héllo ✓'] },
      query: { debug: [''] },
      rewrite: '/v2/{id}',
      priority: -5,
    },
  ],
  upstreams: [
    { name: 'orders', algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-user', targets: [{ target: '10.0.0.1:80', weight: 0 }, { target: '[::1]:8080' }] },
  ],
  consumers: [{ username: 'alice', custom_id: '007', groups: ['admins'] }],
  plugins: [
    { id: '3f1c7a2e-8d4b-4c55-9a10-0b6f3e2d1c01', name: 'response-headers', route: 'orders', config: { set: { 'x-a': '1' }, list: [1, 2.5, null, true], nested: { deep: { 'k/with~chars': 'v' } } } },
    { name: 'cors', config: {} },
  ],
});

describe('serializeConfig / parseConfigText round trip', () => {
  it.each(['yaml', 'json'] as const)('%s is lossless', (format) => {
    const text = serializeConfig(tricky, format);
    const parsed = parseConfigText(text, format);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value).toStrictEqual(tricky);
  });

  it('writes every field explicitly, defaults included', () => {
    const text = serializeConfig(full({ _format_version: '1', services: [{ name: 's', url: 'http://a' }] }), 'yaml');
    expect(text).toContain('connect_timeout: 5000');
    expect(text).toContain('enabled: true');
    expect(text).toContain('tags: []');
  });

  it('uses the schema property order whatever order the input had', () => {
    const scrambled = {
      plugins: [],
      consumers: [],
      upstreams: [],
      routes: [],
      services: [{ tags: [], enabled: true, retries: 0, read_timeout: 1, write_timeout: 1, connect_timeout: 1, url: 'http://a', name: 's' }],
      _format_version: '1',
    } as unknown as ConfigDocument;
    const json = serializeConfig(scrambled, 'json');
    expect(Object.keys(JSON.parse(json) as object)).toEqual(['_format_version', 'services', 'routes', 'upstreams', 'consumers', 'plugins']);
    expect(json.indexOf('"name"')).toBeLessThan(json.indexOf('"url"'));
    expect(json.indexOf('"url"')).toBeLessThan(json.indexOf('"connect_timeout"'));
    expect(serializeConfig(scrambled, 'yaml')).toMatch(/^_format_version: "1"\nservices:\n {2}- name: s\n {4}url: http:\/\/a\n/);
  });

  it('is deterministic', () => {
    expect(serializeConfig(tricky, 'yaml')).toBe(serializeConfig(structuredClone(tricky), 'yaml'));
  });
});

describe('parseConfigText', () => {
  it('reads JSON with the same parser', () => {
    const r = parseConfigText('{"_format_version": "1", "services": [{"name": "a", "url": "http://x"}]}', 'json');
    expect(r).toMatchObject({ ok: true, value: { services: [{ name: 'a' }] } });
  });

  const syntaxCases: { name: string; text: string; line: number; column: number; message: RegExp }[] = [
    { name: 'bad indentation', text: 'services:\n  - name: a\n url: b\n', line: 3, column: 1, message: /YAML syntax error/ },
    { name: 'duplicate key', text: 'a: 1\nb: 2\na: 3\n', line: 3, column: 1, message: /unique/i },
    { name: 'unterminated JSON', text: '{\n  "a": [1, 2\n', line: 3, column: 1, message: /JSON syntax error/ },
    { name: 'several documents', text: 'a: 1\n---\nb: 2\n', line: 2, column: 1, message: /document/i },
  ];
  it.each(syntaxCases)('reports $name with line:column', ({ text, line, column, message }) => {
    const r = parseConfigText(text, message.source.includes('JSON') ? 'json' : 'yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]).toMatchObject({ line, column });
    expect(r.issues[0]?.message).toMatch(message);
  });

  it('rejects a document over 10 MB before parsing it', () => {
    const r = parseConfigText(`a: "${'x'.repeat(MAX_CONFIG_BYTES)}"`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.message).toMatch(/limit/);
  });

  it('rejects an alias bomb', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    const r = parseConfigText(lines.join('\n'));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.message).toMatch(/alias/i);
  });

  it('allows a few aliases', () => {
    const r = parseConfigText('x: &t [a, b]\ny: *t\n');
    expect(r).toMatchObject({ ok: true, value: { x: ['a', 'b'], y: ['a', 'b'] } });
  });

  it('locates a JSON Pointer in the source, falling back to the nearest ancestor', () => {
    const text = '_format_version: "1"\nroutes:\n  - name: a\n    paths:\n      - /x\n      - bad\n';
    const r = parseConfigText(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.locate('/routes/0/paths/1')).toEqual({ line: 6, column: 9 });
    expect(r.locate('/routes/0/service')).toEqual({ line: 3, column: 5 });
    expect(r.locate('/')).toEqual({ line: 1, column: 1 });
  });
});
