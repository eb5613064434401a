/**
 * A fault-injecting TCP proxy for resilience tests (circuit breakers, health checks, retries). It sits between
 * the gateway and a real upstream on loopback and misbehaves at the socket level on demand: resets before or
 * after the response head, stalls, slow bodies, keep-alive connections closed on reuse, refused connects. An
 * HTTP-level mock cannot produce these, because node:http always answers with well-formed messages.
 *
 * The fault is looked up when each request starts, not once per connection, so switching it also affects
 * keep-alive connections the gateway already pools (otherwise a breaker test would keep hitting a healthy
 * pooled socket).
 *
 * Limits, enough for what tests send:
 * - request framing knows heads ending in CRLFCRLF and bodies sized by Content-Length; a chunked request body
 *   turns the rest of that connection into one opaque request (no further counting or per-request faults);
 * - pipelined requests are not supported (answers may interleave if the fault changes mid-pipeline);
 * - responses are only parsed as far as the end of their head (reset-after-headers, slow-body).
 * - canned `status` answers carry a body even for HEAD requests.
 */
import { STATUS_CODES } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type Fault =
  /** Pass-through. */
  | { kind: 'none' }
  /** Delays the first response byte of each request by `ms`. */
  | { kind: 'latency'; ms: number }
  /** Reads requests and never answers; the socket stays open until the client or close() ends it. */
  | { kind: 'stall' }
  /** Reads the request head, then RSTs the client socket before any response byte. */
  | { kind: 'reset-before-headers' }
  /** Forwards the response head (through the blank line), then RSTs the client socket. */
  | { kind: 'reset-after-headers' }
  /** Forwards the response head at once, then `bytesPerTick` bytes every `tickMs`. */
  | { kind: 'slow-body'; bytesPerTick: number; tickMs: number }
  /** Serves the first request on a connection, then closes it as soon as a second request starts arriving. */
  | { kind: 'close-on-reuse' }
  /** Answers every request itself (keep-alive, Content-Length) without contacting the target. */
  | { kind: 'status'; status: number; body?: string };

export interface FaultTarget {
  host: string;
  port: number;
}

export interface FaultProxyOptions {
  /** Where to forward; a function is called for every new upstream connection (targets that move). */
  target: FaultTarget | (() => FaultTarget);
  /** Listening address; 127.0.0.1 unless told. */
  host?: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^content-length:[ \t]*(\d+)[ \t]*$/im;
const CHUNKED = /^transfer-encoding:[^\r\n]*chunked/im;
const PASS: Fault = { kind: 'none' };

export class FaultProxy {
  /** Client connections accepted. */
  connections = 0;
  /** Request heads seen (best effort, see the limits above). */
  requests = 0;
  /** Times a fault acted: a reset, a close on reuse, a canned answer, a stalled request, a slowed or delayed response. */
  injected = 0;
  readonly host: string;
  port = 0;
  private current: Fault = PASS;
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  private readonly target: FaultProxyOptions['target'];

