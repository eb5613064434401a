/**
 * Reading and writing declarative configuration files (YAML or JSON): parsing with positions for
 * error messages and resource limits, and a lossless serialisation in the schema's field order.
 */
import { Document, isCollection, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { ConfigDocumentSchema, type ConfigDocument } from './schema.js';
import type { ValidationIssue } from './validate.js';

export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;
/** A real configuration has no use for many aliases; a "billion laughs" file has thousands. */
export const MAX_ALIAS_COUNT = 100;

/** A problem in a config file; syntax errors carry their 1-based position in the text. */
export interface ConfigIssue extends ValidationIssue {
  line?: number;
  column?: number;
}

export type ParsedConfig =
  | {
      ok: true;
      value: unknown;
      /** Position of the node a JSON Pointer names (or of its nearest existing ancestor), for messages. */
      locate: (pointer: string) => { line: number; column: number } | undefined;
    }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Parses YAML or JSON text (YAML 1.2 is a superset of JSON, so one parser serves both; the hint only
 * labels messages). Reports every syntax error with its line and column; never throws.
 */
export function parseConfigText(text: string, formatHint?: 'yaml' | 'json'): ParsedConfig {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    return { ok: false, issues: [{ path: '/', message: `the file is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES}` }] };
  }
  const lineCounter = new LineCounter();
  // prettyErrors off: the CLI prints its own `file:line:col:` prefix, the source snippet would be noise.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false });
  const kind = formatHint === 'json' ? 'JSON' : 'YAML';
  if (doc.errors.length) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: '/', line: pos.line, column: pos.col, message: `${kind} syntax error: ${e.message}` };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // toJS throws only on alias exhaustion (and cyclic aliases), both signs of a hostile file.
    return { ok: false, issues: [{ path: '/', message: `${kind} rejected: ${(e as Error).message}` }] };
  }
  return {
    ok: true,
    value,
    locate: function locate(pointer) {
      const node = nodeAt(doc.contents, pointerTokens(pointer));
      if (!node?.range) return undefined;
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    },
  };
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Walks a pointer through the YAML tree, stopping at the deepest node that exists. */
function nodeAt(root: unknown, tokens: string[]): YamlNode | undefined {
  let node = root as YamlNode | null;
  for (const token of tokens) {
    if (!isCollection(node)) break;
    // A sequence accepts the index as a numeric string; a map matches the scalar key.
    const child = node.get(token, true) as YamlNode | undefined;
    if (!child) break;
    node = child;
  }
  return node ?? undefined;
}

/**
 * Writes a document as YAML or JSON. Lossless and explicit: every field present in `doc` is written
 * (defaults included), in the schema's property order, so `parseConfigText(serializeConfig(d))`
 * yields `d` again and two exports of the same config are byte-identical.
 */
export function serializeConfig(doc: ConfigDocument, format: 'yaml' | 'json'): string {
  const ordered = orderLike(ConfigDocumentSchema, doc);
  if (format === 'json') return `${JSON.stringify(ordered, null, 2)}\n`;
  const out = new Document(ordered, { aliasDuplicateObjects: false, version: '1.2' });
  // lineWidth 0: long regexes and URLs stay on one line, readable and greppable.
  return out.toString({ lineWidth: 0, minContentWidth: 0 });
}

/** Copies a JSON value with object keys in the order the schema declares them; unknown keys keep theirs. */
function orderLike(schema: TSchema | undefined, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = schema?.type === 'array' ? (schema.items as TSchema | undefined) : undefined;
    return value.map((v) => orderLike(items, v));
  }
  if (typeof value !== 'object' || value === null) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const props = schema?.type === 'object' ? (schema.properties as Record<string, TSchema> | undefined) : undefined;
  const valueSchema =
    schema?.type === 'object' && schema.patternProperties ? (Object.values(schema.patternProperties)[0] as TSchema) : undefined;
  for (const k of Object.keys(props ?? {})) if (src[k] !== undefined) out[k] = orderLike(props?.[k], src[k]);
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined || (props && k in props)) continue;
    out[k] = orderLike(valueSchema, v);
  }
  return out;
}
