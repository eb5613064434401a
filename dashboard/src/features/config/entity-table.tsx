/**
 * The table of one entity kind, used by the list pages and by related lists on detail pages (a
 * service's routes, a consumer's plugins): the name links to the detail page, the columns fit the kind.
 */
import type { ReactNode } from 'react';
import { Link } from '../../lib/router';
import { detailHref, entityLabel, keyOf, pluginScope, serviceTarget, type Entity, type EntityKind } from './kinds';

interface Column {
  header: string;
  cell: (e: Entity) => ReactNode;
  mono?: boolean;
}

const list = (v: unknown, empty = 'any') => (Array.isArray(v) && v.length ? v.join(' ') : <span className="muted">{empty}</span>);
const enabled = (e: Entity) => (e.enabled === false ? <span className="badge off">disabled</span> : <span className="badge on">enabled</span>);
const tags = (e: Entity) => list(e.tags, '—');

const COLUMNS: Record<EntityKind, Column[]> = {
  services: [
    { header: 'Target', cell: serviceTarget, mono: true },
    { header: 'State', cell: enabled },
    { header: 'Tags', cell: tags },
  ],
  routes: [
    { header: 'Service', cell: (r) => (typeof r.service === 'string' ? <Link to={detailHref('services', r.service)}>{r.service}</Link> : <span className="muted">none</span>) },
    { header: 'Paths', cell: (r) => list(r.paths), mono: true },
    { header: 'Methods', cell: (r) => list(r.methods) },
    { header: 'Hosts', cell: (r) => list(r.hosts), mono: true },
    { header: 'State', cell: enabled },
  ],
  upstreams: [
    { header: 'Algorithm', cell: (u) => String(u.algorithm ?? 'round-robin') },
    { header: 'Targets', cell: (u) => (Array.isArray(u.targets) ? u.targets.length : 0) },
    { header: 'Tags', cell: tags },
  ],
  consumers: [
    { header: 'Custom id', cell: (c) => (typeof c.custom_id === 'string' ? c.custom_id : <span className="muted">—</span>) },
    { header: 'Groups', cell: (c) => list(c.groups, '—') },
    { header: 'Tags', cell: tags },
  ],
  plugins: [
    { header: 'Applies to', cell: pluginScope },
    { header: 'State', cell: enabled },
  ],
};

export function EntityTable({ kind, entities, actions }: { kind: EntityKind; entities: Entity[]; actions?: (e: Entity) => ReactNode }) {
  const columns = COLUMNS[kind];
  return (
    <div className="table-wrap">
      <table className="entity-table">
        <thead>
          <tr>
            <th scope="col">{kind === 'consumers' ? 'Username' : kind === 'plugins' ? 'Plugin' : 'Name'}</th>
            {columns.map((c) => (
              <th scope="col" key={c.header}>
                {c.header}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {entities.map((e) => (
            <tr key={keyOf(kind, e)} className={e.enabled === false ? 'disabled' : undefined}>
              <td>
                <Link to={detailHref(kind, keyOf(kind, e))} aria-label={kind === 'plugins' ? entityLabel(kind, e) : undefined}>
                  {kind === 'plugins' ? String(e.name) : keyOf(kind, e)}
                </Link>
              </td>
              {columns.map((c) => (
                <td key={c.header} className={c.mono ? 'mono' : undefined}>
                  {c.cell(e)}
                </td>
              ))}
              {actions && <td className="row-actions">{actions(e)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
