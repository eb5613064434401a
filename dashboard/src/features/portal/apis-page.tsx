/**
 * The APIs a developer's keys may call (`/ui/apis`, GET /me/apis): for each service, how to call it
 * (paths, methods, where the key goes) and its OpenAPI document, rendered by openapi-view.tsx.
 */
import { useCallback } from 'react';
import { Section } from '../../components/section';
import type { ApiClient } from '../../lib/api-client';
import { Link } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import { OpenApiView } from './openapi-view';
import type { DeveloperApi, DeveloperApiRoute } from './types';

function keyWhere(r: DeveloperApiRoute): string {
  const names = r.key_names.join(' or ');
  if (r.key_in_header && r.key_in_query) return `header or query parameter ${names}`;
  return r.key_in_header ? `header ${names}` : `query parameter ${names}`;
}

export function ApisPage({ api }: { api: ApiClient }) {
  const load = useCallback((signal: AbortSignal) => api.get<{ data: DeveloperApi[] }>('/me/apis', { signal }), [api]);
  const apis = useResource(load);
  return (
    <div className="portal-page">
      <Section title="APIs" level={1} state={apis} onRetry={apis.reload}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="empty">
              No API accepts your keys yet. An administrator decides which APIs your applications may call.
            </p>
          ) : (
            <p className="muted">
              {data.length === 1 ? 'One API accepts' : `${data.length} APIs accept`} the keys of your applications. Send the key as shown for each route; see{' '}
              <Link to="/ui/apps">My applications</Link> for keys.
            </p>
          )
        }
      </Section>
      {apis.status === 'ready' &&
        apis.data.data.map((a) => (
          <section key={a.service} className="card api-card" aria-labelledby={`api-${a.service}`}>
            <h2 id={`api-${a.service}`}>{a.service}</h2>
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Routes of {a.service}</caption>
                <thead>
                  <tr>
                    <th scope="col">Paths</th>
                    <th scope="col">Methods</th>
                    <th scope="col">Hosts</th>
                    <th scope="col">API key in</th>
                  </tr>
                </thead>
                <tbody>
                  {a.routes.map((r) => (
                    <tr key={r.name}>
                      <td className="mono">{r.paths.length ? r.paths.join(', ') : 'any path'}</td>
                      <td>{r.methods.length ? r.methods.join(', ') : 'any'}</td>
                      <td className="mono">{r.hosts.length ? r.hosts.join(', ') : 'any'}</td>
                      <td>{keyWhere(r)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="muted">
              {a.applications.length ? `Your applications allowed: ${a.applications.join(', ')}.` : 'Applications you create will be allowed.'}
            </p>
            {a.openapi.document ? (
              <OpenApiView document={a.openapi.document} />
            ) : a.openapi.error ? (
              <p className="error" role="alert">
                The API description could not be read: {a.openapi.error}
              </p>
            ) : (
              <p className="empty">This API has no OpenAPI description.</p>
            )}
          </section>
        ))}
    </div>
  );
}
