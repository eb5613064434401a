/**
 * What the audit log must never hold: passwords, keys, tokens, secrets and their hashes or ciphertexts
 * (a hash of a short key can be brute-forced, a ciphertext decrypted by whoever later gets the key).
 * Redaction is by field name, at any depth, on a copy.
 */
export const REDACTED = '[redacted]';

const SECRET_FIELD = /(?:^|_)(?:password|passwd|secret|token|key|hash|encrypted|authorization|cookie|credential)s?$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any config entity: cut rather than recurse without bound.
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redact(v, depth + 1);
  }
  return out;
}
