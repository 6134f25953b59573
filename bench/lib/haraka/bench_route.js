// Haraka plugin for the bench (copied into the instance's plugins/ by bench/lib/haraka.ts):
// the get_mx hook of Haraka's outbound (disk-queued) delivery answers every domain with one MX,
// the bench's sink, read from config/bench_route.ini (`host=`, `port=`). No DNS is asked.
const { ok } = require('haraka-constants');

exports.register = function () {
  this.route = this.config.get('bench_route.ini').main;
  this.register_hook('get_mx', 'sink_mx');
};

exports.sink_mx = function (next) {
  const { host = '127.0.0.1', port = '25' } = this.route;
  next(ok, { priority: 0, exchange: host, port: Number(port) });
};
