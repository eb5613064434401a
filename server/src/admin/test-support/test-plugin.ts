/**
 * A real plugin definition used by the admin tests to exercise plugin validation independently of which
 * built-in plugins exist: it adds a configured header to responses.
 */
import { Type } from '@sinclair/typebox';
import { definePlugin } from '../../plugins/types.js';

export const stampPlugin = definePlugin({
  name: 'test-stamp',
  description: 'Adds a fixed response header (admin API tests).',
  scopes: ['global', 'service', 'route'],
  schema: Type.Object(
    {
      header: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9-]+$', description: 'Header name.' }),
      value: Type.String({ default: 'stamped', description: 'Header value.' }),
    },
    { additionalProperties: false },
  ),
  create: function createStamp(config) {
    return {
      response(ctx) {
        ctx.setResponseHeader(config.header, config.value);
      },
    };
  },
});
