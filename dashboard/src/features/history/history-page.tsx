/**
 * History: the config versions the store keeps (who, when, why), any one of them opened as a document
 * or as a diff against the current config, and one-click rollback (the diff is reviewed first; the
 * rollback itself is a new version, so it can be rolled back too). Below, the current config as JSON
 * with an edit → review → apply flow for the whole document (PUT /config).
 *
 * The selected version lives in the query (`?v=7&show=document`), so a version can be linked to,
 * e.g. from an audit entry.
 */
import { useCallback, useState, type ReactNode } from 'react';
import { ChangeDialog, errorMessage } from '../../components/change-dialog';
import { DiffView } from '../../components/change-review';
import { Section } from '../../components/section';
import type { ApiClient } from '../../lib/api-client';
import { formatTime } from '../../lib/format';
import { diffLines, stableJson } from '../../lib/line-diff';
import { queryOf, setQueryParam, useLocation } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Session } from '../auth/session';
import { ConfigEditor } from './config-editor';
import type { ConfigDocument, VersionInfo, VersionPage } from './types';

const PAGE = 20;

interface Rollback {
  version: number;
  before: ConfigDocument;
  after: ConfigDocument;
}

export function HistoryPage({ api, session }: { api: ApiClient; session: Session }) {
  const editable = canEdit(session.role);
  const query = queryOf(useLocation());
  const selected = Number(query.get('v')) || undefined;
  const show = query.get('show') === 'document' ? 'document' : 'diff';
  const [offset, setOffset] = useState(0);
  const [rollback, setRollback] = useState<Rollback | undefined>();
  const [preparing, setPreparing] = useState<number | undefined>();
  const [notice, setNotice] = useState<ReactNode>();
  const [prepareError, setPrepareError] = useState<string | undefined>();

  const versions = useResource(
    useCallback(
      async (signal: AbortSignal) => {
        const page = await api.get<VersionPage>(`/versions?offset=${offset}&limit=${PAGE}`, { signal });
        // The newest version is the current config; on an older page it has to be asked for.
        const latest = offset === 0 ? page.data[0]?.version : (await api.get<VersionPage>('/versions?limit=1', { signal })).data[0]?.version;
        return { page, latest };
      },
      [api, offset],
    ),
  );
  const current = useResource(useCallback((signal: AbortSignal) => api.get<ConfigDocument>('/config', { signal }), [api]));

  function refresh() {
    versions.reload();
    current.reload();
  }

  async function prepareRollback(v: number) {
    setPreparing(v);
    setPrepareError(undefined);
    setNotice(undefined);
    try {
      // Both read fresh: the review must show what the rollback changes now, not when the page loaded.
      const [target, now] = await Promise.all([api.get<VersionInfo & { document: ConfigDocument }>(`/versions/${v}`), api.get<ConfigDocument>('/config')]);
      setRollback({ version: v, before: now, after: target.document });
    } catch (e) {
      setPrepareError(`Could not prepare the rollback to version ${v}: ${(e as Error).message}`);
    } finally {
      setPreparing(undefined);
    }
  }

  function rolledBack(version: number, res: { version: number; changed: boolean }) {
    setNotice(
      res.changed ? (
        <>
          Rolled back to version {version}; the config is now version <strong>{res.version}</strong>.
        </>
      ) : (
        <>Version {version} is already the current config; nothing changed.</>
      ),
    );
    setRollback(undefined);
    setOffset(0);
    refresh();
  }

  return (
    <div className="history-page">
      <Section
        title="Config history"
        level={1}
        state={versions}
        onRetry={versions.reload}
        actions={
          <button type="button" className="secondary" onClick={refresh}>
            Refresh
          </button>
        }
      >
        {({ page, latest }) => (
          <>
            {notice && (
              <p className="notice" role="status">
                {notice}
              </p>
            )}
            {prepareError && (
              <p className="error" role="alert">
                {prepareError}
              </p>
            )}
            {page.data.length === 0 ? (
              <p className="empty">No versions yet: the first change to the config creates version 1.</p>
            ) : (
              <div className="table-wrap">
                <table aria-label="Config versions">
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">When</th>
                      <th scope="col">Author</th>
                      <th scope="col">Message</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((v) => {
                      const isCurrent = v.version === latest;
                      return (
                        <tr key={v.version} className={v.version === selected ? 'selected' : undefined}>
                          <th scope="row">
                            v{v.version} {isCurrent && <span className="badge on">current</span>}
                          </th>
                          <td>
                            <time dateTime={v.created_at}>{formatTime(v.created_at)}</time>
                          </td>
                          <td>{v.author || <span className="muted">unknown</span>}</td>
                          <td className="message">{v.message || <span className="muted">no message</span>}</td>
                          <td>
                            <div className="actions row-actions">
                              <button type="button" className="secondary" onClick={() => setQueryParam('v', String(v.version))} aria-label={`View version ${v.version}`}>
                                View
                              </button>
                              {editable && !isCurrent && (
                                <button
                                  type="button"
                                  onClick={() => void prepareRollback(v.version)}
                                  disabled={preparing !== undefined}
                                  aria-label={`Roll back to version ${v.version}`}
                                >
                                  {preparing === v.version ? 'Preparing…' : 'Roll back'}
                                </button>
                              )}
                            </div>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
            {(offset > 0 || offset + page.data.length < page.total) && (
              <div className="actions pager">
                <button type="button" className="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                  Newer
                </button>
                <span className="muted">
                  {offset + 1}–{offset + page.data.length} of {page.total}
                </span>
                <button type="button" className="secondary" disabled={offset + page.data.length >= page.total} onClick={() => setOffset(offset + PAGE)}>
                  Older
                </button>
              </div>
            )}
          </>
        )}
      </Section>

      {selected !== undefined && (
        <VersionDetail
          key={selected}
          api={api}
          version={selected}
          show={show}
          current={current.status === 'ready' ? current.data : undefined}
          isCurrent={versions.status === 'ready' && versions.data.latest === selected}
          canRollBack={editable}
          preparing={preparing === selected}
          onRollBack={() => void prepareRollback(selected)}
        />
      )}

      <ConfigEditor api={api} editable={editable} current={current} onApplied={refresh} />

      {rollback && (
        <ChangeDialog
          change={{
            title: `Roll back to version ${rollback.version}`,
            before: rollback.before,
            after: rollback.after,
            applyLabel: 'Roll back',
            apply: () => api.post<{ version: number; changed: boolean }>(`/versions/${rollback.version}/rollback`),
          }}
          renderError={errorMessage}
          onClose={() => setRollback(undefined)}
          onApplied={(res) => rolledBack(rollback.version, res)}
        />
      )}
    </div>
  );
}

function VersionDetail({
  api,
  version,
  show,
  current,
  isCurrent,
  canRollBack,
  preparing,
  onRollBack,
}: {
  api: ApiClient;
  version: number;
  show: 'diff' | 'document';
  current: ConfigDocument | undefined;
  isCurrent: boolean;
  canRollBack: boolean;
  preparing: boolean;
  onRollBack: () => void;
}) {
  const state = useResource(useCallback((signal: AbortSignal) => api.get<VersionInfo & { document: ConfigDocument }>(`/versions/${version}`, { signal }), [api, version]));
  return (
    <Section
      title={`Version ${version}`}
      state={state}
      onRetry={state.reload}
      actions={
        <>
          {canRollBack && !isCurrent && (
            <button type="button" onClick={onRollBack} disabled={preparing}>
              Roll back to this version
            </button>
          )}
          <button type="button" className="secondary" onClick={() => setQueryParam('v', '')}>
            Close
          </button>
        </>
      }
    >
      {(v) => (
        <>
          <p className="muted">
            {formatTime(v.created_at)} by {v.author || 'unknown'}
            {v.message ? ` — ${v.message}` : ''}
          </p>
          <div className="tabs" role="group" aria-label="Show">
            <button type="button" className={show === 'diff' ? '' : 'secondary'} aria-pressed={show === 'diff'} onClick={() => setQueryParam('show', '')}>
              Diff against current
            </button>
            <button type="button" className={show === 'document' ? '' : 'secondary'} aria-pressed={show === 'document'} onClick={() => setQueryParam('show', 'document')}>
              Document
            </button>
          </div>
          {show === 'document' ? (
            <pre className="document" aria-label={`Config of version ${version}`}>
              {stableJson(v.document)}
            </pre>
          ) : isCurrent ? (
            <p className="empty">This is the current config.</p>
          ) : current === undefined ? (
            <p className="muted">Loading the current config…</p>
          ) : (
            <VersionDiff current={current} version={v.document} />
          )}
        </>
      )}
    </Section>
  );
}

function VersionDiff({ current, version }: { current: ConfigDocument; version: ConfigDocument }) {
  const lines = diffLines(stableJson(current), stableJson(version));
  if (!lines.some((l) => l.kind !== 'same')) return <p className="empty">Same as the current config.</p>;
  return (
    <>
      <p className="muted">What a rollback to this version would change: − current, + this version.</p>
      <DiffView lines={lines} />
    </>
  );
}

