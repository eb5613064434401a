/**
 * A secret shown once (an API key, a credential's secret, an invitation link): the server never returns
 * it again. Copy puts it on the clipboard; where the Clipboard API is missing or refused (plain-HTTP
 * origins, denied permission), the text is selected for the user to copy by hand.
 */
import { useId, useRef, useState } from 'react';

export interface SecretOnceProps {
  /** What the key is for, e.g. "New key for shop". */
  label: string;
  secret: string;
  onDismiss: () => void;
  /** What the secret is, in the texts around it. */
  what?: string;
  /** What to do if it is lost. */
  ifLost?: string;
}

export function SecretOnce({ label, secret, onDismiss, what = 'key', ifLost = 'If you lose it, rotate or create a key.' }: SecretOnceProps) {
  // Ids from useId: a page may show more than one (e.g. an invitation and a key).
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copyState, setCopyState] = useState<'idle' | 'copied' | 'selected'>('idle');

  function selectText(): void {
    input.current?.focus();
    input.current?.select();
  }

  async function copy() {
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
      await navigator.clipboard.writeText(secret);
      setCopyState('copied');
    } catch {
      selectText();
      setCopyState('selected');
    }
  }

  return (
    <section className="secret-once notice" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{label}</h3>
      <p>
        Copy this {what} now: it is shown only once and cannot be retrieved later. {ifLost}
      </p>
      <div className="secret-row">
        <label className="sr-only" htmlFor={`${id}-value`}>
          {what}
        </label>
        <input id={`${id}-value`} ref={input} className="mono" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} data-testid="new-secret" />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p role="status" className="muted">
        {copyState === 'copied' && 'Copied to the clipboard.'}
        {copyState === 'selected' && `The ${what} is selected: press Ctrl+C (⌘C on a Mac) to copy it.`}
      </p>
      <button type="button" className="secondary" onClick={onDismiss}>
        I have saved the {what}
      </button>
    </section>
  );
}
