/**
 * Client certificate checks of one mtls-auth instance: the chain must end at one of THIS instance's CAs
 * (the listener trusts the union of all instances' CAs, so its own verdict cannot tell them apart),
 * every certificate of the path must be within its validity, and none may be listed by its issuer's CRL.
 *
 * Node has no CRL parser, so the few fields needed (issuer signature, revoked serials) are read from the
 * DER here, once per snapshot, and the CRL's signature is checked against the CA that issued it.
 */
import { verify as verifySignature, X509Certificate } from 'node:crypto';

export type CertProblem = 'untrusted' | 'expired' | 'revoked';

export interface CertVerdict {
  ok: boolean;
  problem: CertProblem | undefined;
  detail: string;
  leaf: X509Certificate | undefined;
  /** Epoch ms after which the verdict must be recomputed (the end of the path's validity). */
  validUntil: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/g;
const MAX_DEPTH = 8;
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EKU_ANY = '2.5.29.37.0';

/** Every certificate of a list of PEM strings (each may be a bundle). Throws on a string holding none. */
export function parseCaList(pems: readonly string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  pems.forEach((pem, i) => {
    const blocks = pem.match(PEM_CERT);
    if (blocks === null) throw new Error(`ca_certificates[${i}] holds no PEM certificate`);
    for (const b of blocks) {
      let x: X509Certificate;
      try {
        x = new X509Certificate(b);
      } catch (err) {
        throw new Error(`ca_certificates[${i}]: ${(err as Error).message}`, { cause: err });
      }
      if (!x.ca) throw new Error(`ca_certificates[${i}]: '${x.subject.replace(/\n/g, ', ')}' is not a CA certificate`);
      out.push(x);
    }
  });
  return out;
}

// --- minimal DER reader (CRLs only) ---------------------------------------------------------------

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error('truncated DER');
  return { tag, at, start, end };
}

