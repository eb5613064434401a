/**
 * Helpers for the store specs: a small plugin catalogue (the built-in registry may still be empty while
 * plugins are written), throwaway PostgreSQL databases, and sample documents.
 */
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { FORMAT_VERSION, type ConfigDocument } from '../config/schema.js';
import { definePlugin, type PluginDefinition } from '../plugins/types.js';

const headerStamp = definePlugin({
  name: 'header-stamp',
  description: 'Adds one response header (store tests only).',
  schema: Type.Object(
    {
      header: Type.String({ minLength: 1, description: 'Header name.' }),
      value: Type.String({ default: 'on', description: 'Header value.' }),
    },
    { additionalProperties: false },
  ),
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createHeaderStamp(config) {
    return {
      response(ctx) {
        ctx.setResponseHeader(config.header, config.value);
      },
    };
  },
});

export const TEST_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map([[headerStamp.name, headerStamp as unknown as PluginDefinition]]);

export const PG_ENABLED = process.env.GATEHOUSE_TEST_PG !== '0';
export const PG_ADMIN_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgresql://gatehouse:gatehouse@127.0.0.1:5432/gatehouse';

/**
 * Creates an empty database for one test file; `drop()` removes it (terminating leftover sessions).
 * `ownRole`: the database belongs to a new role without superuser rights, which the URL logs in as.
 */
export async function createThrowawayDatabase(purpose: string, opts: { ownRole?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gh_${purpose}_${randomBytes(5).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    if (opts.ownRole) await admin.query(`CREATE ROLE ${name} LOGIN NOSUPERUSER PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE ${name}${opts.ownRole ? ` OWNER ${name}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  if (opts.ownRole) {
    url.username = name;
    url.password = password;
  }
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        if (opts.ownRole) await c.query(`DROP ROLE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A small valid document as a person would write it (defaults omitted, so stores must fill them). */
export function sampleDocument(): ConfigDocument {
  const doc = {
    _format_version: FORMAT_VERSION,
    services: [{ name: 'orders', url: 'http://orders.internal:8080/v1' }],
    routes: [{ name: 'orders-api', service: 'orders', paths: ['/orders'], headers: { 'x-version': ['2'] } }],
    upstreams: [
      {
        name: 'orders-pool',
        targets: [
          { target: '10.0.0.2:8080', weight: 50 },
          { target: '10.0.0.1:8080', weight: 100 },
        ],
      },
    ],
    consumers: [{ username: 'alice', groups: ['staff'] }],
    plugins: [
      { name: 'header-stamp', route: 'orders-api', config: { header: 'x-stamp' } },
      { name: 'header-stamp', config: { header: 'x-global', value: 'yes' } },
    ],
  };
  return doc as unknown as ConfigDocument;
}
