/**
 * The trusted-proxy list (CIDRs from GATEHOUSE_TRUSTED_PROXIES): only a peer on this list may tell the
 * gateway the client's address, protocol or request id through forwarding headers. Checked for the peer and
 * for each X-Forwarded-For hop of every request, so it uses the same compiled range set as ip-restriction.
 */
import { IpSet, parseCidr } from './ip-set.js';

export class TrustedProxies {
  private readonly set: IpSet;
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    const list: string[] = [];
    for (const raw of cidrs) {
      const c = raw.trim();
      if (!c) continue;
      try {
        parseCidr(c);
      } catch (err) {
        throw new Error(`invalid trusted proxy '${c}': ${(err as Error).message}`, { cause: err });
      }
      list.push(c);
    }
    this.set = new IpSet(list);
    this.empty = list.length === 0;
  }

  has(address: string): boolean {
    if (this.empty || !address) return false;
    return this.set.has(unmapIPv4(address));
  }
}

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 peer) → `1.2.3.4`. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
