/** Small helpers shared by the Kong importer and exporter: loose reading of parsed YAML and name rules. */

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** YAML `~`/`null` and absent mean the same in decK files (dumps write explicit nulls for unset fields). */
export const present = (v: unknown): boolean => v !== undefined && v !== null;

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).filter((k) => present(a[k]));
    const kb = Object.keys(b).filter((k) => present(b[k]));
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

/** Turns any label into a valid Gatehouse entity name (Kong allows a few more characters, e.g. spaces in custom ids). */
export function toName(raw: string, fallback: string): string {
  const cleaned = raw
    .replace(/[^A-Za-z0-9._~-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return cleaned || fallback;
}

/** Gives `base`, or `base-2`, `base-3`… when it is taken. */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base.slice(0, 128);
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, 120)}-${i}`;
  taken.add(name);
  return name;
}

/** A `fields` reader for one Kong object: remembers what was consumed so the rest can be reported. */
export class Fields {
  private readonly used = new Set<string>();
  readonly notes: string[] = [];
  constructor(
    readonly obj: Obj,
    /** Fields that are metadata only (ids, timestamps): never reported. */
    private readonly metadata: readonly string[] = ['id', 'created_at', 'updated_at'],
  ) {}

  get(key: string): unknown {
    this.used.add(key);
    const v = this.obj[key];
    return present(v) ? v : undefined;
  }
  str(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.notes.push(`\`${key}\` is not a string; ignored`);
    return undefined;
  }
  num(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    this.notes.push(`\`${key}\` is not a number; ignored`);
    return undefined;
  }
  bool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    this.notes.push(`\`${key}\` is not a boolean; ignored`);
    return undefined;
  }
  strs(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
    if (typeof v === 'string') return [v];
    this.notes.push(`\`${key}\` is not a list; ignored`);
    return undefined;
  }
  /** Marks a field Gatehouse does not support: silent when it holds Kong's default (or nothing), else a note. */
  unsupported(key: string, kongDefault: unknown, why = 'is not supported'): void {
    const v = this.get(key);
    if (v === undefined || deepEqual(v, kongDefault)) return;
    if (Array.isArray(v) && v.length === 0) return;
    this.notes.push(`\`${key}: ${JSON.stringify(v)}\` ${why}`);
  }
  /** Reports every field nobody read (that holds a value). */
  rest(): string[] {
    for (const [k, v] of Object.entries(this.obj)) {
      if (this.used.has(k) || this.metadata.includes(k) || !present(v)) continue;
      if ((Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0)) continue;
      this.notes.push(`\`${k}\` is not supported`);
      this.used.add(k);
    }
    return this.notes;
  }
}
