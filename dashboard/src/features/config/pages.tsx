/** The Configure pages as routes.tsx renders them: one list and one detail page per entity kind. */
import type { PageContext } from '../../routes';
import { EntityDetailPage } from './entity-detail-page';
import { EntityListPage } from './entity-list-page';
import { KINDS, type EntityKind } from './kinds';

export function listPage(kind: EntityKind) {
  return function render({ api, session }: PageContext) {
    return <EntityListPage key={kind} api={api} session={session!} kind={kind} />;
  };
}

export function detailPage(kind: EntityKind) {
  const param = KINDS[kind].key === 'id' ? 'id' : 'name';
  return function render({ api, session, params }: PageContext) {
    const key = params[param] ?? '';
    return <EntityDetailPage key={`${kind}/${key}`} api={api} session={session!} kind={kind} entityKey={key} />;
  };
}
