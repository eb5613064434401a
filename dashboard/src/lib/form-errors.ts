/**
 * Server-side validation errors of a hand-written form, by top-level field name (the first segment of
 * the problem's `errors[]` JSON Pointers). Generated forms place nested pointers themselves (SchemaForm).
 */
import { ApiError, type FieldError } from './api-client';

export interface FormErrors {
  fields: Record<string, string>;
  /** What is not about one field (or the whole message when no field matched). */
  form: string | undefined;
}

export const NO_ERRORS: FormErrors = { fields: {}, form: undefined };

export function formErrors(e: unknown, fields: readonly string[]): FormErrors {
  if (!(e instanceof ApiError)) return { fields: {}, form: 'The request failed unexpectedly.' };
  if (e.status === 0) return { fields: {}, form: 'The gateway cannot be reached.' };
  if (e.status === 429) return { fields: {}, form: 'Too many attempts. Wait a minute and try again.' };
  const out = splitFieldErrors(e.errors, fields).fields;
  return { fields: out, form: Object.keys(out).length ? undefined : e.detail ?? e.title };
}

/** The first message for each of `fields` (by the first segment of the error's JSON Pointer), and the messages about anything else. */
export function splitFieldErrors(errors: readonly FieldError[], fields: readonly string[]): { fields: Record<string, string>; other: string[] } {
  const out: Record<string, string> = {};
  const other: string[] = [];
  for (const err of errors) {
    const name = err.path.replace(/^\//, '').split('/')[0] ?? '';
    if (!fields.includes(name)) other.push(err.message);
    else if (out[name] === undefined) out[name] = err.message;
  }
  return { fields: out, other };
}
