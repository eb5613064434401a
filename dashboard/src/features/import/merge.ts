/**
 * What applying an import does to the current config, computed in the browser so the review dialog
 * shows the exact document PUT /config will receive:
 *
 * - merge: every imported entity is added; one whose identity (name, username, plugin name + scope)
 *   already exists replaces it, and is listed in `replaced` so the user sees what gets overwritten.
 * - replace: the imported entities are the whole config. Credentials of consumers that are still there
 *   are kept (their secrets cannot be re-created from the file).
 * - TLS certificates, in both modes: the imported ones (Kong's) are added, replacing one of the same name;
 *   the others stay, as the ones ACME obtained or someone uploaded are in no other gateway's file.
 */
import type { ConfigDocument } from '../history/types';

export type ApplyMode = 'merge' | 'replace';

type Entity = Record<string, unknown>;

const KINDS = ['services', 'routes', 'upstreams', 'consumers', 'plugins'] as const;

function list(doc: ConfigDocument, kind: string): Entity[] {
  const v = doc[kind];
  return Array.isArray(v) ? (v as Entity[]) : [];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The identity the server keys an entity by (a plugin instance: its name and scope). */
export function entityKey(kind: string, e: Entity): string {
  if (kind === 'consumers') return str(e.username);
  if (kind === 'plugins') {
    const scope = e.route ? `route:${str(e.route)}` : e.service ? `service:${str(e.service)}` : e.consumer ? `consumer:${str(e.consumer)}` : 'global';
    return `${str(e.name)}@${scope}`;
  }
  if (kind === 'credentials') return `${str(e.consumer)}/${str(e.kind)}/${str(e.key) || str(e.key_hash)}`;
  return str(e.name);
}

export interface MergeOutcome {
  document: ConfigDocument;
  /** `kind/key` of current entities an imported one overwrites (merge), or that disappear (replace). */
  replaced: string[];
  removed: string[];
}

function byKey(kind: string, items: Entity[]): Map<string, Entity> {
  return new Map(items.map((e) => [entityKey(kind, e), e]));
}

export function applyImport(current: ConfigDocument, imported: ConfigDocument, mode: ApplyMode): MergeOutcome {
  const out: ConfigDocument = { ...current, _format_version: imported._format_version ?? current._format_version };
  const replaced: string[] = [];
  const removed: string[] = [];
  for (const kind of KINDS) {
    const mine = list(current, kind);
    const theirs = list(imported, kind);
    const incoming = byKey(kind, theirs);
    if (mode === 'replace') {
      for (const e of mine) {
        const k = entityKey(kind, e);
        (incoming.has(k) ? replaced : removed).push(`${kind}/${k}`);
      }
      out[kind] = theirs;
      continue;
    }
    out[kind] = mergeKind(kind, mine, theirs, incoming, replaced);
  }
  const consumers = new Set(list(out, 'consumers').map((c) => str(c.username)));
  const importedCreds = list(imported, 'credentials');
  const incomingCreds = byKey('credentials', importedCreds);
  const keptCreds = list(current, 'credentials').filter((c) => {
    const k = entityKey('credentials', c);
    if (incomingCreds.has(k)) {
      replaced.push(`credentials/${k}`);
      return false;
    }
    if (consumers.has(str(c.consumer))) return true;
    removed.push(`credentials/${k}`);
    return false;
  });
  const creds = [...keptCreds, ...importedCreds];
  if (creds.length || current.credentials !== undefined) out.credentials = creds;
  const importedCerts = list(imported, 'certificates');
  if (importedCerts.length) out.certificates = mergeKind('certificates', list(current, 'certificates'), importedCerts, byKey('certificates', importedCerts), replaced);
  return { document: out, replaced, removed };
}

/** `mine` without what `theirs` replaces (recorded in `replaced`), then `theirs`. */
function mergeKind(kind: string, mine: Entity[], theirs: Entity[], incoming: Map<string, Entity>, replaced: string[]): Entity[] {
  const kept = mine.filter((e) => {
    const k = entityKey(kind, e);
    if (!incoming.has(k)) return true;
    replaced.push(`${kind}/${k}`);
    return false;
  });
  return [...kept, ...theirs];
}
