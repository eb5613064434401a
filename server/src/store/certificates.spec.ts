// The certificate write path of the database store (PGlite): upsert by name (the ACME entry point), the
// rows holding only ciphertext, and declarative applies of exports that carry no keys.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processCredentialKeys } from '../auth/secrets.js';
import { emptyDocument } from '../config/schema.js';
import { sealCertificate, withoutCertificateKeys } from '../tls/certificates.js';
import { selfSigned } from '../tls/test-support.js';
import { StoreNotFoundError, StoreValidationError, type ConfigStore } from './config-store.js';
import { createConfigStore } from './create-store.js';
import { loadDocument } from './entity-rows.js';
import { TEST_PLUGINS } from './test-support.js';

const meta = { author: 'tester' };
const keys = processCredentialKeys();
const a = selfSigned('a.test');
const a2 = selfSigned('a.test');

describe('certificates in the PGlite store', () => {
  let store: ConfigStore;
  beforeAll(async () => {
    store = await createConfigStore({ plugins: TEST_PLUGINS });
  });
  afterAll(async () => {
    await store.close();
  });
  beforeEach(async () => {
    await store.replace({ ...emptyDocument(), certificates: [] }, { author: 'reset' });
  });

  it('upserts by name: creates, then replaces in place (a renewal), and reads back from the tables', async () => {
    const first = await store.certificates!.upsert(sealCertificate(keys, { name: 'a', cert: a.cert, key: a.key }), meta);
    expect(first.created).toBe(true);
    const renewed = await store.certificates!.upsert(sealCertificate(keys, { name: 'a', cert: a2.cert, key: a2.key, default: true }), meta);
    expect(renewed.created).toBe(false);
    expect(renewed.version).toBe(first.version + 1);
    const list = await store.certificates!.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'a', cert: a2.cert, default: true, snis: ['a.test'] });
    const backend = (store as unknown as { backend: { prisma: Parameters<typeof loadDocument>[0] } }).backend;
    const rows = await loadDocument(backend.prisma);
    expect(rows.certificates).toEqual((await store.current()).document.certificates);
    expect(JSON.stringify(rows)).not.toContain('PRIVATE KEY');
  });

  it('refuses a certificate without a key, and a name that is not there', async () => {
    const { key_encrypted: _k, ...bare } = sealCertificate(keys, { name: 'a', cert: a.cert, key: a.key });
    await expect(store.certificates!.upsert(bare, meta)).rejects.toBeInstanceOf(StoreValidationError);
    await expect(store.certificates!.get('nope')).rejects.toBeInstanceOf(StoreNotFoundError);
    await expect(store.certificates!.remove('nope', meta)).rejects.toBeInstanceOf(StoreNotFoundError);
  });

  it('an export (keys stripped) applies back unchanged; a document without certificates keeps them; a new one needs a key', async () => {
    await store.certificates!.upsert(sealCertificate(keys, { name: 'a', cert: a.cert, key: a.key }), meta);
    const stored = (await store.current()).document;
    expect((await store.replace(withoutCertificateKeys(stored), meta)).changed).toBe(false);
    const { certificates: _c, ...without } = stored;
    expect((await store.replace(without, meta)).changed).toBe(false);
    expect((await store.certificates!.get('a')).key_encrypted).toBe(stored.certificates![0]!.key_encrypted);
    const stray = { ...withoutCertificateKeys(stored).certificates![0]!, name: 'other', snis: ['other.test'] };
    await expect(store.replace({ ...stored, certificates: [...stored.certificates!, stray] }, meta)).rejects.toThrow(/no private key/);
    await store.certificates!.remove('a', meta);
    expect(await store.certificates!.list()).toEqual([]);
  });
});
