/**
 * Limits the proxy listener puts on its clients (GATEHOUSE_* timeouts and connection caps). They live
 * apart from proxy-server.ts so config/env.ts can share the defaults without loading the server.
 */
export interface ClientLimits {
  /** Time to receive a complete request head; slowloris protection (408 after it). 0: off. */
  headersTimeoutMs: number;
  /** Time to receive the complete request, head and body (408 after it). 0: off. */
  requestTimeoutMs: number;
  /** A connection with no byte moving either way for this long is closed, during a request too. 0: off. */
  idleTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Connections the listener holds at once; more are dropped at accept. 0: no cap. */
  maxConnections: number;
  /** Connections one client address holds at once (trusted proxies exempt); more are dropped. 0: no cap. */
  maxConnectionsPerIp: number;
  /** Request header fields accepted; more → 431 (Node would silently drop the extra ones). */
  maxHeadersCount: number;
  /**
   * Refuse (400 GW_ERR_BAD_PATH) paths with `;`, `\`, `%2F` or `%5C`: upstream frameworks read them in
   * different ways (path parameters, backslash as slash, decoded slashes), so the route the gateway
   * matched and the resource the upstream serves could differ.
   */
  strictPaths: boolean;
  /**
   * Client header fields whose name has an underscore (`X_Consumer_ID`): CGI-style upstreams (PHP, WSGI,
   * Rack) map `_` and `-` to the same variable, so such a field can stand in for a header the gateway
   * strips or sets itself. `drop` (nginx's default) forwards none of them (plugins still read them, e.g.
   * an `api_key` header), `reject` answers 400 (Envoy's edge recommendation), `allow` forwards them.
   */
  underscoreHeaders: UnderscoreHeaders;
}

export type UnderscoreHeaders = 'drop' | 'reject' | 'allow';
export const UNDERSCORE_HEADERS: readonly UnderscoreHeaders[] = ['drop', 'reject', 'allow'];

/**
 * Defaults follow Envoy's edge-proxy recommendations where Node has an equivalent (request and stream
 * idle timeouts of 5 minutes, a connection cap, 100 headers); the head timeout is shorter than Node's
 * 60 s because a head arrives in one or two packets from any honest client.
 */
export const DEFAULT_CLIENT_LIMITS: Readonly<ClientLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxConnectionsPerIp: 0,
  maxHeadersCount: 100,
  strictPaths: true,
  underscoreHeaders: 'drop',
};
