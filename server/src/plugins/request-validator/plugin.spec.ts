import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Reply, type Upstream } from '../../proxy/test-support/harness.js';
import type { FieldError } from './plugin.js';
import { RequestValidatorSchema } from './schema.js';
import { TemplateRouter } from './openapi.js';

/** What the upstream received: method, target and the exact body bytes. */
interface Received {
  method: string;
  url: string;
  body: string;
  bodyBytes: number;
}

interface Invalid {
  status: number;
  code: string;
  detail: string;
  request_id: string;
  errors: FieldError[];
}

function bodyEcho(req: IncomingMessage, res: ServerResponse): void {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const b = Buffer.concat(parts);
    const out: Received = { method: req.method!, url: req.url!, body: b.toString(), bodyBytes: b.length };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(out));
  });
}

const json = (body: unknown, extra: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...extra }, body: typeof body === 'string' ? body : JSON.stringify(body) });

function expectInvalid(r: Reply, errors: Partial<FieldError>[]): Invalid {
  expect(r.status, r.body).toBe(400);
  expect(r.headers['content-type']).toBe('application/problem+json');
  const p = r.json<Invalid>();
  expect(p.code).toBe('GW_ERR_REQUEST_INVALID');
  expect(p.errors).toHaveLength(errors.length);
  errors.forEach((e, i) => expect(p.errors[i]).toMatchObject(e));
  return p;
}

const ORDER_SCHEMA = {
  type: 'object',
  required: ['customer', 'items'],
  additionalProperties: false,
  properties: {
    customer: { type: 'string', minLength: 1 },
    items: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } } },
    },
  },
};

const OPENAPI_YAML = `
openapi: 3.0.3
info: { title: Orders, version: '1' }
servers:
  - url: https://api.example.com/{base}
    variables: { base: { default: v1 } }
paths:
  /orders/latest:
    get:
      responses: { '200': { description: ok } }
  /orders/{id}:
    parameters:
      - name: id
        in: path
        required: true
        schema: { type: integer, minimum: 1 }
    get:
      parameters:
        - name: expand
          in: query
          schema: { type: boolean }
        - name: fields
          in: query
          explode: false
          schema: { type: array, items: { type: string, enum: [id, note, items] } }
        - name: X-Tenant
          in: header
          required: true
          schema: { type: string, pattern: '^[a-z]+$' }
      responses: { '200': { description: ok } }
    post:
      requestBody:
        $ref: '#/components/requestBodies/OrderBody'
      responses: { '201': { description: created } }
  /files/{name}.json:
    get:
      parameters:
        - { name: name, in: path, required: true, schema: { type: string, maxLength: 5 } }
      responses: { '200': { description: ok } }
components:
  requestBodies:
    OrderBody:
      required: true
      content:
        application/json:
          schema: { $ref: '#/components/schemas/Order' }
  schemas:
    Order:
      type: object
      required: [items]
      additionalProperties: false
      properties:
        note: { type: string, nullable: true, example: 'ring twice' }
        items:
          type: array
          minItems: 1
          items: { $ref: '#/components/schemas/Item' }
    Item:
      type: object
      required: [sku, qty]
      x-owner: team-orders
      properties:
        sku: { type: string }
        qty: { type: integer, minimum: 1, maximum: 100, exclusiveMaximum: true }
`;

