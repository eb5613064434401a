import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from './redact.js';

describe('audit redaction', () => {
  it('removes secrets at any depth and keeps everything else', () => {
    const input = {
      username: 'alice',
      password: 'p',
      credentials: [{ kind: 'key-auth', key: 'k', key_hash: 'h' }],
      config: { header_name: 'apikey', client_secret: 's', nested: [{ access_token: 't', hash_on: 'ip' }] },
      secret_encrypted: 'v1.x',
      empty_secret: '',
    };
    const out = redact(input) as typeof input;
    expect(out).toEqual({
      username: 'alice',
      password: REDACTED,
      credentials: REDACTED,
      config: { header_name: 'apikey', client_secret: REDACTED, nested: [{ access_token: REDACTED, hash_on: 'ip' }] },
      secret_encrypted: REDACTED,
      empty_secret: '',
    });
    // The input is untouched.
    expect(input.password).toBe('p');
    expect(redact({ id: 'c1', kind: 'basic-auth', username: 'u', secret_hash: '$scrypt$' })).toEqual({ id: 'c1', kind: 'basic-auth', username: 'u', secret_hash: REDACTED });
  });
});
