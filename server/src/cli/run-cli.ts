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
import { affectedRoutes, formatAffectedRoutes } from '../config/affected-routes.js';
import { analyzeRoutes } from '../config/route-analysis.js';
import { maskDiffSecrets, redactSecrets, resolveSecretRefs } from '../config/secret-refs.js';
import { serializeConfig } from '../config/config-file.js';
import { ConfigDocumentSchema } from '../config/schema.js';
import { validate } from '../config/validate.js';
import { AdminApiError, AdminUnreachableError, createAdminClient, type AdminClient } from './admin-client.js';
import { IMPORTERS } from '../importers/index.js';
import { ImportInputError, type ImportReportEntry } from '../importers/types.js';
import { createKongImporter } from '../importers/kong/importer.js';
import { exportToKong } from '../importers/kong/exporter.js';
import { parseSecretKey } from '../auth/secrets.js';

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
      --strict                  Treat warnings (shadowed or conflicting routes) as errors.
  diff <file>                 Show what applying <file> would change on the running gateway.
  apply <file>                Replace the running configuration with <file>.
      --dry-run                 Only show the changes the server would make.
      -m, --message <text>      Note recorded with the new config version.
  export                      Print the running configuration.
      --format yaml|json|deck   Output format (default yaml); deck: Kong decK 3.0 YAML, with a
                                report on stderr of what Kong cannot express.
      -o, --output <file>       Write to a file instead of stdout.
      --include-secrets         Write plugin secrets in clear instead of {env://…} references.
  history                     List configuration versions (newest first).
      --limit <n>, --offset <n> Page through the history (default 20 from the newest).
  rollback <version>          Make <version>'s configuration current again (as a new version).
      -m, --message <text>      Note recorded with the rollback.
  import <format> <file>      Convert another gateway's config (format: ${[...IMPORTERS.keys()].join(', ')}) into a
                              Gatehouse document; prints what was mapped, approximated or not
                              mapped on stderr, and checks the result (exit 1 when invalid).
      --format yaml|json        Output format (default yaml).
      -o, --output <file>       Write to a file instead of stdout.
      --report text|json        Report format on stderr (default text).
  help                        Show this text.

Options of diff, apply, export, history and rollback:
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
      case 'import':
        return await importCommand(rest, io);
      case 'history':
        return await historyCommand(rest, io);
      case 'rollback':
        return await rollbackCommand(rest, io);
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
  // Secret references are resolved here, from this shell's environment and files beside the config file:
  // the server never resolves references sent to its API (config/secret-refs.ts says why).
  const refs = await resolveSecretRefs(parsed.value, { env: io.env, baseDir: dirname(file) });
  const value = refs.ok ? refs.value : parsed.value;
  const checked = checkDocument(value, PLUGINS);
  // An unresolved reference would also fail its field's own format: one line per field is enough.
  const unresolved = new Set(refs.ok ? [] : refs.issues.map((i) => i.path));
  const issues = [...(refs.ok ? [] : refs.issues), ...(checked.ok ? [] : checked.issues.filter((i) => !unresolved.has(i.path)))];
  if (!checked.ok || issues.length) {
    for (const issue of issues) report(`${formatIssue(file, issue, parsed.locate)}\n`);
    report(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n`);
    return { ok: false, code: EXIT.invalid };
  }
  return { ok: true, raw: value, document: checked.document, locate: parsed.locate };
}

async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parse(args, { strict: { type: 'boolean' } }, 1, 'validate');
  const file = positionals[0]!;
  const loaded = await loadFile(file, io, io.stdout);
  if (!loaded.ok) return loaded.code;
  const d = loaded.document;
  const strict = values.strict === true;
  const warnings = analyzeRoutes(d);
  for (const w of warnings) io.stdout(`${formatIssue(file, { path: w.path, message: `${strict ? 'error' : 'warning'}: ${w.message}` }, loaded.locate)}\n`);
  if (strict && warnings.length) {
    io.stdout(`${file}: ${warnings.length} problem${warnings.length === 1 ? '' : 's'} (warnings are errors with --strict)\n`);
    return EXIT.invalid;
  }
  if (warnings.length) io.stdout(`${file}: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}\n`);
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
  io.stdout(formatDiff(maskDiffSecrets(diff)));
  io.stdout(affectedText(current, loaded.document));
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
  if (result.diff) io.stdout(formatDiff(maskDiffSecrets(result.diff)));
  // Only a dry run shows the affected routes, so only it pays for reading the running config.
  if (dryRun) io.stdout(affectedText(await client.currentDocument(), loaded.document));
  if (dryRun) io.stdout('Dry run: nothing was applied.\n');
  else if (result.changed === false) io.stdout(`No changes; the configuration stays at version ${result.version ?? '?'}.\n`);
  else io.stdout(`Applied: configuration version ${result.version ?? '?'}.\n`);
  return EXIT.ok;
}

async function exportCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(
    args,
    { ...ADMIN_OPTIONS, format: { type: 'string' }, output: { type: 'string', short: 'o' }, 'include-secrets': { type: 'boolean' } },
    0,
    'export',
  );
  const format = (values.format as string | undefined) ?? 'yaml';
  if (format !== 'yaml' && format !== 'json' && format !== 'deck') throw new UsageError(`--format must be yaml, json or deck, got '${format}'`);
  const client = adminClient(values, io);
  const text = format === 'deck' ? await deckExport(client, values['include-secrets'] === true, io) : redactExport(await client.exportConfig(format), format, values['include-secrets'] === true, io);
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

/** The affected-routes block printed after an entity diff; '' when no existing route changes. */
function affectedText(current: ConfigDocument, next: ConfigDocument): string {
  // Plugin defaults filled on both sides, so a default the server wrote out is no change; a running config
  // this CLI cannot read (a plugin it does not know) still gets the schema's defaults.
  const checked = checkDocument(current, PLUGINS);
  const before = checked.ok ? { ok: true as const, value: checked.document } : validate(ConfigDocumentSchema, current);
  if (!before.ok) return '';
  return formatAffectedRoutes(affectedRoutes(before.value, next));
}

/**
 * Export without clear secrets (unless asked): plugin and probe-header values under secret-looking names
 * become `{env://…}` references (config/secret-refs.ts redactSecrets), listed on stderr so the operator
 * knows which variables re-applying the file needs. Credentials are hashed or encrypted by the store and
 * are exported as they are. The server's bytes are kept when there is nothing to replace.
 */
function redactExport(text: string, format: 'yaml' | 'json', includeSecrets: boolean, io: CliIo): string {
  if (includeSecrets) return text;
  const parsed = parseConfigText(text, format);
  if (!parsed.ok) return text;
  const { document, redacted } = redactSecrets(parsed.value as ConfigDocument);
  if (redacted.length === 0) return text;
  io.stderr(`Replaced ${redacted.length} secret value${redacted.length === 1 ? '' : 's'} by environment references (--include-secrets writes them in clear):\n`);
  for (const r of redacted) io.stderr(`  ${r.path} → {env://${r.env}}\n`);
  return serializeConfig(document, format);
}

function positiveInt(v: unknown, what: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^\d{1,9}$/.test(s) || Number(s) < min) throw new UsageError(`${what} must be an integer ≥ ${min}, got '${s}'`);
  return Number(s);
}

const HISTORY_DEFAULT_LIMIT = 20;

async function historyCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { ...ADMIN_OPTIONS, limit: { type: 'string' }, offset: { type: 'string' } }, 0, 'history');
  const limit = positiveInt(values.limit, '--limit', 1) ?? HISTORY_DEFAULT_LIMIT;
  const offset = positiveInt(values.offset, '--offset', 0) ?? 0;
  const client = adminClient(values, io);
  const page = await client.versions({ offset, limit });
  // Counts are not part of the version list; one read per listed version (a page is small) gives them.
  const docs = await Promise.all(page.data.map((v) => client.version(v.version).then((x) => x.document)));
  const rows = page.data.map((v, i) => {
    const d = docs[i]!;
    const counts = `${d.services?.length ?? 0}/${d.routes?.length ?? 0}/${d.upstreams?.length ?? 0}/${d.consumers?.length ?? 0}/${d.plugins?.length ?? 0}`;
    return [String(v.version), v.created_at, v.author, counts, v.message.replace(/\s+/g, ' ')];
  });
  const head = ['VERSION', 'CREATED', 'AUTHOR', 'SVC/RTE/UPS/CON/PLG', 'MESSAGE'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  for (const r of [head, ...rows]) io.stdout(`${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()}\n`);
  const shown = rows.length ? `${offset + 1}-${offset + rows.length}` : 'none';
  io.stdout(`${shown} of ${page.total} versions (counts: services/routes/upstreams/consumers/plugins).\n`);
  return EXIT.ok;
}

async function rollbackCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { ...ADMIN_OPTIONS, message: { type: 'string', short: 'm' } }, 1, 'rollback');
  const target = positiveInt(positionals[0], 'the version', 1)!;
  const client = adminClient(values, io);
  // Show what going back changes before doing it, as apply does.
  const [current, old] = await Promise.all([client.currentDocument(), client.version(target)]);
  try {
    io.stdout(formatDiff(maskDiffSecrets(diffDocuments(current, old.document))));
    io.stdout(affectedText(current, old.document));
  } catch (e) {
    if (!(e instanceof DiffInputError)) throw e;
  }
  const message = values.message as string | undefined;
  const result = await client.rollback(target, message);
  if (!result.changed) io.stdout(`No changes: version ${target}'s configuration is already current (version ${result.version}).\n`);
  else io.stdout(`Rolled back to version ${target}: configuration version ${result.version}.\n`);
  return EXIT.ok;
}

