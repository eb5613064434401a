/**
 * Automatic certificates (ACME, RFC 8555) for the hostnames in GATEHOUSE_ACME_DOMAINS, with the
 * `acme-client` library and the HTTP-01 challenge answered by the proxy's listeners (acme-challenge.ts).
 *
 * Each node runs a manager in its control thread. A certificate is a normal `certificates` entity named
 * `acme-<domain>` (tagged `acme`), written with the TLS module's `sealCertificate` + store upsert, so every
 * node's HTTPS listener hot-swaps it with the next config version. Orders are serialised across the cluster
 * by a per-domain lock, and failures back off exponentially with the state shared (acme-coordination.ts),
 * so a broken domain does not hammer the CA (Let's Encrypt rate-limits failed validations hard).
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { Agent, get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import { decryptSecret, encryptSecret, type CredentialKeys } from '../auth/secrets.js';
import type { ConfigStore } from '../store/config-store.js';
import type { CertificateConfig } from '../config/schema.js';
import { sealCertificate } from './certificates.js';
import type { AcmeCoordinator, AcmeDomainState } from './acme-coordination.js';

export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
/** Store setting holding the ACME account key, encrypted like certificate keys. */
export const ACME_ACCOUNT_KEY_SETTING = 'acme_account_key';
export const ACME_TAG = 'acme';
const DAY_MS = 86_400_000;

