/**
 * Import: another gateway's configuration (Kong decK, Traefik) converted by the server
 * (POST /config/import/:format, which applies nothing), its report entry by entry (mapped, approximated,
 * unmapped) with the checks the converted document fails, then review → apply through PUT /config like
 * every whole-config change: merged into the current config, or replacing it.
 *
 * Converting is an operator action (an imported Kong file's API keys come back hashed under the
 * cluster's pepper), so viewers see what the page is for and nothing they could not use.
 */
import { useCallback, useId, useMemo, useState, type ReactNode } from 'react';
import { ChangeDialog, ErrorLines } from '../../components/change-dialog';
import { asApiError, type ApiClient, type ApiError } from '../../lib/api-client';
import { useResource, type ResourceState } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Session } from '../auth/session';
import type { ApplyResult, ConfigDocument } from '../history/types';
import { applyImport, type ApplyMode } from './merge';
import { FORMATS, type FormatId, type ImportOutcome, type ImportReportEntry, type ImportResult } from './types';

const OUTCOMES: ImportOutcome[] = ['mapped', 'approximated', 'unmapped'];
const BADGE: Record<ImportOutcome, string> = { mapped: 'badge on', approximated: 'badge warn', unmapped: 'badge bad' };
/** Same cap as the server's config bodies; a bigger file would be refused after the upload anyway. */
const MAX_FILE_BYTES = 10 * 1024 * 1024;

interface Converted {
  result: ImportResult;
  format: FormatId;
  fileName: string | undefined;
}

export function ImportPage({ api, session }: { api: ApiClient; session: Session }) {
  if (!canEdit(session.role)) {
    return (
      <section className="card import-page" aria-labelledby="import-title">
        <h1 id="import-title">Import</h1>
        <p className="notice" role="status">
          Importing another gateway&apos;s configuration needs the operator or admin role; your role ({session.role}) can read the configuration only.
        </p>
      </section>
    );
  }
  return <ImportForm api={api} />;
}

