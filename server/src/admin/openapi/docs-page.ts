/**
 * A self-contained HTML page listing the admin API from /openapi.json; no CDN (the gateway may run
 * without internet access), no framework. Its inline style and script are allowed by hash in the page's
 * Content-Security-Policy (DOCS_CSP), so the admin listener's policy needs no 'unsafe-inline'.
 */
import { cspWithInline } from '../security/security-headers.js';

const STYLE = `
  body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2330; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
  .op { display: grid; grid-template-columns: 5rem 22rem 1fr 5rem; gap: .5rem; padding: .25rem 0; border-bottom: 1px solid #f0f0f0; }
  .m { font-weight: 600; text-transform: uppercase; } .get { color: #0a6; } .post { color: #06c; } .put, .patch { color: #a60; } .delete { color: #c22; }
  code { font-family: ui-monospace, monospace; } .role { color: #666; font-size: .85em; }
  details { margin-left: 5.5rem; } pre { background: #f6f7f9; padding: .5rem; overflow: auto; max-height: 20rem; }
`;

const SCRIPT = `
(async function renderDocs() {
  const root = document.getElementById('ops');
  const spec = await (await fetch('openapi.json')).json();
  root.textContent = '';
  const byTag = new Map();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  const el = (name, cls, text) => { const e = document.createElement(name); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  for (const [tag, ops] of byTag) {
    root.append(el('h2', '', tag));
    for (const { path, method, op } of ops) {
      const row = el('div', 'op');
      row.append(el('span', 'm ' + method, method), el('code', '', path), el('span', '', op.summary || ''), el('span', 'role', op['x-gatehouse-role'] || ''));
      root.append(row);
      const body = op.requestBody && op.requestBody.content['application/json'];
      if (body) {
        const d = el('details'); d.append(el('summary', '', 'request body'), el('pre', '', JSON.stringify(body.schema, null, 2)));
        root.append(d);
      }
    }
  }
})().catch((e) => { document.getElementById('ops').textContent = 'Could not load openapi.json: ' + e; });
`;

export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse admin API</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Gatehouse admin API</h1>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> from <code>POST /auth/login</code>.</p>
<div id="ops">Loading…</div>
<script>${SCRIPT}</script>
</body>
</html>
`;

export const DOCS_CSP = cspWithInline({ scripts: [SCRIPT], styles: [STYLE] });