export interface AcmeSettings {
  domains: string[];
  directoryUrl: string;
  email: string | undefined;
  /** Extra CA (PEM) trusted for the ACME server's HTTPS, besides the system's (e.g. Pebble's in tests). */
  ca: string | undefined;
  /** Renew when less than this remains of the certificate's validity. */
  renewBeforeMs: number;
  /** How often each node looks at its domains. */
  checkIntervalMs: number;
  /** Backoff after a failure: retryMinMs, doubling per failure, at most retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
}

const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
}

/** The GATEHOUSE_ACME_* variables; undefined when GATEHOUSE_ACME_DOMAINS is unset (ACME off). Throws on invalid values. */
export function acmeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AcmeSettings | undefined {
  const list = (env.GATEHOUSE_ACME_DOMAINS ?? '').split(',').map((d) => d.trim().toLowerCase()).filter((d) => d !== '');
  if (list.length === 0) return undefined;
  for (const d of list) {
    // HTTP-01 cannot prove a wildcard (RFC 8555 §8.3); those need DNS-01, which Gatehouse does not do.
    if (!HOST.test(d)) throw new Error(`GATEHOUSE_ACME_DOMAINS: '${d}' is not a host name (wildcards need DNS-01, which is not supported)`);
  }
  const directoryUrl = env.GATEHOUSE_ACME_DIRECTORY || LETS_ENCRYPT_PRODUCTION;
  if (!/^https?:\/\//.test(directoryUrl)) throw new Error('GATEHOUSE_ACME_DIRECTORY must be an http(s) URL');
  const email = env.GATEHOUSE_ACME_EMAIL || undefined;
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error('GATEHOUSE_ACME_EMAIL is not an e-mail address');
  let ca: string | undefined;
  if (env.GATEHOUSE_ACME_CA_FILE) {
    try {
      ca = readFileSync(env.GATEHOUSE_ACME_CA_FILE, 'utf8');
    } catch (err) {
      throw new Error(`GATEHOUSE_ACME_CA_FILE: ${(err as Error).message}`, { cause: err });
    }
  }
  const retryMinMs = positive(env, 'GATEHOUSE_ACME_RETRY_MIN_MS', 60_000);
  return {
    domains: [...new Set(list)],
    directoryUrl,
    email,
    ca,
    renewBeforeMs: positive(env, 'GATEHOUSE_ACME_RENEW_BEFORE_DAYS', 30) * DAY_MS,
    checkIntervalMs: positive(env, 'GATEHOUSE_ACME_CHECK_INTERVAL_MS', 3_600_000),
    retryMinMs,
    retryMaxMs: Math.max(retryMinMs, positive(env, 'GATEHOUSE_ACME_RETRY_MAX_MS', 6 * 3_600_000)),
  };
}

export const certificateName = (domain: string): string => `acme-${domain}`;

/** Delay before attempt `failures + 1`: retryMinMs · 2^(failures-1), capped. */
export function backoffMs(failures: number, s: Pick<AcmeSettings, 'retryMinMs' | 'retryMaxMs'>): number {
  return Math.min(s.retryMaxMs, s.retryMinMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

export interface AcmeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface AcmeManagerDeps {
  store: ConfigStore;
  keys: CredentialKeys;
  coordinator: AcmeCoordinator;
  logger: AcmeLogger;
  nodeId: string;
  /** Tells this node's proxy worker an HTTP-01 answer (undefined: forget it); other nodes read the coordinator. */
  publishLocal?: (token: string, keyAuthorization: string | undefined) => Promise<void>;
  /** Called after a certificate was written, to apply it on this node without waiting for the change feed. */
  afterWrite?: () => Promise<void>;
}

export interface AcmeDomainStatus extends AcmeDomainState {
  domain: string;
  certificate: string;
  /** `valid`: served and not due; `due`: renewal due (or no certificate yet); `issuing`: this node is ordering; `backoff`: waiting after a failure. */
  state: 'valid' | 'due' | 'issuing' | 'backoff';
  not_after: string | null;
  issuer: string | null;
}

export interface AcmeStatus {
  enabled: true;
  directory: string;
  shared: boolean;
  renew_before_days: number;
  domains: AcmeDomainStatus[];
}

const LOCK_TTL_MS = 120_000;
const CHALLENGE_TTL_MS = 600_000;

export class AcmeManager {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly issuing = new Set<string>();
  /** Orders this node completed (tests and logs). */
  issued = 0;

  constructor(
    private readonly settings: AcmeSettings,
    private readonly deps: AcmeManagerDeps,
  ) {
    // acme-client's own axios instance: only the ACME server's connections trust the extra CA, the rest
    // of the process keeps the system's.
    if (settings.ca !== undefined) acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, settings.ca] });
    acme.setLogger(() => {});
    // The library retries unreachable CAs and 5xx/429 answers itself, 5 times with 5 s·n pauses (75 s). The
    // manager has its own backoff, shared by the nodes and shown in GET /acme, so a short retry is enough here.
    const retry = (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
    if (retry) {
      retry.retryMaxAttempts = 2;
      retry.retryDefaultDelay = 1;
    }
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.check().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.settings.checkIntervalMs);
      });
    };
    // After the listeners are up: the CA validates against them.
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // An order in flight may wait on a slow CA; shutdown does not. Its lock expires, another node retries.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([this.running?.catch(() => undefined), new Promise((r) => (grace = setTimeout(r, 5_000)))]);
    clearTimeout(grace);
  }

  /** One pass over the domains: issue or renew what is due, one domain at a time. */
  async check(): Promise<void> {
    for (const domain of this.settings.domains) {
      if (this.stopped) return;
      try {
        await this.checkDomain(domain);
      } catch (err) {
        // Coordinator or store trouble: the next pass tries again.
        this.deps.logger.error({ err: (err as Error).message, domain }, 'acme: check failed');
      }
    }
  }

  private async stored(domain: string): Promise<CertificateConfig | undefined> {
    return ((await this.deps.store.current()).document.certificates ?? []).find((c) => c.name === certificateName(domain));
  }

  private due(cert: CertificateConfig | undefined): boolean {
    if (cert === undefined) return true;
    try {
      return new Date(new X509Certificate(cert.cert).validTo).getTime() - Date.now() < this.settings.renewBeforeMs;
    } catch {
      return true;
    }
  }

  private async checkDomain(domain: string): Promise<void> {
    if (!this.due(await this.stored(domain))) return;
    const state = await this.deps.coordinator.getState(domain);
    if (state.next_attempt_at !== null && Date.parse(state.next_attempt_at) > Date.now()) return;
    const lease = await this.deps.coordinator.lock(domain, LOCK_TTL_MS);
    if (lease === undefined) return; // another node is ordering it
    this.issuing.add(domain);
    const keepAlive = setInterval(() => void lease.extend(LOCK_TTL_MS).catch(() => undefined), LOCK_TTL_MS / 3);
    try {
      // Re-read under the lock: the node that held it before may just have stored a fresh certificate,
      // or a failure (and its backoff) may just have been recorded.
      if (!this.due(await this.stored(domain))) return;
      const fresh = await this.deps.coordinator.getState(domain);
      if (fresh.next_attempt_at !== null && Date.parse(fresh.next_attempt_at) > Date.now()) return;
      try {
        const cert = await this.issue(domain);
        this.issued++;
        await this.deps.coordinator.setState(domain, { failures: 0, last_error: null, error_at: null, next_attempt_at: null, last_issued_at: new Date().toISOString(), node: this.deps.nodeId });
        this.deps.logger.info({ domain, certificate: certificateName(domain), not_after: new Date(cert.validTo).toISOString() }, 'acme: certificate issued');
      } catch (err) {
        const failures = fresh.failures + 1;
        const wait = backoffMs(failures, this.settings);
        const message = await this.describeError(err);
        // One clock reading: the next attempt is exactly `wait` after the failure (two readings can straddle a millisecond).
        const failedAt = Date.now();
        await this.deps.coordinator.setState(domain, {
          ...fresh,
          failures,
          last_error: message,
          error_at: new Date(failedAt).toISOString(),
          next_attempt_at: new Date(failedAt + wait).toISOString(),
          node: this.deps.nodeId,
        });
        this.deps.logger.warn({ domain, failures, retry_in_ms: wait, err: message }, 'acme: issuance failed; backing off');
      }
    } finally {
      clearInterval(keepAlive);
      this.issuing.delete(domain);
      await lease.release().catch(() => undefined);
    }
  }

  /** The cluster's ACME account key: made by the first node that needs it, kept encrypted in the store's settings. */
  private async accountKey(): Promise<string> {
    const sealed = await this.deps.store.setting(ACME_ACCOUNT_KEY_SETTING, () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return encryptSecret(this.deps.keys, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    });
    return decryptSecret(this.deps.keys, sealed).toString('utf8');
  }

  private async issue(domain: string): Promise<X509Certificate> {
    const client = new acme.Client({ directoryUrl: this.settings.directoryUrl, accountKey: await this.accountKey(), backoffAttempts: 5, backoffMin: 500, backoffMax: 5_000 });
    // ECDSA P-256: smaller handshakes and faster signatures than RSA, and every current client has it.
    const [key, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    const publish = this.deps.publishLocal;
    const chain = await client.auto({
        csr,
        ...(this.settings.email !== undefined ? { email: this.settings.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // acme-client's own pre-check fetches http://<domain>/… from here, which behind NAT or a balancer
        // proves nothing about what the CA sees; the CA's validation is the check that counts.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          if (challenge.type !== 'http-01') throw new Error(`unsupported challenge ${challenge.type}`);
          await this.deps.coordinator.putChallenge(challenge.token, keyAuthorization, CHALLENGE_TTL_MS);
          // Awaited: the CA may validate as soon as this returns.
          await publish?.(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          await publish?.(challenge.token, undefined).catch(() => undefined);
          await this.deps.coordinator.deleteChallenge(challenge.token);
        },
      });
    const sealed = sealCertificate(this.deps.keys, { name: certificateName(domain), cert: chain, key: key.toString('utf8'), snis: [domain], tags: [ACME_TAG] });
    if (this.deps.store.certificates === undefined) throw new Error('this config store cannot keep certificates');
    await this.deps.store.certificates.upsert(sealed, { author: 'acme', message: `acme: certificate for ${domain}` });
    await this.deps.afterWrite?.().catch(() => undefined);
    return new X509Certificate(chain);
  }

  /**
   * acme-client 5.4 turns a network error (CA unreachable) into "Cannot read properties of undefined (reading
   * 'config')" (publishlab/node-acme-client#101); the status must say what happened, so the directory is
   * probed once to name the real cause.
   */
  private async describeError(err: unknown): Promise<string> {
    const message = problemOf(err);
    if (!(err instanceof TypeError) || !message.includes("reading 'config'")) return message;
    const network = await probe(this.settings.directoryUrl, acme.axios.defaults.httpsAgent);
    return network === undefined ? message : `cannot reach the ACME directory ${this.settings.directoryUrl}: ${network}`;
  }

  /** What `GET /acme` shows: each domain's certificate and shared issuance state. */
  async status(): Promise<AcmeStatus> {
    const domains: AcmeDomainStatus[] = [];
    for (const domain of this.settings.domains) {
      // Looked at before the reads: an order that ends while they wait must not show as `valid` with the state
      // read before it was recorded. State before certificate for the same reason.
      const issuing = this.issuing.has(domain);
      const shared = await this.deps.coordinator.getState(domain);
      const cert = await this.stored(domain);
      let notAfter: string | null = null;
      let issuer: string | null = null;
      if (cert !== undefined) {
        try {
          const x = new X509Certificate(cert.cert);
          notAfter = new Date(x.validTo).toISOString();
          issuer = x.issuer.replace(/\n/g, ', ');
        } catch {
          // shown without facts
        }
      }
      const backoff = shared.next_attempt_at !== null && Date.parse(shared.next_attempt_at) > Date.now();
      const state = issuing ? 'issuing' : backoff ? 'backoff' : this.due(cert) ? 'due' : 'valid';
      domains.push({ domain, certificate: certificateName(domain), state, not_after: notAfter, issuer, ...shared });
    }
    return { enabled: true, directory: this.settings.directoryUrl, shared: this.deps.coordinator.shared, renew_before_days: this.settings.renewBeforeMs / DAY_MS, domains };
  }
}

/** The CA's problem document when there is one (`urn:ietf:params:acme:error:…` and its detail), else the message. */
function problemOf(err: unknown): string {
  const e = err as { message?: string; response?: { data?: { type?: string; detail?: string } } };
  const data = e.response?.data;
  if (data && typeof data.detail === 'string') return `${data.type ?? 'error'}: ${data.detail}`;
  return (e.message ?? String(err)).slice(0, 1000);
}

/** One GET of `url` through acme-client's HTTPS agent: resolves with the network error, or undefined when it answers. */
function probe(url: string, agent: unknown): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(url, { timeout: 5_000, ...(agent ? { agent: agent as Agent } : {}) }, (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ? `${e.code}: ${e.message}` : e.message));
  });
}
