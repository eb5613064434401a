/**
 * Validates a request body (or query) with a TypeBox schema: defaults filled, and every problem
 * reported as a 400 naming the field by JSON Pointer.
 */
import type { PipeTransform } from '@nestjs/common';
import type { Static, TSchema } from '@sinclair/typebox';
import { validate } from '../../config/validate.js';
import { GatewayError } from '../../errors/registry.js';

export function parseWith<S extends TSchema>(schema: S, input: unknown): Static<S> {
  if (input === undefined || input === null) {
    throw new GatewayError('GW_ERR_ADMIN_VALIDATION', 'a JSON request body is required', [{ path: '/', message: 'missing body' }]);
  }
  const v = validate(schema, input);
  if (!v.ok) throw new GatewayError('GW_ERR_ADMIN_VALIDATION', v.issues.map((i) => `${i.path}: ${i.message}`).join('; '), v.issues);
  return v.value;
}

export class TypeBoxPipe<S extends TSchema> implements PipeTransform<unknown, Static<S>> {
  constructor(readonly schema: S) {}
  transform(value: unknown): Static<S> {
    return parseWith(this.schema, value);
  }
}
