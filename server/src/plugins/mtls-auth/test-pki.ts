/**
 * A throwaway PKI for tests, made with the `openssl` CLI in a temp dir (Node cannot sign certificates or
 * CRLs): CAs, client certificates issued by them (valid, expired, revoked) and a CRL.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestClientCert {
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

export class TestCa {
  readonly cert: string;
  private constructor(
    private readonly dir: string,
    readonly name: string,
  ) {
    this.cert = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  }

  /** A self-signed root CA, or with `parent` an intermediate CA it signs. */
  static create(root: string, name: string, parent?: TestCa): TestCa {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'newcerts'), { recursive: true });
    writeFileSync(path.join(dir, 'index.txt'), '');
    writeFileSync(path.join(dir, 'serial'), '1000\n');
    writeFileSync(path.join(dir, 'crlnumber'), '01\n');
    writeFileSync(
      path.join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = ca_default',
        '[ca_default]',
        `dir = ${dir}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir/newcerts',
        'serial = $dir/serial',
        'crlnumber = $dir/crlnumber',
        'certificate = $dir/ca.pem',
        'private_key = $dir/ca.key',
        'default_md = sha256',
        'default_days = 1',
        'default_crl_days = 1',
        'unique_subject = no',
        'policy = policy_any',
        '[policy_any]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    if (parent === undefined) {
      openssl(
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', `/CN=${name}`,
          '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
        dir,
      );
    } else {
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.csr', '-subj', `/CN=${name}`], dir);
      writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n');
      openssl(['ca', '-batch', '-config', path.join(parent.dir, 'ca.cnf'), '-notext', '-in', path.join(dir, 'ca.csr'), '-out', path.join(dir, 'ca.pem'), '-extfile', path.join(dir, 'ca.ext'), '-days', '1'], parent.dir);
    }
    return new TestCa(dir, name);
  }

  /** A client certificate for `cn`; `expired`: valid in 2020 only. */
  issue(file: string, cn: string, opts: { expired?: boolean; san?: string } = {}): TestClientCert {
    const d = this.dir;
    writeFileSync(path.join(d, `${file}.ext`), ['basicConstraints = CA:FALSE', 'extendedKeyUsage = clientAuth', ...(opts.san ? [`subjectAltName = ${opts.san}`] : []), ''].join('\n'));
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${cn}`], d);
    openssl(
      ['ca', '-batch', '-config', 'ca.cnf', '-notext', '-in', `${file}.csr`, '-out', `${file}.pem`, '-extfile', `${file}.ext`,
        ...(opts.expired ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] : ['-days', '1'])],
      d,
    );
    return { cert: readFileSync(path.join(d, `${file}.pem`), 'utf8'), key: readFileSync(path.join(d, `${file}.key`), 'utf8') };
  }

  revoke(file: string): void {
    openssl(['ca', '-config', 'ca.cnf', '-revoke', `${file}.pem`], this.dir);
  }

  /** Revokes a certificate this CA issued that lives elsewhere (an intermediate CA's). */
  revokeFile(pemPath: string): void {
    openssl(['ca', '-config', 'ca.cnf', '-revoke', pemPath], this.dir);
  }

  /** A CRL listing every certificate revoked so far. */
  crl(): string {
    openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem'], this.dir);
    return readFileSync(path.join(this.dir, 'crl.pem'), 'utf8');
  }
}

export function testPkiDir(): { root: string; remove(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'gh-pki-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
