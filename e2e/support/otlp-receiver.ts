/**
 * A stand-in OTLP/HTTP trace receiver for tests: a real node:http server that accepts `POST /v1/traces`
 * with the JSON encoding (what the gateway's exporter sends), answers like a collector, and records every
 * span it received, flattened with its resource and attributes decoded.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Record<string, string | number | boolean | undefined>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  traceState: string | undefined;
  resource: Record<string, string | number | boolean | undefined>;
}

export const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

function decode(list: KeyValue[] | undefined): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const kv of list ?? []) {
    const v = kv.value;
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly requests: { path: string; contentType: string | undefined; headers: IncomingHttpHeaders }[] = [];
  port = 0;
  /** Answer with this status instead of 200 (a collector that is down or refusing). */
  failWith: number | undefined = undefined;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const r = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        r.requests.push({ path: req.url ?? '', contentType: req.headers['content-type'], headers: req.headers });
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        if (r.failWith !== undefined) {
          res.writeHead(r.failWith, { 'content-type': 'application/json' }).end('{}');
          return;
        }
        r.record(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    r.port = (server.address() as { port: number }).port;
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/traces`;
  }

  private record(body: {
    resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
  }): void {
    for (const rs of body.resourceSpans ?? []) {
      const resource = decode(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: s.traceId as string,
            spanId: s.spanId as string,
            parentSpanId: (s.parentSpanId as string | undefined) ?? '',
            name: s.name as string,
            kind: s.kind as number,
            start: BigInt(s.startTimeUnixNano as string),
            end: BigInt(s.endTimeUnixNano as string),
            attributes: decode(s.attributes as KeyValue[]),
            status: (s.status as { code?: number; message?: string }) ? { code: (s.status as { code?: number }).code ?? 0, message: (s.status as { message?: string }).message } : { code: 0 },
            traceState: (s.traceState as string | undefined) || undefined,
            resource,
          });
        }
      }
    }
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
