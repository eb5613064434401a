/** What the CLI specs share: running a command with its output captured. */
import { runCli } from './run-cli.js';

/** Runs `gatehouse <argv>` in process and returns its exit code and everything it printed. */
export async function runCliCaptured(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}
