// Prints or checks migration SQL offline with Prisma 6.19's WebAssembly schema engine (see prisma6.config.ts).
//   node prisma/migration-sql.mjs diff  [migrationsDir]  SQL that brings the migrations up to schema.prisma (the next migration)
//   node prisma/migration-sql.mjs check [migrationsDir]  exit 0 when the migrations produce exactly schema.prisma, 2 when not
// Prisma 6 wants a datasource url in the schema while Prisma 7 forbids one, so a copy with a dummy url is diffed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [mode, dirArg] = process.argv.slice(2);
if (mode !== 'diff' && mode !== 'check') {
  console.error('usage: node prisma/migration-sql.mjs diff|check [migrationsDir]');
  process.exit(64);
}
const migrations = resolve(dirArg ?? join(here, 'migrations'));
const require = createRequire(join(here, '..', 'server', 'package.json'));
const cli = join(dirname(require.resolve('prisma6/package.json')), 'build', 'index.js');

const tmp = mkdtempSync(join(tmpdir(), 'gh-prisma6-'));
try {
  const schema = readFileSync(join(here, 'schema.prisma'), 'utf8').replace(
    /datasource db \{([^}]*)\}/,
    (_m, body) => `datasource db {${body}  url = "postgresql://unused"\n}`,
  );
  const schemaCopy = join(tmp, 'schema.prisma');
  writeFileSync(schemaCopy, schema);
  const args = [cli, 'migrate', 'diff', '--config', join(here, 'prisma6.config.ts'), '--from-migrations', migrations, '--to-schema-datamodel', schemaCopy];
  args.push(mode === 'diff' ? '--script' : '--exit-code');
  const result = spawnSync(process.execPath, args, {
    cwd: here,
    stdio: 'inherit',
    env: {
      ...process.env,
      // Any existing file satisfies the CLI's engine lookups; the WebAssembly engine does the work.
      PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
      PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
  if (result.error) throw result.error;
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
