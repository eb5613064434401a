/**
 * Loading the schemas forms are generated from: an entity kind's schema (GET /schemas/:kind) and, for
 * plugin instances, the plugins the gateway has (GET /plugins-available) whose own config schema
 * replaces the instance's free-form `config`, so a plugin's settings get real fields and the server's
 * `/config/...` error pointers land on them.
 */
import type { JsonSchema } from '../../components/schema-form/json-schema';
import type { ApiClient } from '../../lib/api-client';
import type { EntityKind } from './kinds';

export interface AvailablePlugin {
  name: string;
  description: string;
  scopes: ('global' | 'service' | 'route' | 'consumer')[];
  schema: JsonSchema;
}

export interface KindSchemas {
  entity: JsonSchema;
  /** Only for plugins. */
  plugins?: AvailablePlugin[];
}

export async function loadSchemas(api: ApiClient, kind: EntityKind, signal?: AbortSignal): Promise<KindSchemas> {
  if (kind !== 'plugins') return { entity: await api.get<JsonSchema>(`/schemas/${kind}`, { signal }) };
  const [entity, available] = await Promise.all([
    api.get<JsonSchema>('/schemas/plugins', { signal }),
    api.get<{ data: AvailablePlugin[] }>('/plugins-available', { signal }),
  ]);
  return { entity, plugins: available.data };
}

const SCOPE_FIELDS = ['service', 'route', 'consumer'] as const;

/**
 * The plugin instance schema with `name` limited to the available plugins and `config` replaced by the
 * chosen plugin's schema. Scope fields the plugin does not support are hidden.
 */
export function pluginInstanceSchema(entity: JsonSchema, plugins: AvailablePlugin[], chosen: string | undefined): { schema: JsonSchema; hidden: string[] } {
  const props = entity.properties ?? {};
  const plugin = plugins.find((p) => p.name === chosen);
  const nameSchema: JsonSchema = {
    ...props.name,
    enum: plugins.map((p) => p.name),
    description: plugin ? plugin.description : 'Which plugin to apply; its settings appear once one is chosen.',
  };
  delete nameSchema.pattern;
  const schema: JsonSchema = {
    ...entity,
    properties: { ...props, name: nameSchema, config: plugin ? { ...plugin.schema, description: `Settings of ${plugin.name}.` } : { type: 'object', description: 'Choose a plugin first.' } },
  };
  const hidden = ['id', ...SCOPE_FIELDS.filter((s) => plugin && !plugin.scopes.includes(s))];
  if (!plugin) hidden.push('config');
  return { schema, hidden };
}
