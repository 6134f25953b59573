import { promises as dns } from 'node:dns';
import type { DnsResolver, MxRecord } from '@sterna/core';
import type { ConfigParams } from '@sterna/lua';
import { HostsFile } from './hosts-file.js';

/**
 * A resolver whose target can change once `init` has run `kumo.dns.configure_resolver`. A and
 * AAAA look-ups read the hosts file first (KumoMTA's `use_hosts_file = 'Auto'`: a name the file
 * gives addresses of that family is answered from it, any other goes to DNS), so a policy
 * resolves its own `$HOSTNAME` in a container; MX look-ups always ask DNS, as KumoMTA's do.
 */
export class SwitchableResolver implements DnsResolver {
  #inner: dns.Resolver = new dns.Resolver();
  #hosts: HostsFile | undefined;

  /** @param hosts the hosts file to consult first; `false`: DNS only. @default /etc/hosts */
  constructor(hosts: HostsFile | false = new HostsFile()) {
    this.#hosts = hosts || undefined;
  }

  async resolveMx(name: string): Promise<MxRecord[]> {
    // Drivers get `{ exchange, priority }` on every Node (Node 24 adds `type: 'MX'`).
    const records = await this.#inner.resolveMx(name);
    return records.map(({ exchange, priority }) => ({ exchange, priority }));
  }

  async resolve4(name: string): Promise<string[]> {
    return (await this.#hosts?.lookup(name, 4)) ?? this.#inner.resolve4(name);
  }

  async resolve6(name: string): Promise<string[]> {
    return (await this.#hosts?.lookup(name, 6)) ?? this.#inner.resolve6(name);
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
    // resolver options { use_hosts_file = 'Always' | 'Auto' | 'Never' } (a boolean before 2025.05).
    const useHosts = (params.options as { use_hosts_file?: unknown }).use_hosts_file;
    if (useHosts === 'Never' || useHosts === false) this.#hosts = undefined;
  }
}
