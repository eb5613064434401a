/**
 * TLS certificates of the HTTPS listener (`/ui/certificates`): each one's server names, issuer and how
 * long it stays valid, so one about to expire is seen here before clients see it. Operators upload a
 * chain and its key (a name that exists is replaced) and delete, through the change review like every
 * other config write. Keys are write-only: the admin API never returns them, and the review only says
 * that one is set. Certificates the ACME manager obtains appear here too (it stores them by name).
 */
import { useCallback, useState, type ChangeEvent, type FormEvent } from 'react';
import { ChangeDialog, type PendingChange } from '../../components/change-dialog';
import { Section } from '../../components/section';
import type { ApiClient, FieldError } from '../../lib/api-client';
import { NO_ERRORS, splitFieldErrors, type FormErrors } from '../../lib/form-errors';
import { useResource } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Role } from '../auth/session';

/** GET /certificates (CertificateView): never the key. */
export interface Certificate {
  name: string;
  cert: string;
  snis: string[];
  default: boolean;
  tags: string[];
  subject: string;
  issuer: string;
  not_before: string;
  not_after: string;
  fingerprint256: string;
}

const DAY_MS = 86_400_000;
/** Let's Encrypt renews 30 days before expiry; a certificate closer than that needs someone's attention. */
export const EXPIRY_WARNING_DAYS = 30;

export interface Expiry {
  state: 'expired' | 'soon' | 'ok';
  /** Whole days left (negative: days since it expired). */
  days: number;
  text: string;
}

export function expiryOf(notAfter: string, now: number): Expiry {
  const left = Date.parse(notAfter) - now;
  if (!Number.isFinite(left)) return { state: 'ok', days: 0, text: 'unknown' };
  if (left <= 0) {
    const ago = Math.floor(-left / DAY_MS);
    return { state: 'expired', days: -ago, text: ago === 0 ? 'expired today' : `expired ${ago} day${ago === 1 ? '' : 's'} ago` };
  }
  const days = Math.floor(left / DAY_MS);
  const text = days === 0 ? 'expires within a day' : `${days} day${days === 1 ? '' : 's'} left`;
  return { state: days < EXPIRY_WARNING_DAYS ? 'soon' : 'ok', days, text };
}