describe('request-validator', () => {
  let up: Upstream;
  let gw: Gateway;

  beforeAll(async () => {
    up = await startUpstream(bodyEcho);
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'orders', service: 's', paths: ['/orders'], strip_path: false },
        { name: 'verbose', service: 's', paths: ['/verbose'] },
        { name: 'search', service: 's', paths: ['/search'] },
        { name: 'things', service: 's', paths: ['~/things/(?<id>[^/]+)$'] },
        { name: 'api', service: 's', paths: ['/v1'], strip_path: false },
        { name: 'strict-api', service: 's', paths: ['/strict'], strip_path: false },
        { name: 'shop', service: 's', paths: ['/shop'] },
        { name: 'api31', service: 's', paths: ['/api31'] },
        { name: 'broken', service: 's', paths: ['/broken'] },
      ],
      plugins: [
        { name: 'request-validator', route: 'orders', config: { body_schema: ORDER_SCHEMA, body_required: true, headers_schema: { type: 'object', required: ['X-Tenant'] } } },
        { name: 'request-validator', route: 'verbose', config: { body_schema: ORDER_SCHEMA, verbose_response: true, max_body_size: 256 } },
        {
          name: 'request-validator',
          route: 'search',
          config: { query_schema: { type: 'object', required: ['limit'], properties: { limit: { type: 'integer', maximum: 50 }, tag: { type: 'array', items: { type: 'string' } } } }, max_body_size: 16 },
        },
        { name: 'request-validator', route: 'things', config: { path_params_schema: { type: 'object', properties: { id: { type: 'integer', maximum: 100 } } } } },
        { name: 'request-validator', route: 'api', config: { openapi: OPENAPI_YAML, unknown_operation: 'allow' } },
        { name: 'request-validator', route: 'strict-api', config: { openapi: OPENAPI_YAML, unknown_operation: 'reject', path_prefix: '/strict/v1/' } },
        { name: 'request-validator', route: 'shop', config: { openapi: OPENAPI_YAML, path_prefix: '/shop' } },
        {
          name: 'request-validator',
          route: 'api31',
          config: {
            openapi: {
              openapi: '3.1.0',
              info: { title: 't', version: '1' },
              paths: { '/notes': { post: { requestBody: { content: { 'application/merge-patch+json': { schema: { $ref: '#/components/schemas/Note' } } } } } } },
              components: { schemas: { Note: { type: 'object', properties: { text: { type: ['string', 'null'] }, at: { type: 'string', format: 'date-time' } } } } },
            },
            path_prefix: '/api31',
            allowed_content_types: ['application/*'],
          },
        },
        { name: 'request-validator', route: 'broken', config: { body_schema: { type: 'objekt' } } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('has documented defaults and describes every field', () => {
    for (const [name, s] of Object.entries(RequestValidatorSchema.properties)) expect((s as { description?: string }).description, name).toBeTruthy();
    const v = validate(RequestValidatorSchema, {});
    expect(v.ok && v.value).toEqual({
      body_required: false,
      operation_match: 'path',
      unknown_operation: 'allow',
      max_body_size: 1_048_576,
      allowed_content_types: ['application/json'],
      verbose_response: false,
    });
  });

  describe('JSON Schemas', () => {
    it('lets a valid request through with its body unchanged', async () => {
      const body = '{"customer":"ada",  "items":[{"sku":"a","qty":2}]}';
      const r = await send(gw.port, '/orders', json(body, { 'X-Tenant': 'acme' }));
      expect(r.status, r.body).toBe(200);
      expect(r.json<Received>()).toMatchObject({ method: 'POST', body, bodyBytes: Buffer.byteLength(body) });
    });

    it('points at a nested body field', async () => {
      const hits = up.hits;
      const r = await send(gw.port, '/orders', json({ customer: 'ada', items: [{ sku: 'a', qty: 0 }] }, { 'x-tenant': 'acme' }));
      const p = expectInvalid(r, [{ in: 'body', pointer: '/items/0/qty', message: 'must be >= 1' }]);
      expect(p.detail).toBe('body at /items/0/qty: must be >= 1');
      expect(p.request_id).toBe(r.headers['x-request-id']);
      expect(up.hits).toBe(hits);
    });

    it('points at a missing required property and at an unexpected one', async () => {
      expectInvalid(await send(gw.port, '/orders', json({ items: [{ sku: 'a', qty: 1 }] }, { 'x-tenant': 'acme' })), [{ in: 'body', pointer: '/customer', message: 'is required' }]);
      expectInvalid(await send(gw.port, '/orders', json({ customer: 'a', items: [{ sku: 'a', qty: 1 }], 'a/b': 1 }, { 'x-tenant': 'acme' })), [{ in: 'body', pointer: '/a~1b', message: 'is not allowed' }]);
    });

    it('requires a header, matched case-insensitively', async () => {
      const body = { customer: 'ada', items: [{ sku: 'a', qty: 1 }] };
      expectInvalid(await send(gw.port, '/orders', json(body)), [{ in: 'header', pointer: 'x-tenant', message: 'is required' }]);
      expect((await send(gw.port, '/orders', json(body, { 'X-TENANT': 'acme' }))).status).toBe(200);
    });

    it('refuses a missing body when body_required', async () => {
      expectInvalid(await send(gw.port, '/orders', { method: 'POST', headers: { 'x-tenant': 'acme' } }), [{ in: 'body', pointer: '', message: 'a request body is required' }]);
    });

    it('answers 400 for invalid JSON', async () => {
      const p = expectInvalid(await send(gw.port, '/orders', json('{"customer":', { 'x-tenant': 'acme' })), [{ in: 'body', pointer: '' }]);
      expect(p.errors[0]!.message).toMatch(/^invalid JSON/);
    });

    it('answers 415 for a body of another content type, or none', async () => {
      const hits = up.hits;
      for (const headers of [{ 'content-type': 'text/plain', 'x-tenant': 'acme' }, { 'x-tenant': 'acme' }]) {
        const r = await send(gw.port, '/orders', { method: 'POST', headers, body: '{"customer":"a","items":[{"sku":"a","qty":1}]}' });
        expect(r.status).toBe(415);
        expect(r.json<Invalid>().code).toBe('GW_ERR_UNSUPPORTED_MEDIA_TYPE');
      }
      expect(up.hits).toBe(hits);
      // Parameters of the media type do not matter.
      expect((await send(gw.port, '/orders', json('{"customer":"a","items":[{"sku":"a","qty":1}]}', { 'content-type': 'Application/JSON; charset=utf-8', 'x-tenant': 'acme' }))).status).toBe(200);
    });

    it('answers 413 for a body over max_body_size', async () => {
      const r = await send(gw.port, '/verbose', json({ customer: 'x'.repeat(300), items: [] }));
      expect(r.status).toBe(413);
      expect(r.json<Invalid>().code).toBe('GW_ERR_BODY_TOO_LARGE');
    });

    it('lists every failure with verbose_response, only the first without', async () => {
      const bad = { items: [{ sku: 1, qty: 'x' }], extra: true };
      expectInvalid(await send(gw.port, '/verbose', json(bad)), [
        { in: 'body', pointer: '/customer', message: 'is required' },
        { in: 'body', pointer: '/extra', message: 'is not allowed' },
        { in: 'body', pointer: '/items/0/sku', message: 'must be string' },
        { in: 'body', pointer: '/items/0/qty', message: 'must be integer' },
      ]);
      expectInvalid(await send(gw.port, '/orders', json(bad, { 'x-tenant': 'a' })), [{ in: 'body', pointer: '/customer' }]);
    });

    it('coerces query values to the schema types', async () => {
      const r = await send(gw.port, '/search?limit=10&tag=a');
      expect(r.status, r.body).toBe(200);
      expect(r.json<Received>().url).toBe('/?limit=10&tag=a');
      expect((await send(gw.port, '/search?limit=10&tag=a&tag=b')).status).toBe(200);
      expectInvalid(await send(gw.port, '/search?limit=ten'), [{ in: 'query', pointer: 'limit', message: 'must be integer' }]);
      expectInvalid(await send(gw.port, '/search?limit=51'), [{ in: 'query', pointer: 'limit', message: 'must be <= 50' }]);
      expectInvalid(await send(gw.port, '/search'), [{ in: 'query', pointer: 'limit', message: 'is required' }]);
    });

    it('does not read the body on a route without a body schema', async () => {
      // max_body_size is 16 on /search: a read would have answered 413.
      const body = JSON.stringify({ big: 'x'.repeat(1000) });
      const r = await send(gw.port, '/search?limit=1', json(body));
      expect(r.status).toBe(200);
      expect(r.json<Received>().body).toBe(body);
    });

    it("validates the route's regex captures as path parameters", async () => {
      expect((await send(gw.port, '/things/42')).status).toBe(200);
      expectInvalid(await send(gw.port, '/things/abc'), [{ in: 'path', pointer: 'id', message: 'must be integer' }]);
      expectInvalid(await send(gw.port, '/things/101'), [{ in: 'path', pointer: 'id', message: 'must be <= 100' }]);
    });
  });

  describe('OpenAPI document', () => {
    const tenant = { 'x-tenant': 'acme' };

    it('validates typed path, query and header parameters of the matched operation', async () => {
      const r = await send(gw.port, '/v1/orders/5?expand=true&fields=id,note', { headers: tenant });
      expect(r.status, r.body).toBe(200);
      expect(r.json<Received>().url).toBe('/v1/orders/5?expand=true&fields=id,note');
      expectInvalid(await send(gw.port, '/v1/orders/abc', { headers: tenant }), [{ in: 'path', pointer: 'id', message: 'must be integer' }]);
      expectInvalid(await send(gw.port, '/v1/orders/0', { headers: tenant }), [{ in: 'path', pointer: 'id', message: 'must be >= 1' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5?expand=maybe', { headers: tenant }), [{ in: 'query', pointer: 'expand', message: 'must be boolean' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5?fields=id,price', { headers: tenant }), [{ in: 'query', pointer: 'fields/1' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5'), [{ in: 'header', pointer: 'x-tenant', message: 'is required' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5', { headers: { 'x-tenant': 'ACME' } }), [{ in: 'header', pointer: 'x-tenant' }]);
    });

    it('prefers a literal path over a template, and matches mixed segments', async () => {
      expect((await send(gw.port, '/v1/orders/latest')).status).toBe(200);
      expect((await send(gw.port, '/v1/files/abc.json')).status).toBe(200);
      expectInvalid(await send(gw.port, '/v1/files/abcdef.json'), [{ in: 'path', pointer: 'name', message: 'must NOT have more than 5 characters' }]);
    });

    it('validates the request body through component $refs, with 3.0 nullable and exclusive bounds', async () => {
      const body = JSON.stringify({ note: null, items: [{ sku: 'a', qty: 99 }] });
      const r = await send(gw.port, '/v1/orders/5', json(body));
      expect(r.status, r.body).toBe(200);
      expect(r.json<Received>().body).toBe(body);
      expectInvalid(await send(gw.port, '/v1/orders/5', json({ items: [{ sku: 'a', qty: 100 }] })), [{ in: 'body', pointer: '/items/0/qty', message: 'must be < 100' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5', json({ note: 3, items: [{ sku: 'a', qty: 1 }] })), [{ in: 'body', pointer: '/note' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5', json({ items: [{ qty: 1 }] })), [{ in: 'body', pointer: '/items/0/sku', message: 'is required' }]);
      expectInvalid(await send(gw.port, '/v1/orders/5', { method: 'POST' }), [{ in: 'body', pointer: '', message: 'a request body is required' }]);
      // Path parameters are checked before the body is read.
      expectInvalid(await send(gw.port, '/v1/orders/x', json({ items: [] })), [{ in: 'path', pointer: 'id' }]);
    });

    it('lets unknown operations through with unknown_operation: allow', async () => {
      expect((await send(gw.port, '/v1/orders/5', { method: 'DELETE' })).status).toBe(200);
      expect((await send(gw.port, '/v1/nothing/here')).status).toBe(200);
    });

    it('refuses unknown operations with unknown_operation: reject', async () => {
      const hits = up.hits;
      for (const [method, path] of [
        ['DELETE', '/strict/v1/orders/5'],
        ['GET', '/strict/v1/nothing'],
        ['GET', '/strict/v2/orders/5'],
        ['GET', '/strict/v1/orders/5/'],
      ] as const) {
        const r = await send(gw.port, path, { method });
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.json<Invalid>().code).toBe('GW_ERR_OPERATION_NOT_FOUND');
      }
      expect(up.hits).toBe(hits);
      expect((await send(gw.port, '/strict/v1/orders/5', { headers: tenant })).status).toBe(200);
      // HEAD uses the GET operation.
      expect((await send(gw.port, '/strict/v1/orders/5', { method: 'HEAD' })).status).toBe(400);
    });

    it('matches after an explicit path_prefix instead of the servers path', async () => {
      expectInvalid(await send(gw.port, '/shop/orders/x', { headers: tenant }), [{ in: 'path', pointer: 'id' }]);
      expect((await send(gw.port, '/shop/orders/7', { headers: tenant })).status).toBe(200);
    });

    it('accepts a 3.1 document given as an object, with a +json body type', async () => {
      const ok = await send(gw.port, '/api31/notes', json({ text: null, at: '2024-05-01T10:00:00Z' }, { 'content-type': 'application/merge-patch+json' }));
      expect(ok.status, ok.body).toBe(200);
      expectInvalid(await send(gw.port, '/api31/notes', json({ at: 'yesterday' }, { 'content-type': 'application/merge-patch+json' })), [{ in: 'body', pointer: '/at', message: 'must match format "date-time"' }]);
    });
  });

  describe('bad configuration', () => {
    it('reports an instance whose schema does not compile, with a visible error', () => {
      const errors = gw.proxy.snapshot.errors;
      const e = errors.find((x) => x.message.includes("'request-validator'"));
      expect(e?.message).toMatch(/^plugin 'request-validator' refuses requests: body_schema: .*type/);
    });

    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['no schema at all', {}, /nothing to validate/],
      ['both modes', { body_schema: { type: 'object' }, openapi: OPENAPI_YAML }, /either/],
      ['unknown keyword in a JSON Schema', { query_schema: { type: 'object', propertys: {} } }, /query_schema: strict mode: unknown keyword: "propertys"/],
      ['another draft', { body_schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' } }, /draft 2020-12/],
      ['YAML that does not parse', { openapi: 'openapi: [3.0' }, /neither YAML nor JSON/],
      ['OpenAPI 2', { openapi: { swagger: '2.0', paths: {} } }, /unsupported version/],
      ['an unresolved component $ref', { openapi: OPENAPI_YAML.replace("$ref: '#/components/schemas/Item'", "$ref: '#/components/schemas/Itme'") }, /can't resolve reference/],
      ['an invalid unused component schema', { openapi: { openapi: '3.0.0', paths: {}, components: { schemas: { Bad: { type: 'strin' } } } } }, /components\.schemas/],
      ['an external $ref', { openapi: { openapi: '3.1.0', paths: { '/a': { post: { requestBody: { content: { 'application/json': { schema: { $ref: 'other.yaml#/X' } } } } } } } } }, /not supported/],
      ['an unresolved parameter $ref', { openapi: { openapi: '3.1.0', paths: { '/a': { get: { parameters: [{ $ref: '#/components/parameters/Nope' }] } } } } }, /does not resolve/],
      ['two identical templates', { openapi: { openapi: '3.1.0', paths: { '/a/{x}': { get: {} }, '/a/{y}': { get: {} } } } }, /same template/],
    ];
    for (const [name, config, message] of cases) {
      it(`reports ${name}`, () => {
        const s = gw.apply({
          services: [{ name: 's', url: `http://${up.address}` }],
          routes: [{ name: 'r', service: 's', paths: ['/r'] }],
          plugins: [{ name: 'request-validator', route: 'r', config }],
        });
        expect(s.errors.map((e) => e.message).join('\n')).toMatch(message);
      });
    }
  });
});

describe('TemplateRouter', () => {
  it('backtracks from a literal branch to a templated one', () => {
    const r = new TemplateRouter<string>();
    r.add('/a/b/c', 'GET', 'literal');
    r.add('/a/{x}/d', 'GET', 'templated');
    expect(r.match('GET', '/a/b/c')?.op).toBe('literal');
    const m = r.match('GET', '/a/b/d');
    expect(m?.op).toBe('templated');
    expect(m?.names).toEqual(['x']);
    expect(m?.values).toEqual(['b']);
    expect(r.match('GET', '/a//d')).toBeUndefined();
    expect(r.match('POST', '/a/b/c')).toEqual({ op: undefined, names: [], values: [] });
  });
});