  private constructor(opts: FaultProxyOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.target = opts.target;
    this.server = createServer((socket) => {
      this.connections++;
      this.conns.add(new Connection(this, socket));
    });
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(opts);
    await proxy.up();
    return proxy;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get fault(): Fault {
    return this.current;
  }

  /** Applies to every request that starts from now on, on new and on existing connections. */
  setFault(fault: Fault): void {
    this.current = fault;
  }

  /** Zeroes the counters. */
  reset(): void {
    this.connections = 0;
    this.requests = 0;
    this.injected = 0;
  }

  /**
   * Stops listening (connects get ECONNREFUSED) and closes every open connection, as when the upstream
   * process dies; up() listens again on the same port.
   */
  async down(): Promise<void> {
    for (const c of this.conns) c.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** Listens again, on the port of the first listen. */
  async up(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Destroys every socket and the listener; nothing is left holding the event loop. */
  close(): Promise<void> {
    return this.down();
  }

  /** @internal */
  resolveTarget(): FaultTarget {
    return typeof this.target === 'function' ? this.target() : this.target;
  }

  /** @internal */
  forget(conn: Connection): void {
    this.conns.delete(conn);
  }
}

/** One client connection and, once a request is forwarded, its upstream connection. */
class Connection {
  private upstream: Socket | undefined;
  private upstreamEnded = false;
  private closed = false;
  // Request side: the head being assembled, the body bytes still to pass, and this request's fault.
  private head: Buffer | undefined;
  private bodyLeft = 0;
  private served = 0;
  private fault: Fault = PASS;
  // Response side: the fault of the request being answered and where its answer is.
  private responseFault: Fault = PASS;
  private responseStarted = false;
  private responseHeadDone = false;
  private scanTail: Buffer | undefined;
  private delay: NodeJS.Timeout | undefined;
  private readonly queue: Buffer[] = [];
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly client: Socket,
  ) {
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('end', () => this.upstream?.end());
    client.on('error', () => this.destroy());
    client.on('close', () => this.destroy());
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.delay);
    clearInterval(this.ticker);
    this.upstream?.destroy();
    this.client.destroy();
    this.proxy.forget(this);
  }

  private reset(): void {
    if (!this.client.destroyed) this.client.resetAndDestroy();
    this.destroy();
  }

  private onClientData(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0 && !this.closed) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, rest.length);
        if (this.forwards(this.fault)) this.toUpstream(rest.subarray(0, n));
        this.bodyLeft -= n;
        rest = rest.subarray(n);
        continue;
      }
      if (this.head === undefined) {
        // The first byte of a request: the moment a reused keep-alive connection becomes a commitment.
        this.fault = this.proxy.fault;
        if (this.fault.kind === 'close-on-reuse' && this.served > 0) {
          this.proxy.injected++;
          this.destroy();
          return;
        }
        this.head = rest;
      } else {
        this.head = Buffer.concat([this.head, rest]);
      }
      const end = this.head.indexOf(HEAD_END);
      if (end < 0) return;
      const head = this.head.subarray(0, end + HEAD_END.length);
      rest = this.head.subarray(end + HEAD_END.length);
      this.head = undefined;
      this.onRequestHead(head);
    }
  }

  private onRequestHead(head: Buffer): void {
    this.served++;
    this.proxy.requests++;
    const text = head.toString('latin1');
    const length = CONTENT_LENGTH.exec(text);
    this.bodyLeft = CHUNKED.test(text) ? Infinity : length ? Number(length[1]) : 0;
    const f = this.fault;
    switch (f.kind) {
      case 'stall':
        this.proxy.injected++;
        return;
      case 'reset-before-headers':
        this.proxy.injected++;
        this.reset();
        return;
      case 'status': {
        this.proxy.injected++;
        const body = Buffer.from(f.body ?? `fault-proxy: ${f.status}\n`);
        const reason = STATUS_CODES[f.status] ?? 'Unknown';
        this.client.write(`HTTP/1.1 ${f.status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n`);
        this.client.write(body);
        return;
      }
      default:
        this.responseFault = f;
        this.responseStarted = false;
        this.responseHeadDone = false;
        this.scanTail = undefined;
        this.toUpstream(head);
    }
  }

  private forwards(f: Fault): boolean {
    return f.kind !== 'stall' && f.kind !== 'reset-before-headers' && f.kind !== 'status';
  }

  private toUpstream(bytes: Buffer): void {
    if (!this.upstream) {
      const target = this.proxy.resolveTarget();
      const up = createConnection({ host: target.host, port: target.port });
      up.setNoDelay(true);
      up.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
      up.on('end', () => {
        this.upstreamEnded = true;
        this.endClientWhenFlushed();
      });
      // A proxy cannot answer ECONNREFUSED after accepting; an RST is the closest the client can see.
      up.on('error', () => this.reset());
      this.upstream = up;
    }
    this.upstream.write(bytes);
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.closed) return;
    // Bytes still being dribbled go first, whatever the fault is now.
    if (this.queue.length > 0) {
      this.queue.push(chunk);
      return;
    }
    const f = this.responseFault;
    switch (f.kind) {
      case 'latency': {
        if (this.responseStarted) break;
        this.responseStarted = true;
        this.proxy.injected++;
        // Pausing keeps later chunks and the upstream's 'end' behind the delayed one.
        const up = this.upstream;
        up?.pause();
        this.delay = setTimeout(() => {
          this.delay = undefined;
          this.client.write(chunk);
          up?.resume();
        }, f.ms);
        return;
      }
      case 'reset-after-headers': {
        const end = this.responseHeadEnd(chunk);
        if (end < 0) break;
        this.proxy.injected++;
        this.upstream?.destroy();
        // Waiting for the write to reach the kernel: an RST sent first would discard the head.
        this.client.write(chunk.subarray(0, end), () => this.reset());
        return;
      }
      case 'slow-body': {
        if (!this.responseHeadDone) {
          const end = this.responseHeadEnd(chunk);
          if (end < 0) break;
          this.responseHeadDone = true;
          this.proxy.injected++;
          this.client.write(chunk.subarray(0, end));
          chunk = chunk.subarray(end);
        }
        if (chunk.length > 0) this.dribble(chunk, f);
        return;
      }
    }
    this.client.write(chunk);
  }

  /** Where the response head ends within `chunk` (just past the blank line), or -1 if not in this chunk. */
  private responseHeadEnd(chunk: Buffer): number {
    const tail = this.scanTail;
    const buf = tail ? Buffer.concat([tail, chunk]) : chunk;
    const i = buf.indexOf(HEAD_END);
    if (i < 0) {
      this.scanTail = buf.subarray(Math.max(0, buf.length - (HEAD_END.length - 1)));
      return -1;
    }
    this.scanTail = undefined;
    return i + HEAD_END.length - (tail?.length ?? 0);
  }

  private dribble(chunk: Buffer, f: { bytesPerTick: number; tickMs: number }): void {
    this.queue.push(chunk);
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      let budget = f.bytesPerTick;
      while (budget > 0 && this.queue.length > 0) {
        const next = this.queue[0]!;
        const n = Math.min(budget, next.length);
        this.client.write(next.subarray(0, n));
        budget -= n;
        if (n === next.length) this.queue.shift();
        else this.queue[0] = next.subarray(n);
      }
      if (this.queue.length === 0) {
        clearInterval(this.ticker);
        this.ticker = undefined;
        this.endClientWhenFlushed();
      }
    }, f.tickMs);
  }

  private endClientWhenFlushed(): void {
    if (this.upstreamEnded && this.queue.length === 0 && !this.closed) this.client.end();
  }
}
