/**
 * Plugin execution order within each phase, in one place, with the reason for each position
 * (Kong spreads magic priority numbers over every handler; here the whole order reads top to bottom).
 * A plugin missing from this list cannot be registered (index.ts checks it at start).
 */
export const PLUGIN_ORDER: readonly { name: string; why: string }[] = [
  { name: 'request-termination', why: 'answers without touching anything else; runs before auth so a maintenance window needs no credentials' },
  { name: 'response-headers', why: 'only adds headers to the response; order-independent, last so it can override upstream headers' },
];

export const PLUGIN_RANK: ReadonlyMap<string, number> = new Map(PLUGIN_ORDER.map((p, i) => [p.name, i]));
