import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, processCredentialKeys } from '../auth/secrets.js';
import { checkDocument } from '../config/check.js';
import { PLUGINS } from '../plugins/index.js';
import { CertificateInputError, SniTable, sealCertificate, withoutCertificateKeys } from './certificates.js';
import { selfSigned } from './test-support.js';

const keys = processCredentialKeys();
const a = selfSigned('a.example.com', ['a.example.com', '*.apps.example.com']);
const b = selfSigned('b.example.com');

describe('sealCertificate', () => {
  it('encrypts the key, and takes the server names from the subjectAltNames when none are given', () => {
    const c = sealCertificate(keys, { name: 'a', cert: a.cert, key: a.key });
    expect(c.key_encrypted).toMatch(/^v1\./);
    expect(JSON.stringify(c)).not.toContain('PRIVATE KEY');
    expect(decryptSecret(keys, c.key_encrypted!).toString()).toBe(a.key);
    expect(c.snis).toEqual(['a.example.com', '*.apps.example.com']);
    expect(c.default).toBe(false);
  });

  it('refuses a key that belongs to another certificate, and PEM that is not a certificate', () => {
    expect(() => sealCertificate(keys, { name: 'x', cert: a.cert, key: b.key })).toThrow(CertificateInputError);
    expect(() => sealCertificate(keys, { name: 'x', cert: a.cert, key: b.key })).toThrow(/does not belong/);
    expect(() => sealCertificate(keys, { name: 'x', cert: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----', key: a.key })).toThrow(/not a PEM certificate/);
  });
});

describe('SniTable', () => {
  const sa = sealCertificate(keys, { name: 'a', cert: a.cert, key: a.key });
  const sb = sealCertificate(keys, { name: 'b', cert: b.cert, key: b.key, default: true });

  it('finds exact names, one-label wildcards, and nothing else', () => {
    const t = SniTable.build([sa, sb], keys);
    expect(t.size).toBe(2);
    expect(t.lookup('A.Example.com')).toBeDefined();
    expect(t.lookup('b.example.com')).toBeDefined();
    expect(t.lookup('b.example.com')).not.toBe(t.lookup('a.example.com'));
    expect(t.lookup('x.apps.example.com')).toBe(t.lookup('y.apps.example.com'));
    expect(t.lookup('x.y.apps.example.com')).toBeUndefined();
    expect(t.lookup('apps.example.com')).toBeUndefined();
    expect(t.lookup('other.test')).toBeUndefined();
    expect(new X509Certificate(String(t.defaultOptions!.cert)).subject).toContain('b.example.com');
  });

  it('skips a certificate sealed under another key and reports it; the others still serve', () => {
    const foreign = sealCertificate(processCredentialKeys(), { name: 'foreign', cert: b.cert, key: b.key, snis: ['c.example.com'] });
    const t = SniTable.build([sa, foreign], keys);
    expect(t.size).toBe(1);
    expect(t.errors.map((e) => e.certificate)).toEqual(['foreign']);
    expect(t.lookup('c.example.com')).toBeUndefined();
    expect(t.lookup('a.example.com')).toBeDefined();
    expect(t.defaultOptions).toBeUndefined();
  });

  it('withoutCertificateKeys drops only the keys', () => {
    const doc = withoutCertificateKeys({ certificates: [sa] });
    expect(doc.certificates![0]).toEqual({ name: 'a', cert: sa.cert, snis: sa.snis, default: false, tags: [] });
  });
});

describe('checkDocument: certificates', () => {
  const base = { _format_version: '1' };
  const sa = sealCertificate(keys, { name: 'a', cert: a.cert, key: a.key, default: true });
  it('accepts a valid list and refuses duplicate names, a second default and a server name on two certificates', () => {
    expect(checkDocument({ ...base, certificates: [sa] }, PLUGINS).ok).toBe(true);
    const r = checkDocument({ ...base, certificates: [sa, { ...sa }, { ...sa, name: 'c', snis: ['A.example.com'] }] }, PLUGINS);
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['/certificates/1/name', '/certificates/1/default', '/certificates/2/snis/0']));
  });
  it('refuses a malformed server name', () => {
    expect(checkDocument({ ...base, certificates: [{ ...sa, snis: ['*.*.example.com'] }] }, PLUGINS).ok).toBe(false);
    expect(checkDocument({ ...base, certificates: [{ ...sa, snis: ['a b'] }] }, PLUGINS).ok).toBe(false);
  });
});
