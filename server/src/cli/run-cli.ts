/**
 * The `gatehouse` commands that work with declarative config files: validate (offline), diff, apply and
 * export (against a running gateway's admin API). Returns an exit code instead of exiting, so tests and
 * the entry point share it.
 *
 * Exit codes: 0 success (diff: no changes) · 1 the config is invalid (locally or per the server) ·
 * 2 usage error or unreadable file · 3 diff found changes · 4 the admin API failed or is unreachable.
 */
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkDocument } from '../config/check.js';
import { MAX_CONFIG_BYTES, parseConfigText, type ConfigIssue } from '../config/config-file.js';
import { diffDocuments, DiffInputError, formatDiff, isEmptyDiff } from '../config/diff.js';
import type { ConfigDocument } from '../config/schema.js';
import { PLUGINS } from '../plugins/index.js';
import { AdminApiError, AdminUnreachableError, createAdminClient, type AdminClient } from './admin-client.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export const EXIT = { ok: 0, invalid: 1, usage: 2, changes: 3, admin: 4 } as const;

const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8001';

const USAGE = `Usage: gatehouse <command> [options]

Commands:
  start                       Run a gateway node (configured by environment variables).
  validate <file>             Check a YAML/JSON config file offline; prints every problem.
  diff <file>                 Show what applying <file> would change on the running gateway.
  apply <file>                Replace the running configuration with <file>.
      --dry-run                 Only show the changes the server would make.
      -m, --message <text>      Note recorded with the new config version.
  export                      Print the running configuration.
      --format yaml|json        Output format (default yaml).
      -o, --output <file>       Write to a file instead of stdout.
  help                        Show this text.

Options of diff, apply and export:
  --admin-url <url>           Admin API base URL (env GATEHOUSE_ADMIN_URL, default ${DEFAULT_ADMIN_URL}).
  --token <token>             Admin bearer token (env GATEHOUSE_ADMIN_TOKEN).

Exit codes: 0 ok / no changes, 1 invalid config, 2 usage or unreadable file,
            3 diff found changes, 4 admin API error or unreachable.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;
const ADMIN_OPTIONS: Options = { 'admin-url': { type: 'string' }, token: { type: 'string' } };

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'diff':
        return await diffCommand(rest, io);
      case 'apply':
        return await applyCommand(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return EXIT.ok;
      case undefined:
        io.stderr(USAGE);
        return EXIT.usage;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    return reportError(e, io);
  }
}

function reportError(e: unknown, io: CliIo): number {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    io.stderr(`error: ${(e as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (e instanceof AdminUnreachableError) {
    io.stderr(`error: ${e.message}\n`);
    return EXIT.admin;
  }
  if (e instanceof AdminApiError) {
    io.stderr(formatAdminError(e));
    const code = e.problem?.code;
    return code === 'GW_ERR_CONFIG_INVALID' || code === 'GW_ERR_ADMIN_VALIDATION' ? EXIT.invalid : EXIT.admin;
  }
  if (e instanceof DiffInputError) {
    io.stderr(`error: the running configuration is not a valid document: ${e.message}\n`);
    return EXIT.admin;
  }
  throw e;
}

/** `error: 401 Authentication required (GW_ERR_ADMIN_UNAUTHORIZED): detail` then one line per `errors[]` entry. */
export function formatAdminError(e: AdminApiError, file?: string, locate?: (p: string) => { line: number; column: number } | undefined): string {
  const p = e.problem;
  if (!p) return `error: the admin API answered ${e.status}: ${e.bodyText.slice(0, 300).trim() || '(empty body)'}\n`;
  let out = `error: ${e.status} ${p.title ?? 'error'}${p.code ? ` (${p.code})` : ''}`;
  // The server's detail often just joins errors[]; listing them one per line below is enough then.
  const joined = (p.errors ?? []).map((i) => `${i.path}: ${i.message}`).join('; ');
  if (p.detail && p.detail !== p.title && p.detail !== joined) out += `: ${p.detail}`;
  out += '\n';
  for (const issue of p.errors ?? []) out += `  ${formatIssue(file, issue, locate)}\n`;
  if (e.status === 401) out += '  hint: pass --token or set GATEHOUSE_ADMIN_TOKEN\n';
  return out;
}

function formatIssue(file: string | undefined, issue: ConfigIssue, locate?: (p: string) => { line: number; column: number } | undefined): string {
  const pos = issue.line !== undefined ? { line: issue.line, column: issue.column ?? 1 } : locate?.(issue.path);
  const where = pos ? ` (line ${pos.line}, column ${pos.column})` : '';
  return `${file ? `${file}: ` : ''}${issue.path}: ${issue.message}${where}`;
}

function parse(args: string[], options: Options, positionals: number, what: string) {
  const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(positionals ? `${what} needs exactly one file argument` : `${what} takes no file argument`);
  }
  return parsed;
}

type LoadedFile =
  | { ok: true; raw: unknown; document: ConfigDocument; locate: (p: string) => { line: number; column: number } | undefined }
  | { ok: false; code: number };