/** `export --format deck`: the running configuration as Kong decK YAML, with the exporter's report on stderr. */
async function deckExport(client: AdminClient, includeSecrets: boolean, io: CliIo): Promise<string> {
  let doc = await client.currentDocument();
  if (!includeSecrets) {
    const { document, redacted } = redactSecrets(doc);
    doc = document;
    if (redacted.length) io.stderr(`Replaced ${redacted.length} secret value${redacted.length === 1 ? '' : 's'} by {env://…} references, which Kong does not resolve (--include-secrets writes them in clear)\n`);
  }
  const { text, report } = exportToKong(doc);
  io.stderr(formatImportReport(report, 'Export to Kong decK'));
  return text;
}

/** Kong's importer gets the cluster's credential keys when this shell has them, so API keys and HS secrets can be carried over. */
function importerFor(name: string, io: CliIo) {
  if (name === 'kong' && io.env.GATEHOUSE_CREDENTIAL_PEPPER && io.env.GATEHOUSE_SECRET_KEY) {
    if (io.env.GATEHOUSE_CREDENTIAL_PEPPER.length < 32) throw new UsageError('GATEHOUSE_CREDENTIAL_PEPPER must be at least 32 characters');
    let encryptionKey: Buffer;
    try {
      encryptionKey = parseSecretKey(io.env.GATEHOUSE_SECRET_KEY);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return createKongImporter({ credentialKeys: { pepper: Buffer.from(io.env.GATEHOUSE_CREDENTIAL_PEPPER, 'utf8'), encryptionKey, encryptionKeySource: 'env' } });
  }
  return IMPORTERS.get(name);
}

async function importCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { format: { type: 'string' }, output: { type: 'string', short: 'o' }, report: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 2) throw new UsageError('import needs a format and a file, e.g. `gatehouse import kong kong.yaml`');
  const [name, file] = positionals as [string, string];
  const importer = importerFor(name, io);
  if (!importer) throw new UsageError(`unknown import format '${name}' (known: ${[...IMPORTERS.keys()].join(', ')})`);
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new UsageError(`--format must be yaml or json, got '${format}'`);
  const reportFormat = values.report ?? 'text';
  if (reportFormat !== 'text' && reportFormat !== 'json') throw new UsageError(`--report must be text or json, got '${reportFormat}'`);
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_CONFIG_BYTES) throw new Error(`the file is ${info.size} bytes; the limit is ${MAX_CONFIG_BYTES}`);
    text = await readFile(file, 'utf8');
  } catch (e) {
    io.stderr(`error: cannot read ${file}: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  let result;
  try {
    result = importer.convert(text, file);
  } catch (e) {
    if (!(e instanceof ImportInputError)) throw e;
    io.stderr(`error: ${e.message}\n`);
    return EXIT.invalid;
  }
  if (reportFormat === 'json') io.stderr(`${JSON.stringify({ summary: countOutcomes(result.report), entries: result.report }, null, 2)}\n`);
  else io.stderr(formatImportReport(result.report, `Import of ${file} (${importer.name})`));
  // The importer's own copy is written (without every plugin default spelled out); the check fills defaults on a clone.
  const checked = checkDocument(structuredClone(result.document), PLUGINS);
  if (!checked.ok) {
    io.stderr(`error: the converted document is not valid:\n`);
    for (const issue of checked.issues) io.stderr(`  ${issue.path}: ${issue.message}\n`);
    return EXIT.invalid;
  }
  const out = serializeConfig(result.document, format);
  const output = values.output;
  if (!output) {
    io.stdout(out);
    return EXIT.ok;
  }
  const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, out, { mode: 0o600 });
    await rename(tmp, output);
  } catch (e) {
    await rm(tmp, { force: true });
    io.stderr(`error: cannot write ${output}: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  io.stderr(`Wrote ${Buffer.byteLength(out)} bytes to ${output}.\n`);
  return EXIT.ok;
}

function countOutcomes(report: readonly ImportReportEntry[]): Record<ImportReportEntry['outcome'], number> {
  const counts = { mapped: 0, approximated: 0, unmapped: 0 };
  for (const e of report) counts[e.outcome]++;
  return counts;
}

/** The report grouped by outcome, the ones needing attention last so they stay on screen. */
export function formatImportReport(report: readonly ImportReportEntry[], title: string): string {
  const counts = countOutcomes(report);
  let out = `${title}: ${counts.mapped} mapped, ${counts.approximated} approximated, ${counts.unmapped} not mapped\n`;
  const groups: [ImportReportEntry['outcome'], string][] = [
    ['mapped', 'Mapped'],
    ['approximated', 'Approximated (check the differences)'],
    ['unmapped', 'Not mapped'],
  ];
  for (const [outcome, label] of groups) {
    const entries = report.filter((e) => e.outcome === outcome);
    if (!entries.length) continue;
    out += `\n${label} (${entries.length}):\n`;
    for (const e of entries) out += `  ${e.source}${e.target ? ` → ${e.target}` : ''}${e.message ? `: ${e.message}` : ''}\n`;
  }
  return out;
}
