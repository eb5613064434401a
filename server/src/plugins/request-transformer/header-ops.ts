/**
 * Header edits as both transformers run them: compiled once per instance from the `remove`, `rename`,
 * `replace`, `add` and `append` maps, with values parsed as templates. Each transformer passes its own check
 * of which header names it may touch (the request side guards the headers the proxy composes, the response
 * side the ones that frame the body).
 */
import { Template } from './template.js';

/** Header ops as flat lists; names lower case. */
export interface HeaderOps {
  readonly remove: readonly string[];
  /** [from, to, …] */
  readonly rename: readonly string[];
  readonly replace: readonly (string | Template)[];
  readonly add: readonly (string | Template)[];
  readonly append: readonly (string | Template)[];
}

type Edits<T> = { readonly headers: T };

/** The part of a transformer's config that edits headers. */
export interface HeaderEdits {
  readonly remove: Edits<readonly string[]>;
  readonly rename: Edits<Readonly<Record<string, string>>>;
  readonly replace: Edits<Readonly<Record<string, string>>>;
  readonly add: Edits<Readonly<Record<string, string>>>;
  readonly append: Edits<Readonly<Record<string, string>>>;
}

/** Returns the lower-case name, or throws when the transformer may not edit that header. */
export type HeaderNameCheck = (name: string, where: string) => string;

/** `[name, template, …]` from a name → value map; `name` maps (and checks) each key. */
export function templateList(rec: Readonly<Record<string, string>>, where: string, name: (n: string) => string): (string | Template)[] {
  const out: (string | Template)[] = [];
  for (const [k, v] of Object.entries(rec)) {
    const n = name(k);
    try {
      out.push(n, Template.parse(v));
    } catch (err) {
      throw new Error(`${where}.${k}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

/** Undefined when the config edits no header. */
export function compileHeaderOps(c: HeaderEdits, check: HeaderNameCheck): HeaderOps | undefined {
  const named = (where: string) => (n: string) => check(n, where);
  const rename: string[] = [];
  for (const [from, to] of Object.entries(c.rename.headers)) rename.push(check(from, 'rename.headers'), check(to, 'rename.headers'));
  const ops: HeaderOps = {
    remove: c.remove.headers.map(named('remove.headers')),
    rename,
    replace: templateList(c.replace.headers, 'replace.headers', named('replace.headers')),
    add: templateList(c.add.headers, 'add.headers', named('add.headers')),
    append: templateList(c.append.headers, 'append.headers', named('append.headers')),
  };
  return ops.remove.length + ops.rename.length + ops.replace.length + ops.add.length + ops.append.length === 0 ? undefined : ops;
}