function ImportForm({ api }: { api: ApiClient }) {
  const id = useId();
  const [format, setFormat] = useState<FormatId>('kong');
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | undefined>();
  const [fileError, setFileError] = useState<string | undefined>();
  const [converting, setConverting] = useState(false);
  const [convertError, setConvertError] = useState<ApiError | undefined>();
  const [converted, setConverted] = useState<Converted | undefined>();
  const [notice, setNotice] = useState<ReactNode>();
  const current = useResource(useCallback((signal: AbortSignal) => api.get<ConfigDocument>('/config', { signal }), [api]));

  function pickFile(file: File | undefined) {
    setFileError(undefined);
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      setFileError(`${file.name} is ${file.size} bytes; the limit is ${MAX_FILE_BYTES}.`);
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      setText(String(reader.result ?? ''));
      setFileName(file.name);
    };
    reader.onerror = () => setFileError(`Could not read ${file.name}: ${reader.error?.message ?? 'unknown error'}`);
    reader.readAsText(file);
  }

  async function convert() {
    setConverting(true);
    setConvertError(undefined);
    setConverted(undefined);
    setNotice(undefined);
    try {
      const qs = fileName ? `?filename=${encodeURIComponent(fileName)}` : '';
      const result = await api.post<ImportResult>(`/config/import/${format}${qs}`, { body: text, contentType: 'text/plain' });
      setConverted({ result, format, fileName });
      current.reload();
    } catch (e) {
      setConvertError(asApiError(e));
    } finally {
      setConverting(false);
    }
  }

  return (
    <div className="import-page">
      <section className="card" aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`}>Import</h1>
        <p className="muted">
          Convert another gateway&apos;s configuration into Gatehouse entities. Converting changes nothing; the result is reviewed as a diff before it is applied.
        </p>
        <form
          className="import-form"
          onSubmit={(e) => {
            e.preventDefault();
            void convert();
          }}
        >
          <div className="import-source">
            <div>
              <label htmlFor={`${id}-format`}>Format</label>
              <select id={`${id}-format`} value={format} onChange={(e) => setFormat(e.target.value as FormatId)}>
                {FORMATS.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.label}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor={`${id}-file`}>File</label>
              <input id={`${id}-file`} type="file" accept=".yaml,.yml,.json,.toml,text/plain,application/json,application/yaml" onChange={(e) => pickFile(e.target.files?.[0])} />
            </div>
          </div>
          <label htmlFor={`${id}-text`}>Configuration{fileName ? ` (from ${fileName})` : ''}</label>
          <textarea
            id={`${id}-text`}
            className="mono import-text"
            rows={14}
            spellCheck={false}
            value={text}
            placeholder={format === 'kong' ? '_format_version: "3.0"\nservices:\n  - name: …' : 'http:\n  routers:\n    …'}
            onChange={(e) => {
              setText(e.target.value);
              // Pasted text has no file name; a stale one could make the server parse YAML as TOML.
              if (fileName) setFileName(undefined);
            }}
          />
          {fileError && (
            <p className="error" role="alert">
              {fileError}
            </p>
          )}
          {convertError && (
            <div className="error" role="alert">
              <ErrorLines
                message={
                  convertError.code === 'GW_ERR_IMPORT_INVALID' ? (
                    <>
                      <strong>Cannot import:</strong> {convertError.detail ?? convertError.title}
                    </>
                  ) : (
                    convertError.message
                  )
                }
                errors={convertError.errors}
              />
            </div>
          )}
          <div className="actions">
            <button type="submit" disabled={converting || text.trim() === ''}>
              {converting ? 'Converting…' : 'Convert'}
            </button>
          </div>
        </form>
      </section>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {converted && (
        <ImportReview
          key={`${converted.format}:${converted.fileName ?? ''}:${converted.result.report.length}`}
          api={api}
          converted={converted}
          current={current}
          onApplied={(res) => {
            setNotice(res.changed ? `Applied: the config is now version ${res.version}.` : 'Nothing changed: the config already held these entities.');
            setConverted(undefined);
            current.reload();
          }}
        />
      )}
    </div>
  );
}

function ImportReview({
  api,
  converted,
  current,
  onApplied,
}: {
  api: ApiClient;
  converted: Converted;
  current: ResourceState<ConfigDocument> & { reload: () => void };
  onApplied: (res: ApplyResult) => void;
}) {
  const id = useId();
  const { result } = converted;
  const [outcome, setOutcome] = useState<ImportOutcome | ''>('');
  const [search, setSearch] = useState('');
  const [mode, setMode] = useState<ApplyMode>('merge');
  const [reviewing, setReviewing] = useState(false);
  const [message, setMessage] = useState(`import from ${converted.format}${converted.fileName ? ` (${converted.fileName})` : ''}`);

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    return result.report.filter(
      (e) => (outcome === '' || e.outcome === outcome) && (q === '' || [e.source, e.target ?? '', e.message].some((s) => s.toLowerCase().includes(q))),
    );
  }, [result.report, outcome, search]);

  const plan = current.status === 'ready' ? applyImport(current.data, result.document, mode) : undefined;
  const valid = result.issues.length === 0;

  function put(after: ConfigDocument) {
    const qs = message.trim() ? `?message=${encodeURIComponent(message.trim())}` : '';
    return api.put<ApplyResult>(`/config${qs}`, { body: after });
  }

  return (
    <>
      <section className="card" aria-labelledby={`${id}-report`}>
        <h2 id={`${id}-report`}>Report</h2>
        <dl className="stats import-counts" aria-label="Report counts">
          {OUTCOMES.map((o) => (
            <div key={o}>
              <dt>{o}</dt>
              <dd>
                <span className={BADGE[o]}>{result.counts[o]}</span>
              </dd>
            </div>
          ))}
        </dl>
        <div className="import-filters">
          <div>
            <label htmlFor={`${id}-outcome`}>Outcome</label>
            <select id={`${id}-outcome`} value={outcome} onChange={(e) => setOutcome(e.target.value as ImportOutcome | '')}>
              <option value="">All ({result.report.length})</option>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {o} ({result.counts[o]})
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={`${id}-search`}>Search</label>
            <input id={`${id}-search`} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="source, target or message" />
          </div>
        </div>
        {rows.length === 0 ? (
          <p className="empty">{result.report.length === 0 ? 'The file holds nothing to import.' : 'No entry matches the filter.'}</p>
        ) : (
          <div className="table-wrap">
            <table aria-label="Import report">
              <thead>
                <tr>
                  <th scope="col">Outcome</th>
                  <th scope="col">Source</th>
                  <th scope="col">Target</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e, i) => (
                  <ReportRow key={`${e.source}#${i}`} entry={e} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby={`${id}-apply`}>
        <h2 id={`${id}-apply`}>Apply</h2>
        {!valid && (
          <div className="error" role="alert">
            <ErrorLines message="The converted configuration is not valid, so it cannot be applied. Fix the file (or the entries below) and convert again:" errors={result.issues} />
          </div>
        )}
        <fieldset className="import-mode">
          <legend>How to apply</legend>
          <label>
            <input type="radio" name={`${id}-mode`} value="merge" checked={mode === 'merge'} onChange={() => setMode('merge')} /> Merge: add the imported entities; an imported entity
            whose name exists replaces it
          </label>
          <label>
            <input type="radio" name={`${id}-mode`} value="replace" checked={mode === 'replace'} onChange={() => setMode('replace')} /> Replace everything: the imported entities become
            the whole configuration
          </label>
        </fieldset>
        {current.status === 'loading' && <p className="muted">Loading the current config…</p>}
        {current.status === 'error' && (
          <div className="error" role="alert">
            <p>Could not load the current config: {current.error.message}</p>
            <button type="button" className="secondary" onClick={current.reload}>
              Retry
            </button>
          </div>
        )}
        {plan && (
          <div className="import-effects" aria-label="Effect on the current config">
            {plan.replaced.length === 0 && plan.removed.length === 0 ? (
              <p className="muted">Nothing in the current config is overwritten.</p>
            ) : (
              <>
                {plan.replaced.length > 0 && <EntityList title={`Replaces ${plan.replaced.length} existing`} items={plan.replaced} />}
                {plan.removed.length > 0 && <EntityList title={`Removes ${plan.removed.length}`} items={plan.removed} />}
              </>
            )}
          </div>
        )}
        <label htmlFor={`${id}-message`}>Message for the history</label>
        <input id={`${id}-message`} value={message} onChange={(e) => setMessage(e.target.value)} />
        <div className="actions">
          <button type="button" disabled={!valid || !plan} onClick={() => setReviewing(true)}>
            Review and apply
          </button>
        </div>
      </section>

      {reviewing && plan && current.status === 'ready' && (
        <ChangeDialog
          change={{
            title: mode === 'merge' ? `Merge the imported ${converted.format} configuration` : `Replace the config with the imported ${converted.format} configuration`,
            before: current.data,
            after: plan.document,
            applyLabel: 'Apply import',
            apply: () => put(plan.document),
          }}
          onClose={() => setReviewing(false)}
          onApplied={onApplied}
        />
      )}
    </>
  );
}

function ReportRow({ entry }: { entry: ImportReportEntry }) {
  return (
    <tr>
      <td>
        <span className={BADGE[entry.outcome]}>{entry.outcome}</span>
      </td>
      <td className="mono">{entry.source}</td>
      <td className="mono">{entry.target ?? <span className="muted">—</span>}</td>
      <td className="message">{entry.message || <span className="muted">same behaviour</span>}</td>
    </tr>
  );
}

function EntityList({ title, items }: { title: string; items: string[] }) {
  return (
    <div className="warning">
      <p>{title}:</p>
      <ul>
        {items.map((k) => (
          <li key={k}>
            <code>{k}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}