function children(buf: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = t.start; at < t.end; ) {
    const c = readTlv(buf, at, t.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

function oid(buf: Buffer, t: Tlv): string {
  const b = buf.subarray(t.start, t.end);
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Serial as X509Certificate.serialNumber prints it: upper-case hex, no leading zero bytes. */
function serialHex(buf: Buffer, t: Tlv): string {
  let s = t.start;
  while (s < t.end - 1 && buf[s] === 0) s++;
  return buf.subarray(s, t.end).toString('hex').toUpperCase();
}

/** Signature algorithm OID → digest for crypto.verify (null: the key type implies it, Ed25519/Ed448). */
const SIG_DIGEST: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null,
  '1.3.101.113': null,
};

export interface ParsedCrl {
  /** The CA (of the given list) whose key signed the CRL. */
  issuer: X509Certificate;
  serials: Set<string>;
  nextUpdate: number | undefined;
}

function asn1Time(buf: Buffer, t: Tlv): number {
  const s = buf.toString('latin1', t.start, t.end);
  // UTCTime YYMMDDHHMMSSZ (years 50-99 are 19xx, RFC 5280 §4.1.2.5.1), GeneralizedTime YYYYMMDDHHMMSSZ.
  const full = t.tag === 0x17 ? (Number(s.slice(0, 2)) >= 50 ? '19' : '20') + s : s;
  return Date.UTC(Number(full.slice(0, 4)), Number(full.slice(4, 6)) - 1, Number(full.slice(6, 8)), Number(full.slice(8, 10)), Number(full.slice(10, 12)), Number(full.slice(12, 14)));
}

/** Parses one PEM CRL and checks its signature against `cas`. Throws when it is malformed or signed by none of them. */
export function parseCrl(pem: string, cas: readonly X509Certificate[]): ParsedCrl {
  const m = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(pem);
  if (m === null) throw new Error('not a PEM CRL');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const top = readTlv(der, 0, der.length);
  const [tbs, alg, sig] = children(der, top);
  if (top.tag !== 0x30 || tbs?.tag !== 0x30 || alg?.tag !== 0x30 || sig?.tag !== 0x03) throw new Error('not a DER CertificateList');
  const algOid = oid(der, children(der, alg)[0]!);
  if (!(algOid in SIG_DIGEST)) throw new Error(`unsupported CRL signature algorithm ${algOid}`);
  const digest = SIG_DIGEST[algOid]!;
  const tbsBytes = der.subarray(tbs.at, tbs.end);
  const signature = der.subarray(sig.start + 1, sig.end);
  const issuer = cas.find((ca) => {
    try {
      return verifySignature(digest, tbsBytes, ca.publicKey, signature);
    } catch {
      return false;
    }
  });
  if (issuer === undefined) throw new Error('the CRL is not signed by any of ca_certificates');
  const fields = children(der, tbs);
  let i = fields[0]?.tag === 0x02 ? 1 : 0; // version
  i += 2; // signature algorithm, issuer
  i++; // thisUpdate
  let nextUpdate: number | undefined;
  if (fields[i] !== undefined && (fields[i]!.tag === 0x17 || fields[i]!.tag === 0x18)) nextUpdate = asn1Time(der, fields[i++]!);
  const serials = new Set<string>();
  if (fields[i]?.tag === 0x30) {
    for (const entry of children(der, fields[i]!)) serials.add(serialHex(der, children(der, entry)[0]!));
  }
  return { issuer, serials, nextUpdate };
}

export function parseCrlList(pems: readonly string[], cas: readonly X509Certificate[]): ParsedCrl[] {
  const out: ParsedCrl[] = [];
  pems.forEach((pem, i) => {
    const blocks = pem.match(PEM_CRL);
    if (blocks === null) throw new Error(`revocation[${i}] holds no PEM CRL`);
    for (const b of blocks) {
      try {
        out.push(parseCrl(b, cas));
      } catch (err) {
        throw new Error(`revocation[${i}]: ${(err as Error).message}`, { cause: err });
      }
    }
  });
  return out;
}

// --- path verification -------------------------------------------------------------------------

function notAfter(x: X509Certificate): number {
  return Date.parse(x.validTo);
}

function withinValidity(x: X509Certificate, now: number): boolean {
  return now >= Date.parse(x.validFrom) && now <= notAfter(x);
}

const subjectOf = (x: X509Certificate) => x.subject.replace(/\n/g, ', ');

export class ClientCertVerifier {
  /** CA fingerprint → revoked serials of that CA. */
  private readonly revoked = new Map<string, Set<string>>();

  constructor(
    private readonly cas: readonly X509Certificate[],
    crls: readonly ParsedCrl[],
  ) {
    for (const c of crls) {
      const key = c.issuer.fingerprint256;
      const set = this.revoked.get(key);
      if (set === undefined) this.revoked.set(key, new Set(c.serials));
      else for (const s of c.serials) set.add(s);
    }
  }

  /**
   * Node does not expose, on the server side, the intermediates a client sends (getPeerCertificate(true)
   * has no issuerCertificate there), so the path is built from this instance's CAs alone: the leaf's
   * issuer must be one of them (an intermediate is a valid anchor), and that CA's own issuers, when
   * listed too, are walked for their validity and CRLs (a revoked intermediate fails every leaf below it).
   * Runs once per connection (the plugin caches the verdict).
   */
  verify(leafDer: Buffer, now: number): CertVerdict {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(leafDer);
    } catch {
      return fail('untrusted', 'the client certificate cannot be parsed', undefined);
    }
    if (!withinValidity(leaf, now)) return fail('expired', `the client certificate is valid from ${leaf.validFrom} to ${leaf.validTo}`, leaf);
    const eku = leaf.keyUsage;
    if (eku !== undefined && eku.length > 0 && !eku.includes(EKU_CLIENT_AUTH) && !eku.includes(EKU_ANY)) {
      return fail('untrusted', 'the client certificate is not for client authentication (extendedKeyUsage)', leaf);
    }
    let validUntil = notAfter(leaf);
    let cur = leaf;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const issuer = this.cas.find((ca) => ca !== cur && cur.checkIssued(ca) && cur.verify(ca.publicKey));
      if (issuer === undefined) {
        if (cur === leaf) return fail('untrusted', `the client certificate '${subjectOf(leaf)}' (issuer '${leaf.issuer.replace(/\n/g, ', ')}') is not issued by a CA of this route`, leaf);
        break;
      }
      if (this.revoked.get(issuer.fingerprint256)?.has(cur.serialNumber)) return fail('revoked', `certificate serial ${cur.serialNumber} ('${subjectOf(cur)}') is revoked by '${subjectOf(issuer)}'`, leaf);
      if (!withinValidity(issuer, now)) return fail('expired', `the CA '${subjectOf(issuer)}' is outside its validity`, leaf);
      validUntil = Math.min(validUntil, notAfter(issuer));
      // A self-signed root ends the path.
      if (issuer.checkIssued(issuer)) break;
      cur = issuer;
    }
    return { ok: true, problem: undefined, detail: '', leaf, validUntil };
  }
}

function fail(problem: CertProblem, detail: string, leaf: X509Certificate | undefined): CertVerdict {
  return { ok: false, problem, detail, leaf, validUntil: Infinity };
}

/** The name `consumer_by` selects from a verified certificate; undefined when it has none. */
export function certificateName(x: X509Certificate, by: 'subject_cn' | 'san_dns' | 'san_email' | 'san_uri'): string | undefined {
  if (by === 'subject_cn') {
    let cn: string | undefined;
    for (const line of x.subject.split('\n')) if (line.startsWith('CN=')) cn = line.slice(3);
    return cn;
  }
  const prefix = by === 'san_dns' ? 'DNS:' : by === 'san_email' ? 'email:' : 'URI:';
  for (const raw of splitSan(x.subjectAltName ?? '')) {
    if (raw.startsWith(prefix)) return raw.slice(prefix.length);
  }
  return undefined;
}

/** subjectAltName entries; Node quotes an entry (JSON string syntax) when its value holds a comma or quote. */
function splitSan(san: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < san.length) {
    while (san[i] === ' ' || san[i] === ',') i++;
    if (i >= san.length) break;
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon + 1);
    if (san[colon + 1] === '"') {
      let j = colon + 2;
      while (j < san.length && san[j] !== '"') j += san[j] === '\\' ? 2 : 1;
      try {
        out.push(type + (JSON.parse(san.slice(colon + 1, j + 1)) as string));
      } catch {
        out.push(type + san.slice(colon + 2, j));
      }
      i = j + 1;
    } else {
      let j = san.indexOf(',', colon);
      if (j < 0) j = san.length;
      out.push(type + san.slice(colon + 1, j));
      i = j;
    }
  }
  return out;
}
