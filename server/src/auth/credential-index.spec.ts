import { describe, expect, it } from 'vitest';
import { CredentialIndex, RECENT_API_KEYS_MAX } from './credential-index.js';
import { newCredential } from './new-credential.js';
import { activeCredentialKeys, type CredentialKeys } from './secrets.js';

const keys = activeCredentialKeys();

/** The same keys, counting how often the pepper is read: once per HMAC. */
function counting(): { keys: CredentialKeys; hmacs: () => number } {
  let reads = 0;
  const counted = Object.create(keys) as CredentialKeys;
  Object.defineProperty(counted, 'pepper', {
    get: () => {
      reads++;
      return keys.pepper;
    },
  });
  return { keys: counted, hmacs: () => reads };
}

describe('CredentialIndex.findApiKey', () => {
  const alice = newCredential(keys, 'alice', { kind: 'key-auth' });
  const consumers = [{ username: 'alice', tags: [], groups: [] }];

  it('hashes a key once, then answers its repeats from the keys it has seen match', () => {
    const c = counting();
    const index = new CredentialIndex(consumers, [alice.credential], c.keys);
    const first = index.findApiKey(alice.plain!);
    expect(first?.consumer.username).toBe('alice');
    const after = c.hmacs();
    for (let i = 0; i < 5; i++) expect(index.findApiKey(alice.plain!)).toBe(first);
    expect(c.hmacs()).toBe(after);
  });

  it('hashes unknown keys every time and never remembers them', () => {
    const c = counting();
    const index = new CredentialIndex(consumers, [alice.credential], c.keys);
    for (let i = 0; i < 3; i++) expect(index.findApiKey('ghk_not-a-key')).toBeUndefined();
    expect(c.hmacs()).toBe(3);
  });

  it('forgets a key with its snapshot: an index built without the credential does not know it', () => {
    const before = new CredentialIndex(consumers, [alice.credential], keys);
    expect(before.findApiKey(alice.plain!)).toBeDefined();
    const revoked = { ...alice.credential, revoked_at: new Date().toISOString() };
    expect(new CredentialIndex(consumers, [revoked], keys).findApiKey(alice.plain!)?.revoked).toBe(true);
    expect(new CredentialIndex(consumers, [], keys).findApiKey(alice.plain!)).toBeUndefined();
  });

  it('stays bounded: past the limit the oldest key is hashed again, and every answer stays right', () => {
    const many = Array.from({ length: RECENT_API_KEYS_MAX + 2 }, () => newCredential(keys, 'alice', { kind: 'key-auth' }));
    const c = counting();
    const index = new CredentialIndex(consumers, many.map((m) => m.credential), c.keys);
    for (const m of many) expect(index.findApiKey(m.plain!)?.id).toBe(m.credential.id);
    const hashed = c.hmacs();
    // The newest are remembered; the first two were pushed out.
    expect(index.findApiKey(many.at(-1)!.plain!)?.id).toBe(many.at(-1)!.credential.id);
    expect(c.hmacs()).toBe(hashed);
    expect(index.findApiKey(many[0]!.plain!)?.id).toBe(many[0]!.credential.id);
    expect(c.hmacs()).toBe(hashed + 1);
  });
});
