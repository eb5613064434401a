/**
 * A consumer's credentials: list, create, rotate, revoke and delete, each through the change review.
 * The clear secret exists only in the answer to a create or rotate, so it is shown once, with a copy
 * button, and forgotten when dismissed. The create and rotate forms are generated from the request
 * body schemas the admin API publishes in its OpenAPI document.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { defaultsOf, prune, validateValue, type JsonSchema } from '../../components/schema-form/json-schema';
import { SchemaForm } from '../../components/schema-form/schema-form';
import { Section } from '../../components/section';
import { SecretOnce } from '../../components/secret-once';
import type { ApiClient, FieldError } from '../../lib/api-client';
import { useResource } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Session } from '../auth/session';
import { ChangeDialog, type PendingChange } from '../../components/change-dialog';

export interface Credential {
  id: string;
  consumer: string;
  kind: string;
  key?: string;
  algorithm?: string;
  created_at?: string;
  expires_at?: string;
  revoked_at?: string;
  tags?: string[];
}

interface BodySchemas {
  create: JsonSchema;
  rotate: JsonSchema;
}

interface OpenApiDoc {
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

function bodySchema(doc: OpenApiDoc, path: string): JsonSchema {
  const schema = doc.paths?.[path]?.post?.requestBody?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`the OpenAPI document has no request body for POST ${path}`);
  return schema;
}

async function loadBodySchemas(api: ApiClient, signal: AbortSignal): Promise<BodySchemas> {
  const doc = await api.get<OpenApiDoc>('/openapi.json', { signal });
  return {
    create: bodySchema(doc, '/consumers/{username}/credentials'),
    rotate: bodySchema(doc, '/consumers/{username}/credentials/{id}/rotate'),
  };
}

export function credentialState(c: Credential, now = Date.now()): 'revoked' | 'expired' | 'active' {
  if (c.revoked_at) return 'revoked';
  if (c.expires_at && Date.parse(c.expires_at) <= now) return 'expired';
  return 'active';
}

/** Secrets never go into a diff on screen. */
function masked(body: Record<string, unknown>): Record<string, unknown> {
  return 'secret' in body ? { ...body, secret: '••••••••' } : body;
}

type Form = { mode: 'create' } | { mode: 'rotate'; credential: Credential };

