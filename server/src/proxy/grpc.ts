/**
 * gRPC pass-through helpers: recognising a gRPC call, and shaping the gateway's own errors as gRPC statuses
 * (a gRPC client cannot read a problem+json body; it reads `grpc-status` and `grpc-message`).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ErrorCode } from '../errors/registry.js';

/** gRPC status codes the gateway answers with (grpc/doc/statuscodes.md). */
export const GRPC = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * `application/grpc`, `application/grpc+proto`, `application/grpc;…`; not gRPC-Web (`application/grpc-web…`),
 * whose clients read statuses from the body over HTTP/1.1.
 */
export function isGrpcContentType(v: string): boolean {
  // Runs on every request with a body: `application/json` and friends are turned away without allocating.
  if (v.length < 16 || (v.charCodeAt(12) | 0x20) !== 103 /* g */) return false;
  const lc = v.length === 16 ? v.toLowerCase() : v.slice(0, 17).toLowerCase();
  if (!lc.startsWith('application/grpc')) return false;
  if (lc.length === 16) return true;
  const c = lc.charCodeAt(16);
  return c === 43 /* + */ || c === 59 /* ; */ || c === 32 /* space */;
}

/**
 * The gRPC status for the HTTP status of a gateway answer: gRPC's own HTTP mapping
 * (grpc/doc/http-grpc-status-mapping.md), except that 429 and 413 are RESOURCE_EXHAUSTED (the call was
 * refused for a quota or a size, not because the server is down) and 504 is DEADLINE_EXCEEDED.
 */
export function grpcStatusOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GRPC.INVALID_ARGUMENT;
    case 401:
      return GRPC.UNAUTHENTICATED;
    case 403:
      return GRPC.PERMISSION_DENIED;
    case 404:
      return GRPC.UNIMPLEMENTED;
    case 405:
    case 501:
      return GRPC.UNIMPLEMENTED;
    case 408:
    case 504:
      return GRPC.DEADLINE_EXCEEDED;
    case 413:
    case 429:
    case 431:
      return GRPC.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
      return GRPC.UNAVAILABLE;
    case 500:
      return GRPC.INTERNAL;
  }
  if (httpStatus >= 200 && httpStatus < 300) return GRPC.OK;
  return httpStatus >= 500 ? GRPC.UNAVAILABLE : GRPC.UNKNOWN;
}

// grpc-message is percent-encoded: everything but printable ASCII other than `%` (gRPC over HTTP/2 spec).
const NEEDS_ENCODING = /[^\x20-\x24\x26-\x7e]/gu;

/** `GW_ERR_…: detail`, percent-encoded as grpc-message wants. */
export function grpcMessageOf(code: ErrorCode | undefined, message: string): string {
  const text = code !== undefined && !message.startsWith(code) ? `${code}: ${message}` : message;
  return text.replace(NEEDS_ENCODING, encodeURIComponent);
}

const STATUS_FIELDS = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'] as const;

/** Removes the status fields from a trailers-only head and returns them, to be sent as trailers. */
export function takeGrpcStatus(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const f of STATUS_FIELDS) {
    const v = headers[f];
    if (v === undefined) continue;
    out[f] = v;
    delete headers[f];
  }
  return out;
}
