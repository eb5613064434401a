/** A real HTTP upstream for e2e tests: answers with its name and what it received. */
import { createServer, type Server } from 'node:http';

export interface Upstream {
  url: string;
  port: number;
  requests: number;
  close(): Promise<void>;
}

export async function startUpstream(name: string, port = 0): Promise<Upstream> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body_bytes: size });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