/** Server names typed as a list: commas or white space between them, duplicates dropped. */
export function parseNames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** How the review shows a PEM chain: how many certificates, not the base64. */
function chainSummary(pem: string): string {
  const n = (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  return `PEM chain, ${n} certificate${n === 1 ? '' : 's'}`;
}

function reviewView(c: { name: string; snis: string[]; default: boolean; cert: string }, key: string) {
  return { name: c.name, snis: c.snis, default: c.default, cert: chainSummary(c.cert), key };
}

const FIELDS = ['name', 'cert', 'key', 'snis', 'default'] as const;

function fieldErrors(errors: readonly FieldError[]): FormErrors {
  const { fields, other } = splitFieldErrors(errors, FIELDS);
  return { fields, form: other.length ? other.join('; ') : undefined };
}

export interface CertificatesPageProps {
  api: ApiClient;
  role: Role;
  /** Milliseconds since the epoch, for the days left (tests pin it). */
  now?: () => number;
}

export function CertificatesPage({ api, role, now = Date.now }: CertificatesPageProps) {
  const load = useCallback((signal: AbortSignal) => api.get<{ data: Certificate[] }>('/certificates', { signal }), [api]);
  const certs = useResource(load);
  const edit = canEdit(role);
  const [change, setChange] = useState<PendingChange | undefined>();
  const [formErrors, setFormErrors] = useState<FormErrors>(NO_ERRORS);
  const [replacing, setReplacing] = useState<string | undefined>();
  const [formKey, setFormKey] = useState(0);
  const list = certs.status === 'ready' ? certs.data.data : [];

  function reviewDelete(c: Certificate) {
    setChange({
      title: `Delete certificate ${c.name}`,
      before: reviewView(c, '(stored, encrypted)'),
      after: null,
      applyLabel: 'Delete',
      apply: () => api.delete(`/certificates/${encodeURIComponent(c.name)}`),
    });
  }

  function reviewUpload(input: Upload) {
    const existing = list.find((c) => c.name === input.name);
    const body = { name: input.name, cert: input.cert, key: input.key, ...(input.snis.length ? { snis: input.snis } : {}), default: input.default };
    setFormErrors(NO_ERRORS);
    setChange({
      title: existing ? `Replace certificate ${input.name}` : `Add certificate ${input.name}`,
      before: existing ? reviewView(existing, '(stored, encrypted)') : null,
      // Without names the server takes the certificate's own DNS names: say so rather than show [].
      after: reviewView({ ...input, snis: input.snis.length ? input.snis : ['(the certificate’s DNS names)'] }, '(new; encrypted, never shown again)'),
      applyLabel: existing ? 'Replace' : 'Add',
      apply: () => (existing ? api.put(`/certificates/${encodeURIComponent(input.name)}`, { body }) : api.post('/certificates', { body })),
    });
  }

  return (
    <div className="certificates-page">
      <Section title="Certificates" level={1} state={certs} onRetry={certs.reload} actions={<button type="button" className="secondary" onClick={certs.reload}>Refresh</button>}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="empty">No certificates: the HTTPS listener has nothing to present.{edit ? ' Add one below, or turn on ACME (GATEHOUSE_ACME_*).' : ''}</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Certificate</th>
                    <th scope="col">Server names</th>
                    <th scope="col">Issuer</th>
                    <th scope="col">Valid until</th>
                    {edit && (
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {data.map((c) => {
                    const x = expiryOf(c.not_after, now());
                    return (
                      <tr key={c.name}>
                        <td>
                          {c.name} {c.default && <span className="badge on">default</span>}
                          <div className="muted" title={c.fingerprint256}>
                            {c.subject}
                          </div>
                        </td>
                        <td>{c.snis.length ? c.snis.join(', ') : <span className="muted">none</span>}</td>
                        <td>{c.issuer}</td>
                        <td>
                          {new Date(c.not_after).toLocaleDateString()}{' '}
                          <span className={`badge ${x.state === 'expired' ? 'bad' : x.state === 'soon' ? 'warn' : 'off'}`}>{x.text}</span>
                        </td>
                        {edit && (
                          <td>
                            <div className="actions">
                              <button
                                type="button"
                                className="secondary"
                                onClick={() => {
                                  setReplacing(c.name);
                                  setFormKey((k) => k + 1);
                                }}
                                aria-label={`Replace ${c.name}`}
                              >
                                Replace…
                              </button>
                              <button type="button" className="secondary" onClick={() => reviewDelete(c)} aria-label={`Delete ${c.name}`}>
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
          )
        }
      </Section>
      {edit && (
        <UploadForm
          key={formKey}
          initialName={replacing ?? ''}
          initial={list.find((c) => c.name === replacing)}
          errors={formErrors}
          onReview={reviewUpload}
        />
      )}
      {change && (
        <ChangeDialog
          change={change}
          onClose={() => setChange(undefined)}
          onFieldErrors={(errors) => setFormErrors(fieldErrors(errors))}
          onApplied={() => {
            setChange(undefined);
            setReplacing(undefined);
            setFormErrors(NO_ERRORS);
            setFormKey((k) => k + 1);
            certs.reload();
          }}
        />
      )}
    </div>
  );
}

interface Upload {
  name: string;
  cert: string;
  key: string;
  snis: string[];
  default: boolean;
}

function UploadForm({ initialName, initial, errors, onReview }: { initialName: string; initial: Certificate | undefined; errors: FormErrors; onReview: (u: Upload) => void }) {
  const [name, setName] = useState(initialName);
  const [cert, setCert] = useState('');
  const [key, setKey] = useState('');
  const [snis, setSnis] = useState(initial ? initial.snis.join(', ') : '');
  const [isDefault, setDefault] = useState(initial?.default ?? false);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onReview({ name: name.trim(), cert: cert.trim() + '\n', key: key.trim() + '\n', snis: parseNames(snis), default: isDefault });
  }

  const invalid = (f: string) => (errors.fields[f] ? true : undefined);
  return (
    <section className="card" aria-labelledby="upload-title">
      <h2 id="upload-title">{initial ? `Replace ${initial.name}` : 'Add a certificate'}</h2>
      <form className="certificate-form" onSubmit={submit} noValidate>
        {errors.form && (
          <p className="error" role="alert">
            {errors.form}
          </p>
        )}
        <div className="form-row">
          <label>
            Name
            <input name="cert-name" value={name} onChange={(e) => setName(e.target.value)} readOnly={initial !== undefined} aria-invalid={invalid('name')} />
            {errors.fields.name && <span className="field-error">{errors.fields.name}</span>}
          </label>
          <label>
            Server names (optional)
            <input name="cert-snis" value={snis} onChange={(e) => setSnis(e.target.value)} placeholder="api.example.com, *.example.com" aria-invalid={invalid('snis')} />
            {errors.fields.snis && <span className="field-error">{errors.fields.snis}</span>}
          </label>
          <label className="check">
            <input type="checkbox" checked={isDefault} onChange={(e) => setDefault(e.target.checked)} />
            Default (clients without a matching server name)
          </label>
        </div>
        <PemField label="Certificate chain (PEM: the leaf first, then intermediates)" fileLabel="Or choose the chain file" accept=".pem,.crt,.cer" name="cert-pem" rows={6} value={cert} onChange={setCert} error={errors.fields.cert} />
        <PemField label="Private key (PEM; stored encrypted and never shown again)" fileLabel="Or choose the key file" accept=".pem,.key" name="cert-key" rows={4} value={key} onChange={setKey} error={errors.fields.key} />
        <button type="submit" disabled={!name.trim() || !cert.trim() || !key.trim()}>
          Review
        </button>
      </form>
    </section>
  );
}

interface PemFieldProps {
  label: string;
  fileLabel: string;
  accept: string;
  name: string;
  rows: number;
  value: string;
  onChange: (text: string) => void;
  error: string | undefined;
}

/** A PEM text area, and a file picker that fills it (the text stays editable). */
function PemField({ label, fileLabel, accept, name, rows, value, onChange, error }: PemFieldProps) {
  const fromFile = (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    if (f) void f.text().then(onChange);
  };
  return (
    <>
      <label>
        {label}
        <textarea name={name} rows={rows} value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false} autoComplete="off" aria-invalid={error ? true : undefined} />
        {error && <span className="field-error">{error}</span>}
      </label>
      <label>
        {fileLabel}
        <input type="file" accept={accept} onChange={fromFile} />
      </label>
    </>
  );
}
