/**
 * Prometheus text exposition format 0.0.4, rendered from plain metric families: the resilience and traffic
 * families, whose values the admin plane reads from the proxy thread's view on each scrape. The request,
 * config and process metrics are prom-client registries (observability/request-metrics.ts,
 * admin/resilience/admin-metrics.ts); `GET /metrics` joins the three texts.
 *
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values may hold anything (names come from user config): backslash, quote and newline are escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text escapes backslash and newline only (quotes are literal there). */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelSet(labels: Labels | undefined, metric: string): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  const parts: string[] = [];
  for (const k of keys) {
    // Names are chosen by code, not by users: a bad one is a bug, better loud than a broken scrape.
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid label name '${k}' on ${metric}`);
    parts.push(`${k}="${escapeLabelValue(labels[k]!)}"`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Renders families in the order given. Families without samples still get their HELP/TYPE lines, so a
 * scraper sees the metric exists before its first label set appears.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  let out = '';
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name '${f.name}'`);
    if (seen.has(f.name)) throw new Error(`metric '${f.name}' rendered twice`);
    seen.add(f.name);
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) out += `${f.name}${labelSet(s.labels, f.name)} ${formatValue(s.value)}\n`;
  }
  return out;
}
