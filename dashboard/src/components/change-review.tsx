/**
 * "Review the change" step that every config edit in the dashboard goes through: a modal with the diff
 * of before and after (stable JSON, or text such as YAML) and Apply / Cancel. A failed apply keeps the
 * dialog open with the server's message, so nothing typed is lost.
 */
import { useEffect, useMemo, useRef, type ReactNode } from 'react';
import { diffLines, stableJson, type DiffLine } from '../lib/line-diff';

export interface ChangeReviewProps {
  title: string;
  /** The entity or config before the change; undefined for a creation. JSON values are diffed as sorted JSON. */
  before: unknown;
  /** Undefined for a deletion. */
  after: unknown;
  /** Text already formatted (e.g. YAML) is diffed as is. */
  format?: 'json' | 'text';
  onApply: () => void;
  onCancel: () => void;
  pending?: boolean;
  /** Shown above the buttons when the apply failed. */
  error?: ReactNode;
  applyLabel?: string;
}

function asText(value: unknown, format: 'json' | 'text'): string {
  if (value === undefined) return '';
  return format === 'text' ? String(value) : stableJson(value);
}

export function ChangeReview({ title, before, after, format = 'json', onApply, onCancel, pending = false, error, applyLabel = 'Apply change' }: ChangeReviewProps) {
  const lines = useMemo(() => diffLines(asText(before, format), asText(after, format)), [before, after, format]);
  const changed = lines.some((l) => l.kind !== 'same');
  const applyRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    applyRef.current?.focus();
    function onKey(e: KeyboardEvent) {
      if (e.key === 'Escape') onCancel();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onCancel]);

  return (
    <div className="modal-backdrop">
      <div className="modal card" role="dialog" aria-modal="true" aria-labelledby="change-review-title">
        <h2 id="change-review-title">{title}</h2>
        {changed ? <DiffView lines={lines} /> : <p className="empty">Nothing changes.</p>}
        {error && (
          <div className="error" role="alert">
            {error}
          </div>
        )}
        <div className="actions modal-actions">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" ref={applyRef} onClick={onApply} disabled={pending || !changed}>
            {pending ? 'Applying…' : applyLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

/** Unified diff with +/− gutters; long unchanged stretches fold to three lines of context. */
export function DiffView({ lines, context = 3 }: { lines: DiffLine[]; context?: number }) {
  const keep = new Uint8Array(lines.length);
  lines.forEach((l, i) => {
    if (l.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = 1;
  });
  const rows: ReactNode[] = [];
  let skipped = 0;
  lines.forEach((l, i) => {
    if (!keep[i]) {
      skipped++;
      return;
    }
    if (skipped) {
      rows.push(
        <div key={`skip-${i}`} className="diff-skip">
          … {skipped} unchanged line{skipped === 1 ? '' : 's'}
        </div>,
      );
      skipped = 0;
    }
    rows.push(
      <div key={i} className={`diff-${l.kind}`}>
        <span className="diff-gutter" aria-hidden="true">
          {l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ' '}
        </span>
        <span className="sr-only">{l.kind === 'add' ? 'added: ' : l.kind === 'del' ? 'removed: ' : ''}</span>
        {l.text}
      </div>,
    );
  });
  if (skipped) rows.push(<div key="skip-end" className="diff-skip">… {skipped} unchanged line{skipped === 1 ? '' : 's'}</div>);
  return (
    <pre className="diff" aria-label="Changes">
      {rows}
    </pre>
  );
}
