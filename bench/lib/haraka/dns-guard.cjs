// Preloaded into Haraka for the bench (NODE_OPTIONS="--require …/dns-guard.cjs") so that no DNS
// query leaves the machine (the system resolver here is off-box):
//  - the c-ares resolvers (dns.resolve*, dns.reverse, every new dns.Resolver, and the promises
//    API) only ever use servers on 127.0.0.0/8 or ::1; any other server list becomes 127.0.0.1,
//    where nothing answers, so such queries fail at once;
//  - dns.lookup (getaddrinfo) answers IP literals, localhost and /etc/hosts names itself and
//    fails every other name with ENOTFOUND.
// Each refused name or server list is reported once on stderr as "[bench dns-guard] …".
'use strict';
const dns = require('node:dns');
const { readFileSync } = require('node:fs');
const { isIP } = require('node:net');

const LOOPBACK = ['127.0.0.1'];
const reported = new Set();
const report = (what) => {
  if (reported.has(what)) return;
  reported.add(what);
  process.stderr.write(`[bench dns-guard] refused ${what}\n`);
};

// /etc/hosts: name → first address listed for it.
const hostsFile = new Map([['localhost', '127.0.0.1']]);
try {
  for (const raw of readFileSync('/etc/hosts', 'utf8').split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || !isIP(address)) continue;
    for (const name of names)
      if (!hostsFile.has(name.toLowerCase())) hostsFile.set(name.toLowerCase(), address);
  }
} catch {
  // no /etc/hosts: IP literals and localhost only
}

const hostOf = (server) => {
  const s = String(server);
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(s);
  return v4 ? v4[1] : s;
};
const isLoopback = (host) => host.startsWith('127.') || host === '::1';

function loopbackServers(list) {
  const given = Array.isArray(list) ? list : [];
  const kept = given.filter((s) => isLoopback(hostOf(s)));
  if (kept.length < given.length) report(`resolver servers ${JSON.stringify(given)}`);
  return kept.length > 0 ? kept : LOOPBACK;
}

for (const api of [dns, dns.promises]) {
  const setServers = api.setServers.bind(api);
  try {
    setServers(LOOPBACK);
  } catch {}
  api.setServers = (list) => setServers(loopbackServers(list));
  const Base = api.Resolver;
  api.Resolver = class LoopbackResolver extends Base {
    constructor(...args) {
      super(...args);
      super.setServers(LOOPBACK);
    }
    setServers(list) {
      super.setServers(loopbackServers(list));
    }
  };
}

function lookup(hostname, options, callback) {
  let opts = options;
  let cb = callback;
  if (typeof opts === 'function') {
    cb = opts;
    opts = {};
  } else if (typeof opts === 'number') opts = { family: opts };
  opts = opts ?? {};
  const name = String(hostname ?? '').toLowerCase();
  const address = name === '' ? '127.0.0.1' : isIP(name) ? name : hostsFile.get(name);
  if (address === undefined) {
    report(`lookup ${name}`);
    const err = new Error(`getaddrinfo ENOTFOUND ${hostname} (bench dns-guard)`);
    err.code = 'ENOTFOUND';
    err.hostname = hostname;
    return process.nextTick(cb, err);
  }
  const family = isIP(address);
  if (opts.all) return process.nextTick(cb, null, [{ address, family }]);
  process.nextTick(cb, null, address, family);
}

dns.lookup = lookup;
dns.promises.lookup = (hostname, options) =>
  new Promise((resolve, reject) =>
    lookup(hostname, options ?? {}, (err, address, family) => {
      if (err) reject(err);
      else resolve(Array.isArray(address) ? address : { address, family });
    }),
  );
