// scrypt hashing: round trip, salt uniqueness, and rejection of tampered or foreign formats.
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('verifies the right password and rejects a wrong one', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(/^scrypt\$1\$32768,8,1\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
  });
  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });
  it('rejects malformed or foreign hashes without throwing', async () => {
    const h = await hashPassword('pw');
    expect(await verifyPassword('pw', h.replace('scrypt$1', 'scrypt$2'))).toBe(false);
    expect(await verifyPassword('pw', h.slice(0, -4))).toBe(false);
    expect(await verifyPassword('pw', '$2b$10$abcdefghijklmnopqrstuv')).toBe(false);
    expect(await verifyPassword('pw', '')).toBe(false);
  });
});
