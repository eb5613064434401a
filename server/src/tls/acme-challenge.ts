/**
 * HTTP-01 answers on the proxy's listeners (RFC 8555 §8.3): `GET /.well-known/acme-challenge/<token>` is
 * answered with the key authorization before routing. The proxy server only does one prefix check per
 * request, and only when ACME is on (proxy-server.ts); everything else happens here.
 *
 * Answers come from this node's own issuer (posted by the control thread) or, with Redis, from whichever
 * node placed the order: the CA's validation request may reach any node behind the load balancer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisConnection } from '../limits/redis-client.js';
import { challengeKey } from './acme-coordination.js';

export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

// base64url, as RFC 8555 §8.3 requires of tokens; anything else is never looked up in Redis.
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export class AcmeChallengeResponder {
  private readonly local = new Map<string, string>();

  constructor(private readonly redis: RedisConnection | undefined) {}

  set(token: string, keyAuthorization: string | undefined): void {
    if (keyAuthorization === undefined) this.local.delete(token);
    else this.local.set(token, keyAuthorization);
  }

  /** Answers a request whose path starts with ACME_CHALLENGE_PREFIX. */
  answer(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url!;
    const q = url.indexOf('?');
    const token = url.slice(ACME_CHALLENGE_PREFIX.length, q < 0 ? undefined : q);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !TOKEN.test(token)) return send(res, 404, undefined);
    const hit = this.local.get(token);
    if (hit !== undefined || this.redis === undefined) return send(res, hit === undefined ? 404 : 200, hit);
    this.redis.get(challengeKey(token)).then(
      (v) => send(res, v === null ? 404 : 200, v ?? undefined),
      () => send(res, 503, undefined),
    );
  }
}

function send(res: ServerResponse, status: number, body: string | undefined): void {
  if (res.headersSent || res.destroyed) return;
  const text = body ?? (status === 503 ? 'challenge store unavailable\n' : 'no such challenge\n');
  res.writeHead(status, { 'content-type': body === undefined ? 'text/plain; charset=utf-8' : 'application/octet-stream', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
