#!/usr/bin/env node
/**
 * `gatehouse` command: `start` runs a gateway node; `validate`, `diff`, `apply` and `export` work with
 * declarative config files (see `gatehouse help`).
 */
import { runCli } from './cli/run-cli.js';

const [command] = process.argv.slice(2);
if (command === 'start') {
  const { main } = await import('./main.js');
  await main();
} else {
  const code = await runCli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
  });
  process.exitCode = code;
}
