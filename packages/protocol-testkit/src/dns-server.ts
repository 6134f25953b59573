import { promises as dnsPromises } from 'node:dns';
import dns2 from 'dns2';

const { Packet } = dns2;

/** The records one name answers with. */
export interface DnsRecords {
  readonly MX?: readonly { readonly exchange: string; readonly priority: number }[];
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  readonly TXT?: readonly string[];
  /** Never answer queries for this name (a resolver time-out). */
  readonly stall?: boolean;
}

/** Options of {@link startDnsServer}. */
export interface DnsServerOptions {
  /** Zone data by name (no trailing dot, any case). Other names answer NXDOMAIN. */
  readonly records?: Readonly<Record<string, DnsRecords>>;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/** A DNS server on loopback, answering from a table. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
  /** `['127.0.0.1:PORT']`, for `Resolver.setServers` or `kumo.dns.configure_resolver`. */
  readonly servers: readonly string[];
  /**
   * A `node:dns` resolver pointed at this server (one try, short time-out); MX records are
   * `{ exchange, priority }` on every Node.
   */
  resolver(): dnsPromises.Resolver;
  set(name: string, records: DnsRecords): void;
  remove(name: string): void;
  /** Every query received, in order. */
  readonly queries: { name: string; type: string }[];
  close(): Promise<void>;
}

const TYPE_NAMES: Record<number, string> = { 1: 'A', 15: 'MX', 16: 'TXT', 28: 'AAAA' };
const NXDOMAIN = 3;

const key = (name: string) => name.replace(/\.$/, '').toLowerCase();

/**
 * Starts a real DNS server (UDP) on a loopback port chosen by the kernel. Names missing from the
 * table answer NXDOMAIN; a name present without records of the asked type answers NODATA; an MX
 * with `exchange: ''` is the null MX of RFC 7505.
 */
export async function startDnsServer(options: DnsServerOptions = {}): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const table = new Map<string, DnsRecords>();
  for (const [name, records] of Object.entries(options.records ?? {}))
    table.set(key(name), records);
  const queries: { name: string; type: string }[] = [];

  const server = dns2.createServer({
    udp: true,
    handle(request, send) {
      const response = Packet.createResponseFromRequest(request);
      const question = request.questions[0];
      if (!question) return send(response);
      const type = TYPE_NAMES[question.type] ?? String(question.type);
      queries.push({ name: question.name, type });
      const records = table.get(key(question.name));
      if (records?.stall) return;
      if (!records) {
        response.header.rcode = NXDOMAIN;
        return send(response);
      }
      const base = { name: question.name, class: Packet.CLASS.IN, ttl: 60 };
      // dns2's typings want class instances; the encoder only reads these plain fields.
      const answers = response.answers as unknown as object[];
      if (type === 'MX') {
        for (const mx of records.MX ?? [])
          answers.push({
            ...base,
            type: Packet.TYPE.MX,
            exchange: mx.exchange,
            priority: mx.priority,
          });
      } else if (type === 'A') {
        for (const address of records.A ?? [])
          answers.push({ ...base, type: Packet.TYPE.A, address });
      } else if (type === 'AAAA') {
        for (const address of records.AAAA ?? [])
          answers.push({ ...base, type: Packet.TYPE.AAAA, address });
      } else if (type === 'TXT') {
        for (const data of records.TXT ?? [])
          answers.push({ ...base, type: Packet.TYPE.TXT, data });
      }
      send(response);
    },
  });
  const listening = await server.listen({ udp: { port: 0, address: host } });
  const port = (listening as { udp: { port: number } }).udp.port;
  const servers = [`${host}:${port}`];

  return {
    host,
    port,
    servers,
    resolver() {
      const resolver = new dnsPromises.Resolver({ timeout: 1000, tries: 1 });
      resolver.setServers(servers);
      // MX records as `{ exchange, priority }` on every Node: Node 24 adds `type: 'MX'` to
      // each, which Node 20 and 22 do not, so records compared whole would differ by Node.
      const resolveMx = resolver.resolveMx.bind(resolver);
      resolver.resolveMx = async (hostname) =>
        (await resolveMx(hostname)).map(({ exchange, priority }) => ({ exchange, priority }));
      return resolver;
    },
    set: (name, records) => void table.set(key(name), records),
    remove: (name) => void table.delete(key(name)),
    queries,
    close: () => server.close(),
  };
}
