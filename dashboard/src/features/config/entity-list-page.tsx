/**
 * The list page of one entity kind: search (the `q` query parameter, passed to the API's `search`), a
 * table, and for operators and admins New / Delete. Creating opens the generated form above the list;
 * deleting opens the change review. The list reloads after every applied change.
 */
import { useCallback, useEffect, useState } from 'react';
import { asPage, Section, Truncation } from '../../components/section';
import type { Session } from '../auth/session';
import { canEdit } from '../auth/roles';
import type { ApiClient, Page } from '../../lib/api-client';
import { navigate, queryOf, setQueryParam, useLocation } from '../../lib/router';
import { useResource } from '../../lib/use-resource';
import { ChangeDialog, type PendingChange } from '../../components/change-dialog';
import { EntityEditor } from './entity-editor';
import { EntityTable } from './entity-table';
import { apiPath, detailHref, entityLabel, KINDS, keyOf, type Entity, type EntityKind } from './kinds';

export function EntityListPage({ api, session, kind }: { api: ApiClient; session: Session; kind: EntityKind }) {
  const info = KINDS[kind];
  const location = useLocation();
  const { q, creating, preset } = readQuery(location);
  const editable = canEdit(session.role);
  const [remove, setRemove] = useState<PendingChange | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  const list = useResource(
    useCallback(
      async (signal: AbortSignal) => {
        const params = new URLSearchParams();
        if (q) params.set('search', q);
        const qs = params.toString();
        return asPage(await api.get<Page<Entity> | Entity[]>(`/${kind}${qs ? `?${qs}` : ''}`, { signal }));
      },
      [api, kind, q],
    ),
  );

  function askDelete(e: Entity) {
    const key = keyOf(kind, e);
    setNotice(undefined);
    setRemove({
      title: `Delete ${info.singular} ${entityLabel(kind, e)}?`,
      before: e,
      after: undefined,
      applyLabel: `Delete ${info.singular}`,
      apply: () => api.delete(apiPath(kind, key)),
    });
  }

  return (
    <div className={`config-page config-${kind}`}>
      {editable && creating && (
        <EntityEditor
          api={api}
          kind={kind}
          preset={preset}
          onCancel={() => setQueryParam('new', '')}
          onSaved={(saved) => {
            setNotice(`Created ${info.singular} ${entityLabel(kind, saved)}.`);
            setQueryParam('new', '');
            list.reload();
          }}
        />
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <Section
        title={info.title}
        level={1}
        state={list}
        onRetry={list.reload}
        actions={
          <>
            <SearchBox label={`Search ${info.plural}`} value={q} />
            {editable && !creating && (
              <button type="button" onClick={() => navigate(`${info.listPath}?new=1`)}>
                New {info.singular}
              </button>
            )}
          </>
        }
      >
        {(page) =>
          page.data.length === 0 ? (
            <p className="empty">{q ? `No ${info.plural} match “${q}”.` : `No ${info.plural} yet.`}</p>
          ) : (
            <>
              <EntityTable
                kind={kind}
                entities={page.data}
                actions={
                  editable
                    ? (e) => (
                        <div className="actions">
                          <button type="button" className="secondary" onClick={() => navigate(`${detailHref(kind, keyOf(kind, e))}?edit=1`)} aria-label={`Edit ${entityLabel(kind, e)}`}>
                            Edit
                          </button>
                          <button type="button" className="secondary danger" onClick={() => askDelete(e)} aria-label={`Delete ${entityLabel(kind, e)}`}>
                            Delete
                          </button>
                        </div>
                      )
                    : undefined
                }
              />
              <Truncation page={page} noun={info.plural} />
            </>
          )
        }
      </Section>
      {remove && (
        <ChangeDialog
          change={remove}
          onClose={() => setRemove(undefined)}
          onApplied={() => {
            setNotice(`Deleted ${remove.title.replace(/^Delete |\?$/g, '')}.`);
            setRemove(undefined);
            list.reload();
          }}
        />
      )}
    </div>
  );
}

/** `?new=1&service=orders` starts a creation with the service filled in (links from detail pages). */
function readQuery(location: string): { q: string; creating: boolean; preset: Entity } {
  const query = queryOf(location);
  const preset: Entity = {};
  for (const field of ['service', 'route', 'consumer']) {
    const v = query.get(field);
    if (v) preset[field] = v;
  }
  return { q: query.get('q') ?? '', creating: query.get('new') === '1', preset };
}

/** Search as you type; the query parameter follows after a short pause so each keystroke is not a request. */
export function SearchBox({ label, value }: { label: string; value: string }) {
  // `sent` tells our own update of the query parameter from a navigation (Back, a nav link), which resets the box.
  const [s, setS] = useState({ text: value, seen: value, sent: value });
  if (value !== s.seen) setS({ text: value === s.sent ? s.text : value, seen: value, sent: s.sent });
  const wanted = s.text.trim();
  useEffect(() => {
    if (wanted === s.seen) return;
    const timer = setTimeout(() => send(wanted), 250);
    return () => clearTimeout(timer);
  }, [wanted, s.seen]);
  function send(q: string) {
    setS((x) => ({ ...x, sent: q }));
    setQueryParam('q', q);
  }
  return (
    <input
      type="search"
      className="search-box"
      aria-label={label}
      placeholder={label}
      value={s.text}
      onChange={(e) => setS({ ...s, text: e.target.value })}
      onKeyDown={(e) => {
        if (e.key === 'Enter') send(wanted);
      }}
    />
  );
}
