/**
 * Certificates of the HTTPS listener: checking a PEM pair before it is stored, sealing its private key
 * (AES-256-GCM under the credential encryption key, auth/secrets.ts), the server-side TLS policy, and the
 * SNI table the listener's SNICallback reads.
 *
 * An ACME manager stores what it obtains with `sealCertificate` + `ConfigStore.certificates.upsert` (same
 * name → replaced in one transaction); every node's listener picks it up on the next config version.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { decryptSecret, encryptSecret, type CredentialKeys } from '../auth/secrets.js';
import type { CertificateConfig } from '../config/schema.js';

/**
 * Mozilla's "intermediate" profile (TLS 1.2 + 1.3): AEAD suites with forward secrecy only. The DHE
 * suites of that profile are left out (they need DH parameters and every current client has ECDHE).
 * TLS 1.3's three suites are listed too, since Node takes both versions' suites from this one option.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Options every secure context of the listener shares. */
export const TLS_POLICY: SecureContextOptions = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: TLS_CIPHERS,
  // Mozilla intermediate: the client picks (it knows whether it has AES hardware).
  honorCipherOrder: false,
};

export class CertificateInputError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateInputError';
  }
}

export interface CertificateInput {
  name: string;
  /** PEM chain, leaf first. */
  cert: string;
  /** PEM private key, in clear (it is encrypted here and never stored so). */
  key: string;
  /** Server names; when empty, the leaf's DNS subjectAltNames (or its CN) are used. */
  snis?: string[];
  default?: boolean;
  tags?: string[];
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  not_before: string;
  not_after: string;
  fingerprint256: string;
  /** DNS names of the leaf (subjectAltName, else the CN). */
  names: string[];
}

/** Facts of the leaf certificate (the first of the chain). Throws CertificateInputError on bad PEM. */
export function describeCertificate(pem: string): CertificateFacts {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new CertificateInputError('/cert', `not a PEM certificate: ${(err as Error).message}`);
  }
  const names: string[] = [];
  for (const part of (x.subjectAltName ?? '').split(',')) {
    const t = part.trim();
    if (t.startsWith('DNS:')) names.push(t.slice(4).toLowerCase());
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
    if (cn) names.push(cn.trim().toLowerCase());
  }
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    not_before: new Date(x.validFrom).toISOString(),
    not_after: new Date(x.validTo).toISOString(),
    fingerprint256: x.fingerprint256,
    names,
  };
}

/**
 * Checks the pair (the key must belong to the leaf, and a TLS context must accept both) and returns the
 * certificate as stored: key encrypted, server names defaulting to the leaf's DNS names.
 */
export function sealCertificate(keys: CredentialKeys, input: CertificateInput): CertificateConfig {
  const facts = describeCertificate(input.cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(input.key);
  } catch (err) {
    throw new CertificateInputError('/key', `not a PEM private key: ${(err as Error).message}`);
  }
  if (!new X509Certificate(input.cert).checkPrivateKey(privateKey)) throw new CertificateInputError('/key', 'the private key does not belong to the certificate');
  try {
    createSecureContext({ ...TLS_POLICY, cert: input.cert, key: input.key });
  } catch (err) {
    throw new CertificateInputError('/cert', `unusable for TLS: ${(err as Error).message}`);
  }
  const snis = (input.snis && input.snis.length ? input.snis : facts.names).map((s) => s.toLowerCase());
  return {
    name: input.name,
    cert: input.cert,
    key_encrypted: encryptSecret(keys, input.key),
    snis: [...new Set(snis)],
    default: input.default ?? false,
    tags: input.tags ?? [],
  };
}

/** The certificate without its key: what the admin API and exports show. */
export function withoutKey(c: CertificateConfig): Omit<CertificateConfig, 'key_encrypted'> {
  const { key_encrypted: _key, ...rest } = c;
  return rest;
}

export interface SniTableError {
  certificate: string;
  message: string;
}

/**
 * Server name → secure context, built once per certificate set and swapped whole, so a handshake reads
 * one consistent table. Exact names win over `*.` wildcards, which cover exactly one label (RFC 6125).
 */
export class SniTable {
  private constructor(
    private readonly exact: ReadonlyMap<string, SecureContext>,
    private readonly wildcard: ReadonlyMap<string, SecureContext>,
    /** Context options of the default certificate; undefined: handshakes without a match fail. */
    readonly defaultOptions: SecureContextOptions | undefined,
    /** Certificates that could not be used (bad key, wrong encryption key); the others still serve. */
    readonly errors: readonly SniTableError[],
    /** Identity of the certificate set, to skip rebuilding an unchanged table. */
    readonly fingerprint: string,
    readonly size: number,
    /** CAs for client certificates (mtls-auth); empty: the listener does not ask for one. */
    readonly clientCa: readonly string[] = [],
  ) {}

  static readonly EMPTY = new SniTable(new Map(), new Map(), undefined, [], '', 0);

  /**
   * `clientCa`: CAs for client certificates (mtls-auth). Every context carries them, because after SNI
   * the handshake advertises and verifies with the context the name selected.
   */
  static build(certs: readonly CertificateConfig[], keys: CredentialKeys, clientCa: readonly string[] = []): SniTable {
    const caOption: SecureContextOptions = clientCa.length > 0 ? { ca: [...clientCa] } : {};
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const errors: SniTableError[] = [];
    let defaultOptions: SecureContextOptions | undefined;
    let size = 0;
    for (const c of certs) {
      let options: SecureContextOptions;
      let ctx: SecureContext;
      try {
        if (c.key_encrypted === undefined) throw new Error('no private key');
        options = { ...TLS_POLICY, ...caOption, cert: c.cert, key: decryptSecret(keys, c.key_encrypted) };
        ctx = createSecureContext(options);
      } catch (err) {
        errors.push({ certificate: c.name, message: (err as Error).message });
        continue;
      }
      size++;
      for (const sni of c.snis) {
        const lc = sni.toLowerCase();
        if (lc.startsWith('*.')) wildcard.set(lc.slice(2), ctx);
        else exact.set(lc, ctx);
      }
      if (c.default) defaultOptions = options;
    }
    return new SniTable(exact, wildcard, defaultOptions, errors, fingerprintOf(certs, clientCa), size, [...clientCa]);
  }

  /** The context for a client's server name; undefined: the listener's default (the default certificate, if any). */
  lookup(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    return dot > 0 ? this.wildcard.get(name.slice(dot + 1)) : undefined;
  }
}

export function fingerprintOf(certs: readonly CertificateConfig[], clientCa: readonly string[] = []): string {
  const base = JSON.stringify(certs.map((c) => [c.name, c.cert, c.key_encrypted ?? '', c.snis, c.default]));
  return clientCa.length === 0 ? base : `${base}\0${JSON.stringify(clientCa)}`;
}

/** A document as the admin API shows it (export, versions): certificates without their encrypted keys. */
export function withoutCertificateKeys<D extends { certificates?: CertificateConfig[] }>(doc: D): D {
  if (doc.certificates === undefined) return doc;
  return { ...doc, certificates: doc.certificates.map((c) => withoutKey(c) as CertificateConfig) };
}
