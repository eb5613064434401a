/**
 * The CAs the HTTPS listener advertises and checks client certificates against: the union of every
 * enabled mtls-auth instance's `ca_certificates`. Computed from each config document and handed to the
 * listener with the certificates (ProxyServer.setCertificates), so it is hot-swapped the same way.
 * An empty list means no instance needs client certificates: the listener then stops asking for them
 * (browsers would otherwise offer a certificate picker on every site).
 */
import type { ConfigDocument } from '../../config/schema.js';

export function listenerClientCas(doc: Pick<ConfigDocument, 'plugins'>): string[] {
  const out = new Set<string>();
  for (const p of doc.plugins) {
    if (!p.enabled || p.name !== 'mtls-auth') continue;
    const list = (p.config as { ca_certificates?: unknown }).ca_certificates;
    if (!Array.isArray(list)) continue;
    for (const pem of list) if (typeof pem === 'string' && pem !== '') out.add(pem);
  }
  return [...out];
}
