// Prisma 6.19 CLI configuration, used only by migration-sql.mjs to print and check migration SQL offline:
// its WebAssembly schema engine (engine "js" with a driver adapter) runs where Prisma 7's Rust schema
// engine cannot be downloaded. The databases behind the adapter are in-memory PGlite instances.
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { defineConfig } from 'prisma6/config';

interface RawQuery {
  sql: string;
  args: unknown[];
}
interface PGliteBacked {
  client: PGlite;
  executeRaw(q: RawQuery): Promise<number>;
  executeScript(script: string): Promise<void>;
}

/**
 * The schema engine applies each migration file as one argument-less statement, which PGlite's
 * prepared-statement path rejects when the file holds several commands; its simple-query `exec` does not.
 */
function withScripts<T extends object>(adapter: T): T {
  const backed = adapter as unknown as PGliteBacked;
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      if (prop === 'executeRaw') {
        return async function executeRawOrScript(q: RawQuery): Promise<number> {
          if (q.args.length > 0) return backed.executeRaw(q);
          const results = await backed.client.exec(q.sql);
          return results.reduce((n, r) => n + (r.affectedRows ?? 0), 0);
        };
      }
      if (prop === 'executeScript') {
        return async function executeScript(script: string): Promise<void> {
          await backed.client.exec(script);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

class ScriptablePGlite extends PrismaPGlite {
  override async connect() {
    return withScripts(await super.connect());
  }
  override async connectToShadowDb() {
    return withScripts(await super.connectToShadowDb());
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  adapter: async function pgliteAdapter() {
    return new ScriptablePGlite(new PGlite());
  },
});
