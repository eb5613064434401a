/**
 * A readable rendering of an OpenAPI 3.x / Swagger 2.0 document: title, version, description, then each
 * path's operations with summary, parameters, request body and responses. Plain text only (no HTML or
 * Markdown from the document is interpreted, so a document cannot inject markup); local `$ref`s of
 * parameters, request bodies and responses are followed, other references are shown as their name.
 */
import type { ReactNode } from 'react';

type Obj = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Follows a local `#/a/b` reference (a few hops at most, so a cycle cannot loop). */
function resolve(doc: Obj, v: unknown): Obj | undefined {
  let cur = v;
  for (let hops = 0; hops < 5 && isObj(cur) && typeof cur.$ref === 'string'; hops++) {
    const ref = cur.$ref;
    if (!ref.startsWith('#/')) return undefined;
    let target: unknown = doc;
    for (const raw of ref.slice(2).split('/')) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      target = isObj(target) ? target[part] : undefined;
    }
    cur = target;
  }
  return isObj(cur) ? cur : undefined;
}

/** "string", "integer (int64)", "array of Pet", "Pet". */
function schemaText(doc: Obj, s: unknown): string {
  if (!isObj(s)) return '';
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop() ?? s.$ref;
  if (s.type === 'array') return `array of ${schemaText(doc, s.items) || 'any'}`;
  const t = Array.isArray(s.type) ? s.type.join(' | ') : str(s.type) ?? (Array.isArray(s.enum) ? 'enum' : '');
  const f = str(s.format);
  const e = Array.isArray(s.enum) ? `: ${s.enum.map(String).join(', ')}` : '';
  return `${t}${f ? ` (${f})` : ''}${e}`;
}

interface Param {
  name: string;
  in: string;
  required: boolean;
  type: string;
  description: string | undefined;
}

function params(doc: Obj, list: unknown): Param[] {
  if (!Array.isArray(list)) return [];
  const out: Param[] = [];
  for (const raw of list) {
    const p = resolve(doc, raw) ?? (isObj(raw) ? raw : undefined);
    if (!p || typeof p.name !== 'string') continue;
    out.push({ name: p.name, in: str(p.in) ?? '?', required: p.required === true, type: schemaText(doc, p.schema ?? p), description: str(p.description) });
  }
  return out;
}

function mergeParams(pathLevel: Param[], opLevel: Param[]): Param[] {
  const key = (p: Param) => `${p.in}:${p.name}`;
  const own = new Set(opLevel.map(key));
  return [...pathLevel.filter((p) => !own.has(key(p))), ...opLevel];
}

export function OpenApiView({ document: doc }: { document: Obj }) {
  const info = isObj(doc.info) ? doc.info : {};
  const paths = isObj(doc.paths) ? doc.paths : {};
  const entries = Object.entries(paths).filter(([, v]) => isObj(v));
  return (
    <div className="openapi">
      <p className="openapi-title">
        <strong>{str(info.title) ?? 'Untitled API'}</strong>
        {str(info.version) && <span className="muted"> · version {str(info.version)}</span>}
        <span className="muted"> · {str(doc.openapi) ? `OpenAPI ${str(doc.openapi)}` : 'Swagger 2.0'}</span>
      </p>
      {str(info.description) && <p className="openapi-description">{str(info.description)}</p>}
      {entries.length === 0 && <p className="empty">The document describes no paths.</p>}
      {entries.map(([path, raw]) => {
        const item = raw as Obj;
        const shared = params(doc, item.parameters);
        return METHODS.filter((m) => isObj(item[m])).map((m) => {
          const op = item[m] as Obj;
          return <Operation key={`${m} ${path}`} doc={doc} method={m} path={path} op={op} params={mergeParams(shared, params(doc, op.parameters))} />;
        });
      })}
    </div>
  );
}

function Operation({ doc, method, path, op, params: ps }: { doc: Obj; method: string; path: string; op: Obj; params: Param[] }) {
  const summary = str(op.summary) ?? str(op.operationId);
  const body = resolve(doc, op.requestBody) ?? (isObj(op.requestBody) ? op.requestBody : undefined);
  const responses = isObj(op.responses) ? Object.entries(op.responses) : [];
  const deprecated = op.deprecated === true;
  const details: ReactNode[] = [];
  if (str(op.description)) details.push(<p key="d">{str(op.description)}</p>);
  if (ps.length) {
    details.push(
      <div className="table-wrap" key="p">
        <table>
          <caption className="sr-only">Parameters</caption>
          <thead>
            <tr>
              <th scope="col">Parameter</th>
              <th scope="col">In</th>
              <th scope="col">Type</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {ps.map((p) => (
              <tr key={`${p.in}:${p.name}`}>
                <td className="mono">
                  {p.name}
                  {p.required && <span title="required"> *</span>}
                </td>
                <td>{p.in}</td>
                <td className="mono">{p.type}</td>
                <td>{p.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>,
    );
  }
  if (body && isObj(body.content)) {
    details.push(
      <p key="b">
        <span className="muted">Request body{body.required === true ? ' (required)' : ''}: </span>
        {Object.entries(body.content)
          .map(([type, media]) => `${type}${isObj(media) && media.schema ? ` — ${schemaText(doc, media.schema)}` : ''}`)
          .join('; ')}
      </p>,
    );
  }
  if (responses.length) {
    details.push(
      <ul key="r" className="openapi-responses">
        {responses.map(([code, r]) => {
          const res = resolve(doc, r) ?? (isObj(r) ? r : {});
          return (
            <li key={code}>
              <span className="mono">{code}</span> {str(res.description) ?? ''}
            </li>
          );
        })}
      </ul>,
    );
  }
  const head = (
    <>
      <span className={`method method-${method}`}>{method.toUpperCase()}</span> <span className="mono">{path}</span>
      {summary && <span className="op-summary"> — {summary}</span>}
      {deprecated && <span className="badge off"> deprecated</span>}
    </>
  );
  if (details.length === 0) return <div className="operation operation-plain">{head}</div>;
  return (
    <details className="operation">
      <summary>{head}</summary>
      <div className="operation-body">{details}</div>
    </details>
  );
}
