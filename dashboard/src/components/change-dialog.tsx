/**
 * One pending config change: the review dialog (ChangeReview), the API call on Apply, and what happens
 * to a failure. Every page that changes something keeps one `PendingChange` in its state and renders
 * this while it is set, so "pending, error kept in the dialog, close on success" lives in one place.
 *
 * A failure stays in the dialog, so nothing typed is lost; how it reads is up to the page (`renderError`,
 * by default ProblemText with a plain-language lead). A validation failure that names fields can instead
 * go back to the form (`onFieldErrors`, which closes the dialog) so each message lands on its field.
 */
import { useState, type ReactNode } from 'react';
import { asApiError, type ApiError, type FieldError } from '../lib/api-client';
import { ChangeReview } from './change-review';

export interface PendingChange<T = unknown> {
  title: string;
  before: unknown;
  after: unknown;
  applyLabel?: string;
  /** Performs the change; its result goes to onApplied. */
  apply: () => Promise<T>;
}

export interface ChangeDialogProps<T> {
  change: PendingChange<T>;
  /** Cancel, Escape, or a failure handed to onFieldErrors: the page clears its pending change. */
  onClose: () => void;
  /** The change is applied: the page clears its pending change and reloads what it shows. */
  onApplied: (result: T) => void;
  /** A 400/422 naming fields goes here instead of the dialog, and the dialog closes. */
  onFieldErrors?: (errors: FieldError[]) => void;
  /** Told of every failure that stays in the dialog (e.g. to mark fields while the review stays open). */
  onError?: (error: ApiError) => void;
  renderError?: (error: ApiError) => ReactNode;
}

export function ChangeDialog<T>({ change, onClose, onApplied, onFieldErrors, onError, renderError = (e) => <ProblemText error={e} /> }: ChangeDialogProps<T>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  async function apply() {
    setPending(true);
    setError(undefined);
    try {
      const result = await change.apply();
      onApplied(result);
    } catch (e) {
      const err = asApiError(e);
      setPending(false);
      if (onFieldErrors && err.errors.length > 0 && (err.status === 400 || err.status === 422)) {
        onFieldErrors(err.errors);
        onClose();
        return;
      }
      onError?.(err);
      setError(err);
    }
  }

  return (
    <ChangeReview
      title={change.title}
      before={change.before}
      after={change.after}
      onApply={() => void apply()}
      onCancel={onClose}
      pending={pending}
      error={error ? renderError(error) : undefined}
      applyLabel={change.applyLabel}
    />
  );
}

/** The error's one-line message, for pages that show no more than that. */
export const errorMessage = (error: ApiError): ReactNode => error.message;

/** An API failure in words, with a plain-language lead for the cases people meet most. */
export function ProblemText({ error }: { error: ApiError }): ReactNode {
  let lead: string | undefined;
  if (error.code === 'GW_ERR_ADMIN_REFERENCE') lead = 'Not applied: this is still in use, or refers to something that does not exist.';
  else if (error.code === 'GW_ERR_ADMIN_CONFLICT' || error.status === 409) lead = 'Not applied: it conflicts with something that already exists.';
  else if (error.status === 403) lead = 'Not applied: your role may not change the configuration.';
  else if (error.status === 405) lead = 'Not applied: the gateway runs from a file and its configuration is read-only.';
  return (
    <>
      {lead && <p>{lead}</p>}
      <p>
        <strong>{error.title}</strong>
        {error.detail ? `: ${error.detail}` : ''}
      </p>
      {error.errors.length > 0 && (
        <ul>
          {error.errors.map((e, i) => (
            <li key={i}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** A message and the field errors under it, one line each (`/config/minute: must be >= 1`). */
export function ErrorLines({ message, errors }: { message?: ReactNode; errors: readonly FieldError[] }) {
  return (
    <>
      {message !== undefined && <p>{message}</p>}
      {errors.map((f) => (
        <p key={f.path + f.message}>
          <code>{f.path}</code>: {f.message}
        </p>
      ))}
    </>
  );
}
