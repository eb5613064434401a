/** What the CLI specs share: running a command with its output captured, and a real admin API to run it against. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness } from '../admin/test-support/admin-harness.js';
import { runCli } from './run-cli.js';

/** Runs `gatehouse <argv>` in process and returns its exit code and everything it printed. */
export async function runCliCaptured(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}

export interface CliAgainstAdmin {
  /** The in-process admin app (PGlite store), listening on loopback. */
  h: Harness;
  /** Points the CLI at that app with the admin token. */
  env: NodeJS.ProcessEnv;
  /** A scratch folder for the files a spec writes; removed after the file. */
  dir: string;
  /** Runs the CLI, against the app unless `env` says otherwise. */
  cli(argv: string[], env?: NodeJS.ProcessEnv): ReturnType<typeof runCliCaptured>;
}

/** Registers the spec file's beforeAll/afterAll: the fields are set once beforeAll has run. */
export function cliAgainstAdmin(tmpPrefix: string): CliAgainstAdmin {
  const t = {
    cli: (argv: string[], env?: NodeJS.ProcessEnv) => runCliCaptured(argv, env ?? t.env),
  } as CliAgainstAdmin;
  beforeAll(async () => {
    t.h = await createHarness();
    await t.h.app.listen('127.0.0.1', 0);
    t.env = { GATEHOUSE_ADMIN_URL: t.h.app.url(), GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN };
    t.dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  });
  afterAll(async () => {
    await t.h?.close();
    if (t.dir) await rm(t.dir, { recursive: true, force: true });
  });
  return t;
}
