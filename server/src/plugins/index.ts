/**
 * The explicit list of built-in plugins. Adding a plugin: create its folder, add it here, and give it a
 * place in order.ts.
 */
import type { PluginDefinition } from './types.js';
import requestTermination from './request-termination/plugin.js';
import responseHeaders from './response-headers/plugin.js';

const BUILT_IN: PluginDefinition[] = [requestTermination, responseHeaders];

export const PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map(BUILT_IN.map((p) => [p.name, p]));
