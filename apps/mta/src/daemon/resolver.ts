import { promises as dns } from 'node:dns';
import type { DnsResolver, MxRecord } from '@sterna/core';
import type { ConfigParams } from '@sterna/lua';

/** A resolver whose target can change once `init` has run `kumo.dns.configure_resolver`. */
export class SwitchableResolver implements DnsResolver {
  #inner: dns.Resolver = new dns.Resolver();

  async resolveMx(name: string): Promise<MxRecord[]> {
    // Drivers get `{ exchange, priority }` on every Node (Node 24 adds `type: 'MX'`).
    const records = await this.#inner.resolveMx(name);
    return records.map(({ exchange, priority }) => ({ exchange, priority }));
  }

  resolve4(name: string) {
    return this.#inner.resolve4(name);
  }

  resolve6(name: string) {
    return this.#inner.resolve6(name);
  }

  /** Points look-ups at the servers the policy named (`'ip:port'` or `{ socket_addr = … }`). */
  configure(params: ConfigParams['dns_resolver']): void {
    const servers = params.name_servers.map((entry) => {
      if (typeof entry === 'string') return entry;
      const addr = (entry as { socket_addr?: unknown }).socket_addr;
      if (typeof addr !== 'string')
        throw new Error(
          'kumo.dns.configure_resolver: name_servers entries are "ip:port" or { socket_addr = "ip:port" }',
        );
      return addr;
    });
    const resolver = new dns.Resolver({ timeout: 5000, tries: 2 });
    if (servers.length > 0) resolver.setServers(servers);
    this.#inner = resolver;
  }
}
