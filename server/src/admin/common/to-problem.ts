/**
 * Maps anything thrown while handling an admin request (store errors, Nest HTTP exceptions, Fastify's
 * own parse and size errors, our GatewayErrors) to one RFC 9457 problem with a stable registry code.
 */
import { HttpException } from '@nestjs/common';
import { GatewayError, problem, type ErrorCode, type Problem } from '../../errors/registry.js';
import { isStoreUnreachable, StoreConflictError, StoreNotFoundError, StoreReadOnlyError, StoreValidationError } from '../../store/config-store.js';
import { DiffInputError } from '../../config/diff.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'GW_ERR_BAD_REQUEST',
  401: 'GW_ERR_ADMIN_UNAUTHORIZED',
  403: 'GW_ERR_ADMIN_FORBIDDEN',
  404: 'GW_ERR_ADMIN_NOT_FOUND',
  405: 'GW_ERR_ADMIN_READ_ONLY',
  409: 'GW_ERR_ADMIN_CONFLICT',
  413: 'GW_ERR_ADMIN_PAYLOAD_TOO_LARGE',
  415: 'GW_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE',
  429: 'GW_ERR_ADMIN_RATE_LIMITED',
  503: 'GW_ERR_STORE_UNAVAILABLE',
};

/** `true` when the error is a bug or an outage rather than the client's fault, so it deserves a log line. */
export interface MappedProblem {
  problem: Problem;
  unexpected: boolean;
}

export function toProblem(err: unknown, instance: string): MappedProblem {
  const at = { instance };
  // 503s (not ready, store down) are states the status endpoints report, not bugs worth an error line each.
  if (err instanceof GatewayError) return { problem: err.toProblem(at), unexpected: err.status >= 500 && err.status !== 503 };
  if (err instanceof StoreValidationError) {
    return { problem: problem('GW_ERR_ADMIN_VALIDATION', { ...at, detail: err.message, errors: err.issues }), unexpected: false };
  }
  if (err instanceof StoreNotFoundError) return { problem: problem('GW_ERR_ADMIN_NOT_FOUND', { ...at, detail: err.message }), unexpected: false };
  if (err instanceof StoreConflictError) return { problem: problem('GW_ERR_ADMIN_CONFLICT', { ...at, detail: err.message }), unexpected: false };
  if (err instanceof StoreReadOnlyError) return { problem: problem('GW_ERR_ADMIN_READ_ONLY', { ...at, detail: err.message }), unexpected: false };
  if (isStoreUnreachable(err)) {
    return { problem: problem('GW_ERR_STORE_UNAVAILABLE', { ...at, detail: 'the config store cannot be reached; the gateway keeps serving its last configuration' }), unexpected: false };
  }
  if (err instanceof DiffInputError) {
    return { problem: problem('GW_ERR_CONFIG_INVALID', { ...at, detail: err.message, errors: err.issues }), unexpected: false };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'GW_ERR_INTERNAL' : 'GW_ERR_BAD_REQUEST');
    return { problem: problem(code, { ...at, detail: httpExceptionDetail(err) }), unexpected: status >= 500 };
  }
  // Fastify's own errors (body parsing, size limit, media type) carry a statusCode and an FST_ code.
  const fst = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fst?.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    const code = CODE_BY_STATUS[fst.statusCode] ?? 'GW_ERR_BAD_REQUEST';
    return { problem: problem(code, { ...at, detail: String(fst.message ?? '') }), unexpected: false };
  }
  return { problem: problem('GW_ERR_INTERNAL', at), unexpected: true };
}

function httpExceptionDetail(err: HttpException): string {
  const body = err.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : err.message;
}
