/**
 * A developer's applications (`/ui/apps`): create one (a consumer of the gateway with its own keys),
 * open one for its keys, limits and usage, or delete it with its keys after reviewing the change.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { ChangeDialog, errorMessage } from '../../components/change-dialog';
import { Section } from '../../components/section';
import type { ApiClient } from '../../lib/api-client';
import { formErrors, NO_ERRORS, type FormErrors } from '../../lib/form-errors';
import { Link, pathTo } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import { appPath, type Application } from './types';

export function AppsPage({ api }: { api: ApiClient }) {
  const load = useCallback((signal: AbortSignal) => api.get<{ data: Application[] }>('/me/applications', { signal }), [api]);
  const apps = useResource(load);
  const [name, setName] = useState('');
  const [creating, setCreating] = useState(false);
  const [createErrors, setCreateErrors] = useState<FormErrors>(NO_ERRORS);
  const [deleting, setDeleting] = useState<Application | undefined>();

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setCreating(true);
    setCreateErrors(NO_ERRORS);
    try {
      await api.post<Application>('/me/applications', { body: { name: name.trim() } });
      setName('');
      apps.reload();
    } catch (e) {
      setCreateErrors(formErrors(e, ['name']));
    } finally {
      setCreating(false);
    }
  }

  const nameError = createErrors.fields.name;
  return (
    <div className="portal-page">
      <Section title="My applications" level={1} state={apps} onRetry={apps.reload}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="empty">No applications yet. Create one below to get an API key.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Application</th>
                    <th scope="col">Consumer</th>
                    <th scope="col">Groups</th>
                    <th scope="col">Active keys</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((a) => (
                    <tr key={a.name}>
                      <td>
                        <Link to={pathTo('/ui/apps/:app', { app: a.name })}>{a.name}</Link>
                      </td>
                      <td className="mono">{a.consumer}</td>
                      <td>{a.groups.length ? a.groups.join(', ') : <span className="muted">none</span>}</td>
                      <td>{a.keys}</td>
                      <td>
                        <button type="button" className="secondary" onClick={() => setDeleting(a)} aria-label={`Delete ${a.name}`}>
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Section>
      <form className="card portal-form" onSubmit={(e) => void create(e)} aria-labelledby="create-app-title" noValidate>
        <h2 id="create-app-title">Create an application</h2>
        {createErrors.form && (
          <p className="error" role="alert">
            {createErrors.form}
          </p>
        )}
        <div className="inline-form">
          <label>
            Name
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={nameError ? true : undefined} aria-describedby="create-app-help" />
          </label>
          <button type="submit" disabled={creating || !name.trim()}>
            {creating ? 'Creating…' : 'Create application'}
          </button>
        </div>
        <span className="field-help muted" id="create-app-help">
          Lower-case letters, digits, _ and -, up to 40 characters.
        </span>
        {nameError && <span className="field-error">{nameError}</span>}
      </form>
      {deleting && (
        <ChangeDialog
          change={{
            title: `Delete application ${deleting.name} and its keys`,
            before: deleting,
            after: undefined,
            applyLabel: 'Delete application',
            apply: () => api.delete(appPath(deleting.name)),
          }}
          renderError={errorMessage}
          onClose={() => setDeleting(undefined)}
          onApplied={() => {
            setDeleting(undefined);
            apps.reload();
          }}
        />
      )}
    </div>
  );
}
