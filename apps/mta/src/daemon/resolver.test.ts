import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyRuntime } from '@sterna/lua';
import { startDnsServer } from '@sterna/protocol-testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { collector, emptyConfig } from './collected-config.js';
import { HostsFile, hostsFilePath, parseHosts } from './hosts-file.js';
import { SwitchableResolver } from './resolver.js';

const dns = await startDnsServer({
  records: {
    'example.com': { MX: [{ exchange: 'mx.example.com', priority: 10 }], A: ['127.0.0.2'] },
    'null.example': { MX: [{ exchange: '', priority: 0 }] },
  },
});
afterAll(() => dns.close());

describe('SwitchableResolver', () => {
  it('answers from the servers configure_resolver named, MX records the same on every Node', async () => {
    const resolver = new SwitchableResolver(false);
    resolver.configure({
      name_servers: [{ socket_addr: dns.servers[0]! }],
      search: [],
      options: {},
    });
    // Exactly these keys: Node 24's resolver adds `type: 'MX'`, drivers never see it.
    expect(await resolver.resolveMx('example.com')).toEqual([
      { exchange: 'mx.example.com', priority: 10 },
    ]);
    expect(await resolver.resolveMx('null.example')).toEqual([{ exchange: '', priority: 0 }]);
    expect(await resolver.resolve4('example.com')).toEqual(['127.0.0.2']);
    await expect(resolver.resolveMx('nowhere.example')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});

const server = await startDnsServer({
  records: {
    'burst.example': { MX: [{ exchange: 'mx.burst.example', priority: 10 }] },
    'mx.burst.example': { A: ['127.0.0.3'] },
    'later.example': { MX: [{ exchange: 'mx.later.example', priority: 10 }] },
    'stalled.example': { stall: true },
  },
});
afterAll(() => server.close());

describe('what the resolver shares and keeps', () => {
  function fresh(tuning: Parameters<SwitchableResolver['tune']>[0] = {}) {
    let now = 1_000_000;
    const resolver = new SwitchableResolver(false, () => now);
    resolver.configure({ name_servers: [...server.servers], search: [], options: {} });
    resolver.tune(tuning);
    const advance = (ms: number) => {
      now += ms;
    };
    return { resolver, advance };
  }
  const asked = (name: string, type = 'MX') =>
    server.queries.filter((q) => q.name === name && q.type === type).length;

  it('a burst of MX look-ups for one name asks DNS once', async () => {
    const { resolver } = fresh();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => resolver.resolveMx('burst.example')),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(
      new Set([JSON.stringify([{ exchange: 'mx.burst.example', priority: 10 }])]),
    );
    expect(asked('burst.example')).toBe(1);
    // A positive MX answer is not kept past its query: the queue keeps its site instead.
    await resolver.resolveMx('BURST.example.');
    expect(asked('burst.example')).toBe(2);
  });

  it('keeps NXDOMAIN for set_mx_negative_cache_ttl, then asks again', async () => {
    const { resolver, advance } = fresh({ negativeCacheTtl: 300 });
    const before = asked('gone.example');
    for (let i = 0; i < 3; i++)
      await expect(resolver.resolveMx('gone.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked('gone.example') - before).toBe(1);
    advance(299_000);
    await expect(resolver.resolveMx('gone.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked('gone.example') - before).toBe(1);
    advance(2_000);
    await expect(resolver.resolveMx('gone.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked('gone.example') - before).toBe(2);
  });

  it('keeps addresses for their DNS TTL', async () => {
    const { resolver, advance } = fresh();
    const before = asked('mx.burst.example', 'A');
    expect(await resolver.resolve4('mx.burst.example')).toEqual(['127.0.0.3']);
    expect(await resolver.resolve4('mx.burst.example')).toEqual(['127.0.0.3']);
    expect(asked('mx.burst.example', 'A') - before).toBe(1);
    advance(61_000); // the test server's records live 60 s
    expect(await resolver.resolve4('mx.burst.example')).toEqual(['127.0.0.3']);
    expect(asked('mx.burst.example', 'A') - before).toBe(2);
  });

  it('bounds an MX look-up by set_mx_timeout, and queries in flight by the concurrency limit', async () => {
    const { resolver } = fresh({ timeout: 0.3, concurrencyLimit: 1 });
    expect(resolver.mxTuning).toMatchObject({ timeout: 0.3, concurrencyLimit: 1 });
    // The stalled query holds the only permit; the second look-up never reaches DNS.
    const stalled = resolver.resolveMx('stalled.example');
    const waiting = resolver.resolveMx('later.example');
    await expect(stalled).rejects.toMatchObject({
      code: 'ETIMEOUT',
      message: 'MX lookup for stalled.example timed out after 0.3s',
    });
    await expect(waiting).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(asked('later.example')).toBe(0);
    // A time-out is not kept: once the limit allows, the name is asked.
    resolver.tune({ concurrencyLimit: 2 });
    expect(await resolver.resolveMx('later.example')).toEqual([
      { exchange: 'mx.later.example', priority: 10 },
    ]);
  });
});

describe("the policy's kumo.dns.set_mx_* calls", () => {
  it('tune the resolver from the top level, pre_init or any later event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sterna-mx-tuning-'));
    const policy = join(dir, 'policy.lua');
    writeFileSync(
      policy,
      `kumo.dns.set_mx_concurrency_limit(7)
kumo.on('pre_init', function() kumo.dns.set_mx_timeout '2s' end)
kumo.on('later', function() kumo.dns.set_mx_negative_cache_ttl '10m' end)`,
    );
    const resolver = new SwitchableResolver(false);
    const config = emptyConfig();
    let inInit = false;
    const runtime = await PolicyRuntime.start({
      policy,
      poolSize: 1,
      spare: false,
      host: {
        resolver,
        configure: collector(config, () => inInit, { tuneMx: (p) => resolver.tuneFrom(p) }),
      },
    });
    try {
      expect(resolver.mxTuning.concurrencyLimit).toBe(7);
      inInit = true;
      await runtime.call('pre_init', []);
      inInit = false;
      expect(resolver.mxTuning).toEqual({ timeout: 2, negativeCacheTtl: 300, concurrencyLimit: 7 });
      await runtime.call('later', []);
      expect(resolver.mxTuning.negativeCacheTtl).toBe(600);
      expect(config.mxResolver).toEqual({
        concurrency_limit: 7,
        timeout: 2,
        negative_cache_ttl: 600,
      });
    } finally {
      await runtime.close();
    }
  });
});

describe('the hosts file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-hosts-'));
  const path = join(dir, 'hosts');
  // kumo.dns as a policy calls it: the real Lua runtime, answered by the daemon's resolver.
  const policy = join(dir, 'policy.lua');
  writeFileSync(
    policy,
    `kumo.on('addr', function(name) return kumo.json_encode(kumo.dns.lookup_addr(name)) end)
kumo.on('mx', function(name) return kumo.json_encode(kumo.dns.lookup_mx(name)) end)`,
  );
  const runtimes: PolicyRuntime[] = [];
  afterAll(() => Promise.all(runtimes.map((r) => r.close())));
  async function lookups(resolver: SwitchableResolver) {
    const runtime = await PolicyRuntime.start({
      policy,
      poolSize: 1,
      spare: false,
      host: { resolver },
    });
    runtimes.push(runtime);
    const ask = async (event: string, name: string) =>
      JSON.parse(String((await runtime.call(event, [name])).value));
    return { addr: (name: string) => ask('addr', name), mx: (name: string) => ask('mx', name) };
  }
  const pointed = (hosts: HostsFile | false) => {
    const resolver = new SwitchableResolver(hosts);
    resolver.configure({ name_servers: [dns.servers[0]!], search: [], options: {} });
    return resolver;
  };

  it('parses addresses, names and aliases; comments, blank lines and scoped addresses are skipped', () => {
    const table = parseHosts(
      '# comment\n127.0.0.1 localhost\n\n10.1.2.3   Box.Example  box # the box\n::1 localhost\nfe80::1%eth0 link\nnot-an-ip x\n',
    );
    expect(table.v4.get('box.example')).toEqual(['10.1.2.3']);
    expect(table.v4.get('box')).toEqual(['10.1.2.3']);
    expect(table.v6.get('localhost')).toEqual(['::1']);
    expect(table.v6.has('link')).toBe(false);
    expect(table.v4.has('x')).toBe(false);
  });

  it("answers A and AAAA before DNS: lookup_addr gives the file's addresses for its names", async () => {
    writeFileSync(path, '10.9.8.7 container-1 container-1.example.com\nfd00::7 container-1\n');
    const kumo = await lookups(pointed(new HostsFile(path)));
    expect(await kumo.addr('container-1')).toEqual(['10.9.8.7', 'fd00::7']);
    expect(await kumo.addr('CONTAINER-1.example.com.')).toEqual(['10.9.8.7']);
    // Names the file does not give go to DNS.
    expect(await kumo.addr('example.com')).toEqual(['127.0.0.2']);
    await expect(kumo.addr('nowhere.example')).rejects.toThrow(
      /kumo\.dns\.lookup_addr nowhere\.example/,
    );
  });

  it('reads the file again when it changes, checking at most once a second; MX look-ups still ask DNS', async () => {
    writeFileSync(path, '10.0.0.1 moving.example\n');
    let now = 0;
    const resolver = pointed(new HostsFile(path, 1000, () => now));
    expect(await resolver.resolve4('moving.example')).toEqual(['10.0.0.1']);
    writeFileSync(path, '10.0.0.2 moving.example   # moved, and longer\n');
    // Within the second after a check, the table read then still answers.
    now = 999;
    expect(await resolver.resolve4('moving.example')).toEqual(['10.0.0.1']);
    now = 1000;
    expect(await resolver.resolve4('moving.example')).toEqual(['10.0.0.2']);
    const kumo = await lookups(resolver);
    await expect(kumo.mx('moving.example')).rejects.toThrow(/kumo\.dns\.lookup_mx moving\.example/);
    expect((await kumo.mx('example.com')).hosts).toEqual(['mx.example.com']);
  });

  it("use_hosts_file = 'Never' turns it off; a missing file is an empty one", async () => {
    writeFileSync(path, '10.0.0.1 example.com\n');
    const resolver = new SwitchableResolver(new HostsFile(path));
    resolver.configure({
      name_servers: [dns.servers[0]!],
      search: [],
      options: { use_hosts_file: 'Never' },
    });
    expect(await resolver.resolve4('example.com')).toEqual(['127.0.0.2']);
    const missing = pointed(new HostsFile(join(dir, 'no-such-file')));
    expect(await missing.resolve4('example.com')).toEqual(['127.0.0.2']);
  });

  it('is /etc/hosts unless STERNA_HOSTS_FILE names another', () => {
    expect(hostsFilePath({})).toBe('/etc/hosts');
    expect(hostsFilePath({ STERNA_HOSTS_FILE: path })).toBe(path);
  });
});
