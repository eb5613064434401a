/**
 * The page of one entity: its settings, Edit (the generated form, then the change review) and Delete for
 * operators and admins, and what relates to it — a service's routes and plugins, a route's plugins, an
 * upstream's targets with their health and the services using it, a consumer's credentials and plugins.
 */
import { useCallback, useState } from 'react';
import { asPage, Section, Truncation } from '../../components/section';
import { stableJson } from '../../lib/line-diff';
import type { ApiClient, Page } from '../../lib/api-client';
import { Link, navigate, queryOf, setQueryParam, useLocation } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import { canEdit } from '../auth/roles';
import type { Session } from '../auth/session';
import { ChangeDialog, type PendingChange } from '../../components/change-dialog';
import { CredentialsSection } from './credentials-section';
import { EntityEditor } from './entity-editor';
import { EntityTable } from './entity-table';
import { apiPath, detailHref, entityLabel, KINDS, keyOf, type Entity, type EntityKind } from './kinds';
import { TargetsSection } from './targets-section';

export function EntityDetailPage({ api, session, kind, entityKey }: { api: ApiClient; session: Session; kind: EntityKind; entityKey: string }) {
  const info = KINDS[kind];
  const editable = canEdit(session.role);
  const location = useLocation();
  const editing = editable && queryOf(location).get('edit') === '1';
  const [remove, setRemove] = useState<PendingChange | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const entity = useResource(useCallback((signal: AbortSignal) => api.get<Entity>(apiPath(kind, entityKey), { signal }), [api, kind, entityKey]));
  const title = entity.status === 'ready' ? `${info.singular[0]!.toUpperCase()}${info.singular.slice(1)} ${entityLabel(kind, entity.data)}` : `${info.title}: ${entityKey}`;

  return (
    <div className={`config-page config-detail config-${kind}`}>
      <p className="breadcrumb">
        <Link to={info.listPath}>{info.title}</Link> <span aria-hidden="true">/</span> <span>{entity.status === 'ready' ? entityLabel(kind, entity.data) : entityKey}</span>
      </p>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {editing && entity.status === 'ready' && (
        <EntityEditor
          key={stableJson(entity.data)}
          api={api}
          kind={kind}
          initial={entity.data}
          onCancel={() => setQueryParam('edit', '')}
          onSaved={(saved) => {
            setNotice(`Saved ${info.singular} ${entityLabel(kind, saved)}.`);
            const newKey = keyOf(kind, saved);
            if (newKey && newKey !== entityKey) navigate(detailHref(kind, newKey), { replace: true });
            else {
              setQueryParam('edit', '');
              entity.reload();
            }
          }}
        />
      )}
      <Section
        title={title}
        level={1}
        state={entity}
        onRetry={entity.reload}
        actions={
          editable && entity.status === 'ready' ? (
            <>
              {!editing && (
                <button type="button" onClick={() => setQueryParam('edit', '1')}>
                  Edit
                </button>
              )}
              <button
                type="button"
                className="secondary danger"
                onClick={() =>
                  setRemove({
                    title: `Delete ${info.singular} ${entityLabel(kind, entity.data)}?`,
                    before: entity.data,
                    after: undefined,
                    applyLabel: `Delete ${info.singular}`,
                    apply: () => api.delete(apiPath(kind, entityKey)),
                  })
                }
              >
                Delete
              </button>
            </>
          ) : undefined
        }
      >
        {(e) => <Settings kind={kind} entity={e} />}
      </Section>
      {entity.status === 'ready' && <Related api={api} session={session} kind={kind} entity={entity.data} onChanged={entity.reload} />}
      {remove && (
        <ChangeDialog
          change={remove}
          onClose={() => setRemove(undefined)}
          onApplied={() => {
            setRemove(undefined);
            navigate(info.listPath);
          }}
        />
      )}
    </div>
  );
}

/** The entity's fields as a definition list; nested values as compact JSON. */
function Settings({ kind, entity }: { kind: EntityKind; entity: Entity }) {
  const rows = Object.entries(entity).filter(([k]) => !(kind === 'upstreams' && k === 'targets'));
  return (
    <dl className="settings">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd className={typeof v === 'object' && v !== null ? 'mono' : undefined}>{show(kind, k, v)}</dd>
        </div>
      ))}
    </dl>
  );
}

function show(kind: EntityKind, field: string, v: unknown) {
  if (typeof v === 'string' && ['service', 'route', 'consumer'].includes(field) && (kind === 'routes' || kind === 'plugins')) {
    return <Link to={detailHref(field === 'service' ? 'services' : field === 'route' ? 'routes' : 'consumers', v)}>{v}</Link>;
  }
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return v.length ? v.join(', ') : <span className="muted">none</span>;
  if (typeof v === 'object' && v !== null) return <code className="settings-json">{JSON.stringify(v)}</code>;
  return String(v);
}

function Related({ api, session, kind, entity, onChanged }: { api: ApiClient; session: Session; kind: EntityKind; entity: Entity; onChanged: () => void }) {
  const key = keyOf(kind, entity);
  switch (kind) {
    case 'services':
      return (
        <>
          <RelatedList api={api} session={session} kind="routes" title="Routes of this service" path={`/services/${encodeURIComponent(key)}/routes`} newHref={`/ui/routes?new=1&service=${encodeURIComponent(key)}`} />
          <RelatedList api={api} session={session} kind="plugins" title="Plugins on this service" path={`/plugins?service=${encodeURIComponent(key)}`} newHref={`/ui/plugins?new=1&service=${encodeURIComponent(key)}`} />
        </>
      );
    case 'routes':
      return <RelatedList api={api} session={session} kind="plugins" title="Plugins on this route" path={`/plugins?route=${encodeURIComponent(key)}`} newHref={`/ui/plugins?new=1&route=${encodeURIComponent(key)}`} />;
    case 'upstreams':
      return (
        <>
          <TargetsSection api={api} session={session} upstream={key} onChanged={onChanged} />
          <RelatedList api={api} session={session} kind="services" title="Services balanced over this upstream" path={`/services?host=${encodeURIComponent(key)}`} />
        </>
      );
    case 'consumers':
      return (
        <>
          <CredentialsSection api={api} session={session} consumer={key} />
          <RelatedList api={api} session={session} kind="plugins" title="Plugins for this consumer" path={`/plugins?consumer=${encodeURIComponent(key)}`} newHref={`/ui/plugins?new=1&consumer=${encodeURIComponent(key)}`} />
        </>
      );
    default:
      return null;
  }
}

function RelatedList({ api, session, kind, title, path, newHref }: { api: ApiClient; session: Session; kind: EntityKind; title: string; path: string; newHref?: string }) {
  const list = useResource(useCallback(async (signal: AbortSignal) => asPage(await api.get<Page<Entity> | Entity[]>(path, { signal })), [api, path]));
  const info = KINDS[kind];
  return (
    <Section
      title={title}
      state={list}
      onRetry={list.reload}
      actions={
        newHref && canEdit(session.role) ? (
          <button type="button" className="secondary" onClick={() => navigate(newHref)}>
            Add {info.singular}
          </button>
        ) : undefined
      }
    >
      {(page) =>
        page.data.length === 0 ? (
          <p className="empty">None.</p>
        ) : (
          <>
            <EntityTable kind={kind} entities={page.data} />
            <Truncation page={page} noun={info.plural} />
          </>
        )
      }
    </Section>
  );
}
