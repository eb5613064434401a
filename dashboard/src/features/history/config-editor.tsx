/**
 * The current config as one JSON document, and (for operators) an editor for the whole of it: the
 * edited document is checked by the server (POST /config/diff validates schema and references without
 * writing), the diff is reviewed, then PUT /config applies it as a new version with a message.
 */
import { useId, useState } from 'react';
import { ChangeDialog, ErrorLines, errorMessage } from '../../components/change-dialog';
import { Section } from '../../components/section';
import { ApiError, type ApiClient, type FieldError } from '../../lib/api-client';
import { stableJson } from '../../lib/line-diff';
import type { ResourceState } from '../../lib/use-resource';
import type { ApplyResult, ConfigDocument, DiffResult } from './types';

interface Pending {
  after: ConfigDocument;
  summary: string;
}

function summarize(d: DiffResult['diff']): string {
  const parts = [
    d.created.length && `${d.created.length} created`,
    d.updated.length && `${d.updated.length} updated`,
    d.deleted.length && `${d.deleted.length} deleted`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no entity changes';
}

export function ConfigEditor({
  api,
  editable,
  current,
  onApplied,
}: {
  api: ApiClient;
  editable: boolean;
  current: ResourceState<ConfigDocument> & { reload: () => void };
  onApplied: () => void;
}) {
  const id = useId();
  const [mode, setMode] = useState<'closed' | 'view' | 'edit'>('closed');
  const [text, setText] = useState('');
  const [message, setMessage] = useState('');
  const [problems, setProblems] = useState<{ message: string; errors: FieldError[] } | undefined>();
  const [checking, setChecking] = useState(false);
  const [review, setReview] = useState<Pending | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  function startEdit(doc: ConfigDocument) {
    setText(stableJson(doc));
    setMessage('');
    setProblems(undefined);
    setNotice(undefined);
    setMode('edit');
  }

  async function check() {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      setProblems({ message: `Not valid JSON: ${(e as Error).message}`, errors: [] });
      return;
    }
    setChecking(true);
    setProblems(undefined);
    try {
      const res = await api.post<DiffResult>('/config/diff', { body: parsed });
      setReview({ after: parsed as ConfigDocument, summary: summarize(res.diff) });
    } catch (e) {
      const err = e instanceof ApiError ? e : undefined;
      setProblems({ message: err ? err.title : String(e), errors: err?.errors ?? [] });
    } finally {
      setChecking(false);
    }
  }

  function put(after: ConfigDocument) {
    const qs = message.trim() ? `?message=${encodeURIComponent(message.trim())}` : '';
    return api.put<ApplyResult>(`/config${qs}`, { body: after });
  }

  function applied(res: ApplyResult) {
    setNotice(res.changed ? `Applied: the config is now version ${res.version}.` : 'Nothing changed.');
    setReview(undefined);
    setMode('closed');
    onApplied();
  }

  return (
    <Section
      title="Current config"
      state={current}
      onRetry={current.reload}
      actions={
        current.status === 'ready' && (
          <>
            {mode !== 'view' && (
              <button type="button" className="secondary" onClick={() => setMode('view')}>
                Show
              </button>
            )}
            {mode !== 'closed' && (
              <button type="button" className="secondary" onClick={() => setMode('closed')}>
                Hide
              </button>
            )}
            {editable && mode !== 'edit' && (
              <button type="button" onClick={() => startEdit(current.data)}>
                Edit config
              </button>
            )}
          </>
        )
      }
    >
      {(doc) => (
        <>
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          {mode === 'closed' && <p className="muted">The whole configuration as one JSON document, as `GET /config` exports it.</p>}
          {mode === 'view' && (
            <pre className="document" aria-label="Current config document">
              {stableJson(doc)}
            </pre>
          )}
          {mode === 'edit' && (
            <form
              className="config-form"
              onSubmit={(e) => {
                e.preventDefault();
                void check();
              }}
            >
              <label htmlFor={`${id}-doc`}>Config document (JSON)</label>
              <textarea id={`${id}-doc`} className="mono config-text" rows={18} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
              <label htmlFor={`${id}-msg`}>Message for the history</label>
              <input id={`${id}-msg`} value={message} onChange={(e) => setMessage(e.target.value)} placeholder="e.g. raise the orders limit" />
              {problems && (
                <div className="error" role="alert">
                  <ErrorLines message={problems.message} errors={problems.errors} />
                </div>
              )}
              <div className="actions">
                <button type="submit" disabled={checking}>
                  {checking ? 'Checking…' : 'Review change'}
                </button>
                <button type="button" className="secondary" onClick={() => setMode('closed')}>
                  Cancel
                </button>
              </div>
            </form>
          )}
          {review && (
            <ChangeDialog
              change={{ title: `Replace the config (${review.summary})`, before: doc, after: review.after, apply: () => put(review.after) }}
              renderError={errorMessage}
              onClose={() => setReview(undefined)}
              onApplied={applied}
            />
          )}
        </>
      )}
    </Section>
  );
}
