/**
 * What a limit counts together: the key parts a request yields, compiled once per instance into a small
 * array of codes so the hot path is a loop of field reads and string concatenations.
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../plugins/types.js';

export type KeyPart = 'consumer' | 'credential' | 'ip' | 'header' | 'jwt_claim' | 'route' | 'service';

const CONSUMER = 0;
const CREDENTIAL = 1;
const IP = 2;
const HEADER = 3;
const CLAIM = 4;
const ROUTE = 5;
const SERVICE = 6;
const CODES: Record<KeyPart, number> = { consumer: CONSUMER, credential: CREDENTIAL, ip: IP, header: HEADER, jwt_claim: CLAIM, route: ROUTE, service: SERVICE };

/** Longer identities (huge header values) are hashed so one client cannot make keys of any size. */
const MAX_IDENTITY = 256;

export class KeyBuilder {
  private readonly codes: Uint8Array;
  constructor(
    parts: readonly KeyPart[],
    private readonly header: string | undefined,
    private readonly claim: string | undefined,
  ) {
    if (parts.includes('header') && !header) throw new Error('`limit_by: header` needs `header_name`');
    if (parts.includes('jwt_claim') && !claim) throw new Error('`limit_by: jwt_claim` needs `jwt_claim`');
    this.codes = Uint8Array.from(parts.map((p) => CODES[p]));
    this.consumerOnly = parts.length > 0 && parts.every((p) => p === 'consumer');
  }

  /** The identity depends on the consumer alone (a consumer's requests always share one identity). */
  readonly consumerOnly: boolean;

  /**
   * The request's identity, e.g. `c=alice|r=orders`. Each part is tagged so that a consumer named like an
   * IP never shares a counter with that IP; a missing part falls back to the client IP.
   */
  identity(ctx: RequestContext): string {
    let id = '';
    const codes = this.codes;
    for (let i = 0; i < codes.length; i++) {
      if (i > 0) id += '|';
      switch (codes[i]) {
        case CONSUMER: {
          const c = ctx.consumer;
          id += c !== undefined ? 'c=' + c.username : 'i=' + ctx.clientIp;
          break;
        }
        case CREDENTIAL: {
          // Set by the auth plugins (auth/gate.ts AuthState): the credential that authenticated the request.
          const v = (ctx.locals['auth'] as { credential?: { id: string } } | undefined)?.credential?.id;
          id += v !== undefined ? 'k=' + v : 'i=' + ctx.clientIp;
          break;
        }
        case IP:
          id += 'i=' + ctx.clientIp;
          break;
        case HEADER: {
          const v = ctx.req.headers[this.header!];
          const s = typeof v === 'string' ? v : v !== undefined ? v[0] : undefined;
          id += s !== undefined && s !== '' ? 'h=' + s : 'i=' + ctx.clientIp;
          break;
        }
        case CLAIM: {
          const claims = ctx.locals['jwt_claims'] as Record<string, unknown> | undefined;
          const v = claims !== undefined ? claims[this.claim!] : undefined;
          id += typeof v === 'string' || typeof v === 'number' ? 'j=' + v : 'i=' + ctx.clientIp;
          break;
        }
        case ROUTE:
          id += 'r=' + (ctx.route?.name ?? '');
          break;
        case SERVICE:
          id += 's=' + (ctx.route?.service ?? '');
          break;
      }
    }
    return id.length > MAX_IDENTITY ? 'sha1=' + createHash('sha1').update(id).digest('base64url') : id;
  }
}

/** The scope tag of an instance: keeps counters of different services/routes apart; `g` counts across all. */
export function scopeTag(attached: { service?: string; route?: string; consumer?: string } | undefined): string {
  if (!attached) return 'g';
  let t = '';
  if (attached.service !== undefined) t += 's:' + attached.service;
  if (attached.route !== undefined) t += (t ? ',' : '') + 'r:' + attached.route;
  if (attached.consumer !== undefined) t += (t ? ',' : '') + 'c:' + attached.consumer;
  return t || 'g';
}
