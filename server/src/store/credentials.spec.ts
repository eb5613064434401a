// The credential write path of the database store (PGlite): validation, cascade, apply/rollback rules.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newCredential } from '../auth/new-credential.js';
import { processCredentialKeys } from '../auth/secrets.js';
import { emptyDocument } from '../config/schema.js';
import { StoreNotFoundError, StoreValidationError, type ConfigStore } from './config-store.js';
import { createConfigStore } from './create-store.js';
import { loadDocument } from './entity-rows.js';
import { TEST_PLUGINS } from './test-support.js';

const meta = { author: 'tester' };
const keys = processCredentialKeys();

describe('credentials in the PGlite store', () => {
  let store: ConfigStore;
  beforeAll(async () => {
    store = await createConfigStore({ plugins: TEST_PLUGINS });
  });
  afterAll(async () => {
    await store.close();
  });
  beforeEach(async () => {
    await store.replace({ ...emptyDocument(), credentials: [] }, { author: 'reset' });
    await store.create('consumers', { username: 'alice' }, meta);
  });

  it('creates, lists, reads back from the tables and exports only hashes', async () => {
    const k = newCredential(keys, 'alice', { kind: 'key-auth', expires_at: '2030-01-01T00:00:00.000Z' });
    const b = newCredential(keys, 'alice', { kind: 'basic-auth', key: 'alice', secret: 'correct horse battery' });
    await store.credentials!.create(k.credential, meta);
    await store.credentials!.create(b.credential, meta);
    const list = await store.credentials!.list('alice');
    expect(list.map((c) => c.kind).sort()).toEqual(['basic-auth', 'key-auth']);
    const prisma = (store as unknown as { backend: { prisma: Parameters<typeof loadDocument>[0] } }).backend.prisma;
    const tables = await loadDocument(prisma);
    expect(tables.credentials).toEqual((await store.current()).document.credentials);
    const exported = JSON.stringify((await store.current()).document);
    expect(exported).not.toContain(k.plain);
    expect(exported).not.toContain('correct horse battery');
    expect(exported).toContain(k.credential.key_hash);
  });

  it('refuses duplicates and unknown consumers', async () => {
    const b = newCredential(keys, 'alice', { kind: 'basic-auth', key: 'alice', secret: 'password-1' });
    await store.credentials!.create(b.credential, meta);
    // The same user name twice for one consumer is a rotation overlap; for another consumer it is refused.
    await store.create('consumers', { username: 'mallory' }, meta);
    const dup = newCredential(keys, 'mallory', { kind: 'basic-auth', key: 'alice', secret: 'password-2' });
    await expect(store.credentials!.create(dup.credential, meta)).rejects.toBeInstanceOf(StoreValidationError);
    const k = newCredential(keys, 'alice', { kind: 'key-auth', key: 'the-same-api-key-0123' });
    await store.credentials!.create(k.credential, meta);
    const sameKey = newCredential(keys, 'mallory', { kind: 'key-auth', key: 'the-same-api-key-0123' });
    await expect(store.credentials!.create(sameKey.credential, meta)).rejects.toBeInstanceOf(StoreValidationError);
    const orphan = newCredential(keys, 'bob', { kind: 'key-auth' });
    await expect(store.credentials!.create(orphan.credential, meta)).rejects.toBeInstanceOf(StoreNotFoundError);
  });

  it('rotates in one version, revokes, and deletes with the consumer', async () => {
    const k = newCredential(keys, 'alice', { kind: 'key-auth' });
    await store.credentials!.create(k.credential, meta);
    const next = newCredential(keys, 'alice', { kind: 'key-auth' });
    const before = (await store.current()).version;
    const r = await store.credentials!.update('alice', k.credential.id, (c) => ({ ...c, expires_at: '2030-01-01T00:00:00.000Z' }), meta, next.credential);
    expect(r.version).toBe(before + 1);
    expect(r.credential.expires_at).toBe('2030-01-01T00:00:00.000Z');
    expect(r.added?.id).toBe(next.credential.id);
    await store.remove('consumers', 'alice', meta);
    expect((await store.current()).document.credentials).toBeUndefined();
  });

  it('an apply without `credentials` keeps them; a rollback cannot un-revoke', async () => {
    const k = newCredential(keys, 'alice', { kind: 'key-auth' });
    const { version: v1 } = await store.credentials!.create(k.credential, meta);
    const old = (await store.version(v1)).document;
    await store.credentials!.update('alice', k.credential.id, (c) => ({ ...c, revoked_at: '2026-01-01T00:00:00.000Z' }), meta);
    await store.replace({ ...emptyDocument(), consumers: [{ username: 'alice', groups: [], tags: [] }] }, meta);
    expect((await store.credentials!.list('alice')).map((c) => c.id)).toEqual([k.credential.id]);
    await store.replace(old, meta);
    expect((await store.credentials!.get('alice', k.credential.id)).revoked_at).toBe('2026-01-01T00:00:00.000Z');
  });
});
