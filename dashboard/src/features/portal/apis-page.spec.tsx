/**
 * The APIs page against a loopback admin API stand-in: each service's routes and where the key goes, its
 * OpenAPI document rendered (operations, parameters through $ref, bodies, responses), and the states of
 * a document that could not be read or does not exist.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { ApisPage } from './apis-page';
import { APIS } from './fixtures';
import { OpenApiView } from './openapi-view';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());

const renderPage = () => render(<ApisPage api={createApiClient({ baseUrl: peer.url, getToken: () => 'dev-token' })} />);

describe('ApisPage', () => {
  it('renders each API with its routes and its OpenAPI document', async () => {
    peer.routes = { 'GET /me/apis': () => ({ body: APIS }) };
    const user = userEvent.setup();
    renderPage();
    expect(await screen.findByText(/3 APIs accept the keys/)).toBeTruthy();

    const orders = within(screen.getByRole('region', { name: 'orders' }));
    const route = orders.getAllByRole('table')[0]!;
    expect(within(route).getAllByRole('cell').map((c) => c.textContent)).toEqual(['/orders', 'GET, POST', 'any', 'header x-api-key']);
    expect(orders.getByText('Your applications allowed: shop.')).toBeTruthy();
    expect(orders.getByText('Orders API')).toBeTruthy();
    expect(orders.getByText(/version 1\.2\.0/)).toBeTruthy();
    expect(orders.getByText('Orders of the shop.')).toBeTruthy();

    // Operations in document order, each a disclosure with its details.
    const ops = orders.getAllByRole('group');
    expect(ops.map((o) => o.querySelector('summary')!.textContent)).toEqual([
      'GET /orders — List orders',
      'POST /orders — Create an order',
      'DELETE /orders/{id} — deleteOrder deprecated',
    ]);
    await user.click(ops[0]!.querySelector('summary')!);
    expect(ops[0]!.hasAttribute('open')).toBe(true);
    const list = within(ops[0]!);
    const params = list.getByRole('table', { name: 'Parameters' });
    expect(within(params).getAllByRole('cell').map((c) => c.textContent)).toEqual(['limit', 'query', 'integer (int32)', 'Page size']);
    expect(list.getByText('The orders')).toBeTruthy();
    const create = within(ops[1]!);
    expect(create.getByText(/application\/json — Order/)).toBeTruthy();
    expect(create.getByText(/Request body \(required\)/)).toBeTruthy();
    expect(create.getByText('Invalid order')).toBeTruthy();
    // Path-level parameters apply to the path's operations.
    const del = within(ops[2]!);
    expect(within(del.getByRole('table', { name: 'Parameters' })).getAllByRole('cell').map((c) => c.textContent)).toEqual(['id *', 'path', 'string', 'Order id']);

    const partners = within(screen.getByRole('region', { name: 'partners' }));
    expect(partners.getByRole('alert').textContent).toBe('The API description could not be read: the document URL answered 500');
    expect(within(partners.getByRole('table')).getAllByRole('cell').map((c) => c.textContent)).toEqual(['any path', 'any', 'api.example.com', 'header or query parameter apikey']);
    expect(partners.getByText('Applications you create will be allowed.')).toBeTruthy();

    const plain = within(screen.getByRole('region', { name: 'plain' }));
    expect(plain.getByText('This API has no OpenAPI description.')).toBeTruthy();
    expect(plain.getByText('query parameter apikey')).toBeTruthy();
  });

  it('says so when no API accepts the keys, and offers Retry on errors', async () => {
    peer.routes = { 'GET /me/apis': () => ({ status: 503, body: { title: 'Unavailable', status: 503, code: 'GW_ERR_INTERNAL' } }) };
    const user = userEvent.setup();
    renderPage();
    expect((await screen.findByRole('alert')).textContent).toContain('Could not load apis');
    peer.routes = { 'GET /me/apis': () => ({ body: { data: [] } }) };
    await user.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText(/No API accepts your keys yet/)).toBeTruthy();
  });
});

describe('OpenApiView', () => {
  it('reads Swagger 2.0 and never interprets markup from the document', () => {
    render(
      <OpenApiView
        document={{
          swagger: '2.0',
          info: { title: '<img src=x onerror=alert(1)>', version: '1' },
          parameters: { Id: { name: 'id', in: 'path', required: true, type: 'integer' } },
          paths: { '/pets/{id}': { get: { summary: 'A pet', parameters: [{ $ref: '#/parameters/Id' }], responses: { 200: { description: 'ok' } } } }, '/loop': { get: { parameters: [{ $ref: '#/parameters/Loop' }] } } },
        }}
      />,
    );
    expect(screen.getByText('<img src=x onerror=alert(1)>')).toBeTruthy();
    expect(document.querySelector('img')).toBeNull();
    expect(screen.getByText(/Swagger 2\.0/)).toBeTruthy();
    expect(within(screen.getByRole('table', { name: 'Parameters' })).getAllByRole('cell').map((c) => c.textContent)).toEqual(['id *', 'path', 'integer', '']);
    // An unresolvable reference is skipped, and an operation without details is a plain line.
    expect(screen.getByText('/loop').closest('.operation-plain')).toBeTruthy();
  });
});