export function CredentialsSection({ api, session, consumer }: { api: ApiClient; session: Session; consumer: string }) {
  const base = `/consumers/${encodeURIComponent(consumer)}/credentials`;
  const editable = canEdit(session.role);
  const [form, setForm] = useState<Form | undefined>();
  const [change, setChange] = useState<PendingChange | undefined>();
  const [secret, setSecret] = useState<{ secret: string; credential: Credential } | undefined>();
  const list = useResource(useCallback((signal: AbortSignal) => api.get<{ data: Credential[] }>(base, { signal }), [api, base]));

  function applied(result: unknown) {
    setChange(undefined);
    setForm(undefined);
    const created = (result && typeof result === 'object' && 'credential' in result ? (result as { credential: unknown }).credential : result) as (Credential & { secret?: string }) | undefined;
    if (created && typeof created.secret === 'string') setSecret({ secret: created.secret, credential: created });
    list.reload();
  }

  return (
    <Section
      title="Credentials"
      state={list}
      onRetry={list.reload}
      actions={
        editable && !form ? (
          <button
            type="button"
            onClick={() => {
              setSecret(undefined);
              setForm({ mode: 'create' });
            }}
          >
            New credential
          </button>
        ) : undefined
      }
    >
      {({ data }) => (
        <>
          {secret && (
            <SecretOnce
              label={`New ${secret.credential.kind} secret${secret.credential.key ? ` for ${secret.credential.key}` : ''}`}
              secret={secret.secret}
              what={`${secret.credential.kind} secret`}
              ifLost="The gateway keeps only a hash or ciphertext; if it is lost, rotate the credential."
              onDismiss={() => setSecret(undefined)}
            />
          )}
          {form && (
            <CredentialForm
              api={api}
              form={form}
              onCancel={() => setForm(undefined)}
              onReview={(body) => {
                if (form.mode === 'create') {
                  setChange({
                    title: `Create a ${String(body.kind)} credential for ${consumer}`,
                    before: undefined,
                    after: masked(body),
                    applyLabel: 'Create credential',
                    apply: () => api.post(base, { body }),
                  });
                } else {
                  const c = form.credential;
                  setChange({
                    title: `Rotate ${c.kind} credential ${c.key ?? c.id}`,
                    before: { old: c },
                    after: { old: { ...c, expires_at: `now + ${String(body.overlap_seconds ?? 3600)} s` }, new: masked({ kind: c.kind, ...(c.key ? { key: c.key } : {}), ...body }) },
                    applyLabel: 'Rotate',
                    apply: () => api.post(`${base}/${encodeURIComponent(c.id)}/rotate`, { body }),
                  });
                }
              }}
            />
          )}
          {data.length === 0 ? (
            <p className="empty">No credentials: this consumer cannot authenticate yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Key</th>
                    <th scope="col">Created</th>
                    <th scope="col">Expires</th>
                    <th scope="col">State</th>
                    {editable && (
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {data.map((c) => {
                    const state = credentialState(c);
                    const name = `${c.kind} ${c.key ?? c.id.slice(0, 8)}`;
                    return (
                      <tr key={c.id} className={state === 'active' ? undefined : 'disabled'}>
                        <td>{c.kind}</td>
                        <td className="mono">{c.key ?? <span className="muted">{c.id.slice(0, 8)}…</span>}</td>
                        <td>{c.created_at ? new Date(c.created_at).toLocaleString() : '—'}</td>
                        <td>{c.expires_at ? new Date(c.expires_at).toLocaleString() : 'never'}</td>
                        <td>
                          <span className={`badge ${state === 'active' ? 'on' : 'off'}`}>{state}</span>
                        </td>
                        {editable && (
                          <td>
                            <div className="actions">
                              {state === 'active' && (
                                <>
                                  <button type="button" className="secondary" aria-label={`Rotate ${name}`} onClick={() => { setSecret(undefined); setForm({ mode: 'rotate', credential: c }); }}>
                                    Rotate
                                  </button>
                                  <button
                                    type="button"
                                    className="secondary"
                                    aria-label={`Revoke ${name}`}
                                    onClick={() =>
                                      setChange({
                                        title: `Revoke ${name}?`,
                                        before: c,
                                        after: { ...c, revoked_at: 'now' },
                                        applyLabel: 'Revoke',
                                        apply: () => api.post(`${base}/${encodeURIComponent(c.id)}/revoke`),
                                      })
                                    }
                                  >
                                    Revoke
                                  </button>
                                </>
                              )}
                              <button
                                type="button"
                                className="secondary danger"
                                aria-label={`Delete ${name}`}
                                onClick={() =>
                                  setChange({ title: `Delete ${name}?`, before: c, after: undefined, applyLabel: 'Delete credential', apply: () => api.delete(`${base}/${encodeURIComponent(c.id)}`) })
                                }
                              >
                                Delete
                              </button>
                            </div>
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          {change && <ChangeDialog change={change} onClose={() => setChange(undefined)} onApplied={applied} />}
        </>
      )}
    </Section>
  );
}

function CredentialForm({ api, form, onCancel, onReview }: { api: ApiClient; form: Form; onCancel: () => void; onReview: (body: Record<string, unknown>) => void }) {
  const schemas = useResource(useCallback((signal: AbortSignal) => loadBodySchemas(api, signal), [api]));
  if (schemas.status === 'loading') return <p role="status">Loading the form…</p>;
  if (schemas.status === 'error') return <p className="error" role="alert">Could not load the form: {schemas.error.message}</p>;
  const schema = form.mode === 'create' ? schemas.data.create : schemas.data.rotate;
  return <BodyForm key={form.mode} schema={schema} label={form.mode === 'create' ? 'New credential' : `Rotate ${form.credential.kind} credential`} onCancel={onCancel} onReview={onReview} />;
}

function BodyForm({ schema, label, onCancel, onReview }: { schema: JsonSchema; label: string; onCancel: () => void; onReview: (body: Record<string, unknown>) => void }) {
  const [value, setValue] = useState<unknown>(() => defaultsOf(schema) ?? {});
  const [errors, setErrors] = useState<FieldError[]>([]);
  function submit(e: FormEvent) {
    e.preventDefault();
    const body = (prune(schema, value) ?? {}) as Record<string, unknown>;
    const problems = validateValue(schema, body);
    setErrors(problems);
    if (problems.length === 0) onReview(body);
  }
  return (
    <form noValidate onSubmit={submit} className="inline-form">
      <h3>{label}</h3>
      <SchemaForm label={label} schema={schema} value={value} onChange={setValue} errors={errors} />
      <div className="actions form-actions">
        <button type="submit">Review</button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
