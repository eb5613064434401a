/**
 * mtls-auth: authenticates the client by the certificate it presented in the TLS handshake of the
 * HTTPS listener. The listener asks every client for a certificate but accepts the handshake without one
 * (routes without this plugin must keep working), advertising the union of all instances' CAs
 * (listener-ca.ts); the verification that counts happens here, against this instance's CAs only, and
 * its verdict is cached per connection (HTTP/1.1 socket or HTTP/2 session), so keep-alive requests and
 * multiplexed streams pay one chain check per connection, not per request.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { PeerCertificate } from 'node:tls';
import { AuthGate, authState } from '../../auth/gate.js';
import type { ConsumerConfig } from '../../config/schema.js';
import type { ErrorCode } from '../../errors/registry.js';
import { definePlugin, type RequestContext } from '../types.js';
import { MtlsAuthSchema } from './schema.js';
import { certificateName, ClientCertVerifier, parseCaList, parseCrlList, type CertVerdict } from './verify.js';

/** What a request needs from its connection: whether it is TLS, and the peer's certificate chain. */
interface PeerSource {
  readonly encrypted?: boolean;
  getPeerCertificate?(): PeerCertificate;
}

/**
 * The connection a request arrived on. HTTP/1.1: the TLS socket itself. HTTP/2: the compatibility
 * request's `socket` is a per-stream proxy, so the session (one per connection) is the cache key and its
 * `socket` proxy reaches the TLS socket's getPeerCertificate.
 */
function connectionOf(req: IncomingMessage): { key: object; peer: PeerSource } {
  if (req.httpVersionMajor === 2) {
    const session = (req as unknown as Http2ServerRequest).stream.session;
    if (session !== undefined) return { key: session, peer: session.socket as unknown as PeerSource };
  }
  return { key: req.socket, peer: req.socket as unknown as PeerSource };
}

interface ConnectionVerdict extends CertVerdict {
  /** Set once the certificate verified: the name consumer_by selects, subject and fingerprint headers. */
  name: string | undefined;
  subject: string;
  fingerprint: string;
}

const NO_CERT: ConnectionVerdict = { ok: false, problem: undefined, detail: 'no client certificate was presented', leaf: undefined, validUntil: Infinity, name: undefined, subject: '', fingerprint: '' };

const CODE: Record<'untrusted' | 'expired' | 'revoked', ErrorCode> = {
  untrusted: 'GW_ERR_MTLS_CERT_UNTRUSTED',
  expired: 'GW_ERR_MTLS_CERT_EXPIRED',
  revoked: 'GW_ERR_MTLS_CERT_REVOKED',
};

export const mtlsAuthPlugin = definePlugin({
  name: 'mtls-auth',
  description: 'Authenticates clients by a TLS client certificate issued by configured CAs (mutual TLS), optionally mapped to a consumer.',
  schema: MtlsAuthSchema,
  scopes: ['global', 'service', 'route'],
  create: function createMtlsAuth(config, deps) {
    const index = deps.credentials;
    if (index === undefined && !config.skip_consumer_lookup) throw new Error('mtls-auth needs the credential index');
    const cas = parseCaList(config.ca_certificates);
    const verifier = new ClientCertVerifier(cas, parseCrlList(config.revocation ?? [], cas));
    const gate = new AuthGate('mtls-auth', { identityHeaders: config.identity_headers, anonymous: config.anonymous, credentials: index });
    const subjectHeader = config.certificate_headers.subject.toLowerCase();
    const fingerprintHeader = config.certificate_headers.fingerprint.toLowerCase();
    const by = config.consumer_by;
    const skipLookup = config.skip_consumer_lookup;
    const allowAnonymous = config.allow_anonymous;
    // Per connection; entries go with their socket or session. A new snapshot (new CAs or CRLs) starts empty.
    const verdicts = new WeakMap<object, ConnectionVerdict>();

    const check = (peer: PeerSource, now: number): ConnectionVerdict => {
      const cert = peer.getPeerCertificate?.();
      if (cert === undefined || cert.raw === undefined) return NO_CERT;
      const v = verifier.verify(cert.raw, now);
      if (!v.ok || v.leaf === undefined) return { ...v, name: undefined, subject: '', fingerprint: '' };
      return {
        ...v,
        name: certificateName(v.leaf, by),
        subject: v.leaf.subject.replace(/\n/g, ', '),
        fingerprint: v.leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
      };
    };

    return {
      access(ctx: RequestContext) {
        // Never trust these from the client, whether or not this plugin ends up authenticating.
        ctx.removeUpstreamHeader(subjectHeader);
        ctx.removeUpstreamHeader(fingerprintHeader);
        if (!gate.begin(ctx)) return;
        const conn = connectionOf(ctx.req);
        if (conn.peer.encrypted !== true) {
          return gate.fail(ctx, 'GW_ERR_MTLS_NOT_TLS', 'client certificates need HTTPS; this request came over plain HTTP', true);
        }
        const now = Date.now();
        let v = verdicts.get(conn.key);
        if (v === undefined || now > v.validUntil) {
          v = check(conn.peer, now);
          verdicts.set(conn.key, v);
        }
        if (!v.ok) {
          if (v.problem === undefined) return gate.fail(ctx, 'GW_ERR_MTLS_CERT_MISSING', v.detail, true);
          return gate.fail(ctx, CODE[v.problem], v.detail, false);
        }
        ctx.setUpstreamHeader(subjectHeader, v.subject);
        ctx.setUpstreamHeader(fingerprintHeader, v.fingerprint);
        let consumer: ConsumerConfig | undefined;
        if (!skipLookup && v.name !== undefined) consumer = index!.consumer(v.name);
        if (consumer !== undefined) return gate.success(ctx, consumer, { id: v.fingerprint, identifier: v.name! });
        if (!skipLookup && !allowAnonymous) {
          return gate.fail(ctx, 'GW_ERR_MTLS_NO_CONSUMER', v.name === undefined ? `the certificate has no ${by} name` : `no consumer '${v.name}'`, false);
        }
        // A verified certificate without a consumer: authenticated, anonymous to the gateway (as jwt does).
        const st = authState(ctx);
        st.presented = true;
        st.by.push('mtls-auth');
      },
    };
  },
});

export default mtlsAuthPlugin;
