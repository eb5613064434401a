/**
 * A loopback node:http server standing in for the admin API in component tests: it answers with
 * recorded responses of the admin API's shapes and records every request it receives.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

export interface Reply {
  status?: number;
  body?: unknown;
  /** Defaults to JSON, or problem+json for status >= 400. */
  contentType?: string;
  /** Hold the answer until this promise settles (to observe loading states). */
  wait?: Promise<unknown>;
}

export type Routes = Record<string, (req: RecordedRequest) => Reply>;

export interface AdminPeer {
  url: string;
  requests: RecordedRequest[];
  /** Replaces the answers, keyed `METHOD /path`. Unknown keys answer 404 problem+json. */
  routes: Routes;
  close(): Promise<void>;
}

export async function startAdminPeer(routes: Routes = {}): Promise<AdminPeer> {
  const peer: Omit<AdminPeer, 'url' | 'close'> = { requests: [], routes };
  const server = createServer(function answer(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      peer.requests.push(recorded);
      const route = peer.routes[`${recorded.method} ${recorded.path}`];
      const reply: Reply = route
        ? route(recorded)
        : { status: 404, body: { title: 'No such entity', status: 404, code: 'GW_ERR_ADMIN_NOT_FOUND' } };
      const send = () => {
        const status = reply.status ?? 200;
        const type = reply.contentType ?? (status >= 400 ? 'application/problem+json' : 'application/json');
        const payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? null);
        res.writeHead(status, { 'content-type': type, 'access-control-allow-origin': '*' }).end(payload);
      };
      if (reply.wait) void reply.wait.finally(send);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(peer, {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A deferred: the test decides when a held answer goes out. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
