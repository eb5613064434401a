/**
 * The targets section against a loopback admin API stand-in: configured targets can be removed,
 * discovered ones (dns, etcd) show their source and cannot, because the provider owns them.
 */
import { render, screen, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import type { Session } from '../auth/session';
import { TargetsSection } from './targets-section';

const operator: Session = { token: 'tok', username: 'ops', role: 'operator', expiresAt: Date.now() + 3_600_000 };

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());

describe('TargetsSection', () => {
  it('offers Remove only for targets from the config', async () => {
    peer.routes = {
      'GET /upstreams/api/targets': () => ({
        body: { data: [{ target: '10.0.0.1:80', weight: 100, source: 'config' }, { target: '10.0.0.2:80', weight: 100, source: 'dns' }] },
      }),
      'GET /upstreams/api/health': () => ({ body: { data: [] } }),
    };
    render(<TargetsSection api={createApiClient({ baseUrl: peer.url, getToken: () => 'tok' })} session={operator} upstream="api" onChanged={() => {}} />);
    const discovered = (await screen.findByText('10.0.0.2:80')).closest('tr')!;
    expect(within(discovered).getByText('dns')).toBeTruthy();
    expect(within(discovered).queryByRole('button', { name: /Remove/ })).toBeNull();
    const configured = screen.getByText('10.0.0.1:80').closest('tr')!;
    expect(within(configured).getByRole('button', { name: 'Remove target 10.0.0.1:80' })).toBeTruthy();
  });
});
