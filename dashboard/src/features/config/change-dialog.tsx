/**
 * One pending config change: the review dialog (ChangeReview), the API call on Apply, and what happens
 * to a failure. A validation failure that names fields goes back to the form (`onFieldErrors`) so each
 * message lands on its field; anything else (409 in use / already exists, 403, network) stays in the
 * dialog, in words.
 */
import { useState, type ReactNode } from 'react';
import { ChangeReview } from '../../components/change-review';
import { ApiError, type FieldError } from '../../lib/api-client';

export interface PendingChange {
  title: string;
  before: unknown;
  after: unknown;
  applyLabel?: string;
  /** Performs the change; its result goes to onApplied. */
  apply: () => Promise<unknown>;
}

export function ChangeDialog({
  change,
  onClose,
  onApplied,
  onFieldErrors,
}: {
  change: PendingChange;
  onClose: () => void;
  onApplied: (result: unknown) => void;
  onFieldErrors?: (errors: FieldError[]) => void;
}) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  async function apply() {
    setPending(true);
    setError(undefined);
    try {
      const result = await change.apply();
      onApplied(result);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError({ status: 0, code: 'CLIENT', title: 'Unexpected error', detail: String(e) });
      setPending(false);
      if (onFieldErrors && err.errors.length > 0 && (err.status === 400 || err.status === 422)) {
        onFieldErrors(err.errors);
        onClose();
        return;
      }
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
      error={error ? <ProblemText error={error} /> : undefined}
      applyLabel={change.applyLabel}
    />
  );
}

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
