/**
 * The trusted-proxy list (CIDRs from GATEHOUSE_TRUSTED_PROXIES): only a peer on this list may tell the
 * gateway the client's address, protocol or request id through forwarding headers.
 */
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    let n = 0;
    for (const raw of cidrs) {
      const c = raw.trim();
      if (!c) continue;
      const slash = c.indexOf('/');
      const addr = slash === -1 ? c : c.slice(0, slash);
      const family = isIP(addr);
      if (family === 0) throw new Error(`invalid trusted proxy '${c}'`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const prefix = slash === -1 ? (family === 4 ? 32 : 128) : Number(c.slice(slash + 1));
      this.list.addSubnet(addr, prefix, type);
      n++;
    }
    this.empty = n === 0;
  }

  has(address: string): boolean {
    if (this.empty || !address) return false;
    const a = unmapIPv4(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 peer) → `1.2.3.4`. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
