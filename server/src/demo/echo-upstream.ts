/**
 * The demo upstream of the embedded quick start: a tiny HTTP service on loopback that answers with what it
 * received, so that the first `curl localhost:8000/demo` shows the gateway at work without any other
 * service installed. It runs only when the demo configuration is seeded (GATEHOUSE_DEMO).
 */
import { createServer, type Server } from 'node:http';
import type { ConfigDocument } from '../config/schema.js';
import { FORMAT_VERSION } from '../config/schema.js';

export function demoDocument(port: number): ConfigDocument {
  return {
    _format_version: FORMAT_VERSION,
    services: [
      {
        name: 'demo-echo',
        url: `http://127.0.0.1:${port}`,
        connect_timeout: 5000,
        write_timeout: 60000,
        read_timeout: 60000,
        retries: 0,
        retry_on_statuses: [],
        retry_budget: { ratio: 0.2, min_per_second: 10 },
        enabled: true,
        tags: ['demo'],
      },
    ],
    routes: [
      {
        name: 'demo',
        service: 'demo-echo',
        hosts: [],
        paths: ['/demo'],
        methods: [],
        priority: 0,
        strip_path: true,
        preserve_host: false,
        protocols: ['http', 'https'],
        enabled: true,
        tags: ['demo'],
      },
    ],
    upstreams: [],
    consumers: [],
    plugins: [],
  };
}

export function startEchoUpstream(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer(function echo(req, res) {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      // The demo echoes small bodies only; it is not a sink for uploads.
      if (size < 65536) chunks.push(c);
      size += c.length;
    });
    req.on('end', () => {
      const body = JSON.stringify(
        {
          message: 'Hello from the Gatehouse demo upstream',
          method: req.method,
          url: req.url,
          headers: req.headers,
          body_bytes: size,
          body: Buffer.concat(chunks).toString('utf8').slice(0, 4096),
        },
        null,
        2,
      );
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