/** Reads, parses and checks a config file, printing every problem as `file: /pointer: message`. */
async function loadFile(file: string, io: CliIo, report: (s: string) => void): Promise<LoadedFile> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_CONFIG_BYTES) {
      report(`${file}: /: the file is ${info.size} bytes; the limit is ${MAX_CONFIG_BYTES}\n`);
      return { ok: false, code: EXIT.invalid };
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    io.stderr(`error: cannot read ${file}: ${(e as Error).message}\n`);
    return { ok: false, code: EXIT.usage };
  }
  const parsed = parseConfigText(text, extname(file).toLowerCase() === '.json' ? 'json' : 'yaml');
  if (!parsed.ok) {
    for (const issue of parsed.issues) report(`${formatIssue(file, issue)}\n`);
    return { ok: false, code: EXIT.invalid };
  }
  const checked = checkDocument(parsed.value, PLUGINS);
  if (!checked.ok) {
    for (const issue of checked.issues) report(`${formatIssue(file, issue, parsed.locate)}\n`);
    report(`${file}: ${checked.issues.length} problem${checked.issues.length === 1 ? '' : 's'}\n`);
    return { ok: false, code: EXIT.invalid };
  }
  return { ok: true, raw: parsed.value, document: checked.document, locate: parsed.locate };
}

async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parse(args, {}, 1, 'validate');
  const file = positionals[0]!;
  const loaded = await loadFile(file, io, io.stdout);
  if (!loaded.ok) return loaded.code;
  const d = loaded.document;
  io.stdout(
    `${file}: valid (${d.services.length} services, ${d.routes.length} routes, ${d.upstreams.length} upstreams, ` +
      `${d.consumers.length} consumers, ${d.plugins.length} plugins)\n`,
  );
  return EXIT.ok;
}

function adminClient(values: Record<string, unknown>, io: CliIo): AdminClient {
  const baseUrl = (values['admin-url'] as string | undefined) ?? io.env.GATEHOUSE_ADMIN_URL ?? DEFAULT_ADMIN_URL;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`--admin-url '${baseUrl}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--admin-url must be http(s), got '${url.protocol}'`);
  const token = (values.token as string | undefined) ?? io.env.GATEHOUSE_ADMIN_TOKEN;
  return createAdminClient({ baseUrl, ...(token ? { token } : {}) });
}

async function diffCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, ADMIN_OPTIONS, 1, 'diff');
  const client = adminClient(values, io);
  const loaded = await loadFile(positionals[0]!, io, io.stderr);
  if (!loaded.ok) return loaded.code;
  const current = await client.currentDocument();
  const diff = diffDocuments(current, loaded.document);
  io.stdout(formatDiff(diff));
  return isEmptyDiff(diff) ? EXIT.ok : EXIT.changes;
}

async function applyCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...ADMIN_OPTIONS, 'dry-run': { type: 'boolean' }, message: { type: 'string', short: 'm' } },
    1,
    'apply',
  );
  const client = adminClient(values, io);
  const file = positionals[0]!;
  const loaded = await loadFile(file, io, io.stderr);
  if (!loaded.ok) return loaded.code;
  const dryRun = values['dry-run'] === true;
  const message = values.message as string | undefined;
  let result;
  try {
    // The file's own value, not the checked copy: the server fills defaults with its own plugin versions.
    result = await client.applyConfig(loaded.raw, { dryRun, ...(message !== undefined ? { message } : {}) });
  } catch (e) {
    if (e instanceof AdminApiError) {
      io.stderr(formatAdminError(e, file, loaded.locate));
      const code = e.problem?.code;
      return code === 'GW_ERR_CONFIG_INVALID' || code === 'GW_ERR_ADMIN_VALIDATION' ? EXIT.invalid : EXIT.admin;
    }
    throw e;
  }
  if (result.diff) io.stdout(formatDiff(result.diff));
  if (dryRun) io.stdout('Dry run: nothing was applied.\n');
  else if (result.changed === false) io.stdout(`No changes; the configuration stays at version ${result.version ?? '?'}.\n`);
  else io.stdout(`Applied: configuration version ${result.version ?? '?'}.\n`);
  return EXIT.ok;
}

async function exportCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(
    args,
    { ...ADMIN_OPTIONS, format: { type: 'string' }, output: { type: 'string', short: 'o' } },
    0,
    'export',
  );
  const format = (values.format as string | undefined) ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new UsageError(`--format must be yaml or json, got '${format}'`);
  const client = adminClient(values, io);
  const text = await client.exportConfig(format);
  const output = values.output as string | undefined;
  if (!output) {
    io.stdout(text);
    return EXIT.ok;
  }
  // Write beside the target and rename, so an interrupted export never leaves half a config file.
  const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, output);
  } catch (e) {
    await rm(tmp, { force: true });
    io.stderr(`error: cannot write ${output}: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  io.stderr(`Wrote ${Buffer.byteLength(text)} bytes to ${output}.\n`);
  return EXIT.ok;
}
