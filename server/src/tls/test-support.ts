/**
 * Self-signed certificates for tests, made by the `openssl` CLI (Node can create keys but not sign
 * certificates). Each call makes a fresh P-256 key and a certificate valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
}

export function selfSigned(cn: string, dnsNames: string[] = [cn]): TestCert {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${cn}`,
      ...(dnsNames.length ? ['-addext', `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`] : []),
    ], { stdio: 'ignore' });
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
