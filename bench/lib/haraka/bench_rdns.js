// Haraka plugin for the bench (copied into the instance's plugins/ by bench/lib/haraka.ts):
// answers the lookup_rdns hook for loopback clients with "localhost" from here, so no reverse
// DNS query is made for them (Postfix takes 127.0.0.1's name from /etc/hosts the same way).
// Other clients fall through to Haraka's own lookup.
const { ok } = require('haraka-constants');

exports.register = function () {
  this.register_hook('lookup_rdns', 'loopback_rdns');
};

exports.loopback_rdns = (next, connection) => {
  const ip = String(connection.remote.ip ?? '');
  const loopback = ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
  return loopback ? next(ok, 'localhost') : next();
};
