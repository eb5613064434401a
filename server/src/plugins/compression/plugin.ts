/**
 * compression: gzip / brotli of upstream response bodies, as they stream (a response body filter).
 *
 * The response phase decides, from the upstream head: only 2xx-5xx statuses with a body (not 204, 206,
 * 304), no Content-Encoding already, no `Cache-Control: no-transform`, a compressible media type. Such a
 * response gets `Vary: Accept-Encoding` whatever this client accepts (a shared cache must not give the
 * compressed variant to a client that cannot read it); then HEAD, a known Content-Length under
 * `min_length` and a client that accepts neither encoding leave the body as it is.
 *
 * Answers made with ctx.respond (other plugins, cache hits) are not filtered by the proxy, so they are
 * never compressed.
 *
 * Streaming: the zlib stream's output goes straight to the sink, and the proxy pauses the upstream while
 * the client socket is full. Each upstream chunk is followed by a sync flush so a slowly streamed body
 * (NDJSON, long polls) reaches the client as it arrives instead of waiting for zlib's buffers to fill.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { constants, createBrotliCompress, createGzip, type BrotliCompress, type BrotliOptions, type Gzip, type ZlibOptions } from 'node:zlib';
import { definePlugin, type BodySink, type PluginHandler, type RequestContext, type ResponseBodyFilter } from '../types.js';
import { appendVary } from '../cors/plugin.js';
import { CompressionSchema, type CompressionConfig } from './schema.js';

export const Encoding = { None: 0, Br: 1, Gzip: 2 } as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** Case-insensitive comparison of s[from, to) with a lower-case ASCII `word`, without slicing. */
function tokenIs(s: string, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((s.charCodeAt(from + i) | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** An RFC 9110 qvalue in s[from, to) as thousandths (0..1000), or -1 when malformed. */
function qValue(s: string, from: number, to: number): number {
  if (from >= to) return -1;
  const first = s.charCodeAt(from);
  if (first !== 48 && first !== 49) return -1;
  let v = (first - 48) * 1000;
  if (from + 1 === to) return v;
  if (s.charCodeAt(from + 1) !== 46 || to - from > 5) return -1;
  let scale = 100;
  for (let i = from + 2; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v += (c - 48) * scale;
    scale /= 10;
  }
  return v > 1000 ? -1 : v;
}

/**
 * Picks the encoding for an Accept-Encoding value: the highest q-value among `offered` (in preference
 * order, which breaks ties), a coding not listed taking the q of `*`. `identity` is only weighed when the
 * client lists it: a higher q for identity means no compression. No header, or nothing acceptable: None.
 * (When even identity is refused the body is still sent uncompressed, as nginx does, rather than a 406.)
 */
export function negotiate(header: string | undefined, offered: readonly Encoding[]): Encoding {
  if (header === undefined) return Encoding.None;
  let qBr = -1;
  let qGzip = -1;
  let qStar = -1;
  let qIdentity = -1;
  const len = header.length;
  let i = 0;
  while (i < len) {
    while (i < len && (isSpace(header.charCodeAt(i)) || header.charCodeAt(i) === 44)) i++;
    if (i >= len) break;
    const start = i;
    while (i < len) {
      const c = header.charCodeAt(i);
      if (c === 44 || c === 59 || isSpace(c)) break;
      i++;
    }
    const end = i;
    let q = 1000;
    // Parameters: only q matters.
    while (i < len && header.charCodeAt(i) !== 44) {
      const c = header.charCodeAt(i);
      if (c === 59 || isSpace(c)) {
        i++;
        continue;
      }
      const pStart = i;
      while (i < len && header.charCodeAt(i) !== 44 && header.charCodeAt(i) !== 59) i++;
      let pEnd = i;
      while (pEnd > pStart && isSpace(header.charCodeAt(pEnd - 1))) pEnd--;
      if (pEnd - pStart >= 2 && (header.charCodeAt(pStart) | 0x20) === 113 && header.charCodeAt(pStart + 1) === 61) {
        q = qValue(header, pStart + 2, pEnd);
        if (q < 0) q = 0;
      }
    }
    if (tokenIs(header, start, end, 'br')) qBr = q;
    else if (tokenIs(header, start, end, 'gzip') || tokenIs(header, start, end, 'x-gzip')) qGzip = q;
    else if (end - start === 1 && header.charCodeAt(start) === 42) qStar = q;
    else if (tokenIs(header, start, end, 'identity')) qIdentity = q;
  }
  let best: Encoding = Encoding.None;
  let bestQ = 0;
  for (let k = 0; k < offered.length; k++) {
    const e = offered[k]!;
    let q = e === Encoding.Br ? qBr : qGzip;
    if (q < 0) q = qStar < 0 ? 0 : qStar;
    if (q > bestQ) {
      best = e;
      bestQ = q;
    }
  }
  if (best !== Encoding.None && qIdentity > bestQ) return Encoding.None;
  return best;
}

/** Compiled media type list: exact types, whole types (`text/*`) and suffixes (`*\/*+json`). */
export class MediaTypes {
  private readonly exact = new Set<string>();
  private readonly major = new Set<string>();
  private readonly suffix = new Set<string>();

  constructor(types: readonly string[]) {
    for (const raw of types) {
      const t = raw.toLowerCase();
      if (t === '*/*') throw new Error("'*/*' would compress already-compressed media (images, archives); list the types instead");
      if (t.startsWith('*/*+')) this.suffix.add(t.slice(3));
      else if (t.endsWith('/*')) this.major.add(t.slice(0, -2));
      else if (t.includes('*')) throw new Error(`unsupported media type pattern '${raw}' (use type/subtype, type/* or */*+suffix)`);
      else this.exact.add(t);
    }
  }

  has(contentType: string): boolean {
    const semi = contentType.indexOf(';');
    const mt = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    if (mt === 'text/event-stream') return false;
    if (this.exact.has(mt)) return true;
    const slash = mt.indexOf('/');
    if (slash > 0 && this.major.has(mt.slice(0, slash))) return true;
    const plus = mt.lastIndexOf('+');
    return plus > slash && this.suffix.has(mt.slice(plus));
  }
}

const kFilter = Symbol('gatehouse.compression');
type ZStream = (Gzip | BrotliCompress) & { [kFilter]?: CompressFilter };

// Module-level listeners (`this` is the zlib stream): no closure per response.
function onZData(this: ZStream, chunk: Buffer): void {
  const f = this[kFilter];
  if (f !== undefined && !f.done) f.sink!.write(chunk);
}
function onZEnd(this: ZStream): void {
  const f = this[kFilter];
  if (f === undefined || f.done) return;
  f.done = true;
  f.sink!.end();
}
function onZDrain(this: ZStream): void {
  const f = this[kFilter];
  if (f !== undefined && !f.done) f.sink!.resume();
}
function onZError(this: ZStream, err: Error): void {
  const f = this[kFilter];
  if (f === undefined || f.done) return;
  f.done = true;
  f.sink!.destroy(err);
}

/** One response's compressor: a zlib stream whose output goes to the sink. */
export class CompressFilter implements ResponseBodyFilter {
  sink: BodySink | undefined = undefined;
  done = false;
  private z: ZStream | undefined = undefined;

  constructor(
    private readonly plugin: Compression,
    private readonly encoding: Encoding,
  ) {}

  start(_status: number, headers: OutgoingHttpHeaders, sink: BodySink): boolean {
    // A filter before this one may have encoded the body already.
    if (headers['content-encoding'] !== undefined) return false;
    this.sink = sink;
    headers['content-encoding'] = this.encoding === Encoding.Br ? 'br' : 'gzip';
    delete headers['content-length'];
    // Byte ranges of the compressed variant are not ranges of the upstream's body.
    delete headers['accept-ranges'];
    // The compressed bytes differ from the upstream's representation: a strong validator must not claim otherwise.
    const etag = headers.etag;
    if (typeof etag === 'string' && etag.startsWith('"')) headers.etag = `W/${etag}`;
    const z: ZStream = this.encoding === Encoding.Br ? createBrotliCompress(this.plugin.brOptions) : createGzip(this.plugin.gzipOptions);
    z[kFilter] = this;
    z.on('data', onZData);
    z.on('end', onZEnd);
    z.on('error', onZError);
    z.on('drain', onZDrain);
    this.z = z;
    return true;
  }

  /** The live zlib stream (undefined before start and after abort); for diagnostics and tests. */
  get stream(): Gzip | BrotliCompress | undefined {
    return this.z;
  }

  data(chunk: Buffer): void {
    const z = this.z!;
    // zlib's input queue is full: hold the upstream until it drains, so memory stays bounded.
    if (!z.write(chunk)) this.sink!.pause();
    // A sync flush lets a streamed body through as it arrives; skipped while zlib is behind, since more
    // input (or the end) is already queued and will push the output out.
    if (!z.writableNeedDrain) z.flush();
  }

  end(): void {
    this.z!.end();
  }

  abort(): void {
    this.done = true;
    const z = this.z;
    if (z !== undefined) {
      this.z = undefined;
      z.destroy();
    }
  }
}

export class Compression implements PluginHandler {
  readonly gzipOptions: ZlibOptions;
  readonly brOptions: BrotliOptions;
  private readonly offered: readonly Encoding[];
  private readonly types: MediaTypes;
  private readonly minLength: number;

  constructor(cfg: CompressionConfig) {
    this.offered = cfg.encodings.map((e) => (e === 'br' ? Encoding.Br : Encoding.Gzip));
    this.types = new MediaTypes(cfg.types);
    this.minLength = cfg.min_length;
    this.gzipOptions = { level: cfg.gzip_level };
    this.brOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: cfg.brotli_quality, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } };
  }

  response(ctx: RequestContext): void {
    if (ctx.answered) return;
    const status = ctx.status;
    if (status < 200 || status === 204 || status === 206 || status === 304) return;
    const h = ctx.responseHeaders;
    if (h === undefined) return;
    const ce = h['content-encoding'];
    if (ce !== undefined && ce !== '' && ce !== 'identity') return;
    const cc = h['cache-control'];
    if (cc !== undefined && String(cc).toLowerCase().includes('no-transform')) return;
    const ct = h['content-type'];
    if (ct === undefined || !this.types.has(String(ct))) return;
    ctx.setResponseHeader('vary', appendVary(h.vary, 'Accept-Encoding'));
    if (ctx.method === 'HEAD') return;
    const cl = h['content-length'];
    if (cl !== undefined && Number(cl) < this.minLength) return;
    const ae = ctx.req.headers['accept-encoding'];
    const enc = negotiate(ae, this.offered);
    if (enc === Encoding.None) return;
    if (ce !== undefined) delete h['content-encoding'];
    ctx.filterResponseBody(new CompressFilter(this, enc));
  }
}

export default definePlugin({
  name: 'compression',
  description: 'Compresses upstream responses with brotli or gzip, negotiated from Accept-Encoding.',
  schema: CompressionSchema,
  scopes: ['global', 'service', 'route'],
  create: function createCompression(config: CompressionConfig): PluginHandler {
    return new Compression(config);
  },
});
