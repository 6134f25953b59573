import { parseConfigParams } from '@sterna/lua';
import { describe, expect, it } from 'vitest';
import { collector, emptyConfig } from './collected-config.js';
import { notActedOnWarnings } from './not-acted-on.js';

describe('settings accepted and not acted on', () => {
  it('say nothing for a policy that uses only what the daemon does', () => {
    const config = emptyConfig();
    const configure = collector(config, () => true);
    configure('esmtp_listener', parseConfigParams('esmtp_listener', { listen: '127.0.0.1:25' }));
    configure('local_logs', parseConfigParams('local_logs', { log_dir: '/var/log/kumomta' }));
    expect(notActedOnWarnings(config)).toEqual([]);
  });

  it('give one warning per listener, log config and accepted-only call, naming each setting', () => {
    const config = emptyConfig();
    const configure = collector(config, () => true);
    configure(
      'esmtp_listener',
      parseConfigParams('esmtp_listener', {
        listen: '0.0.0.0:25',
        allow_xclient: true,
        batch_handling: 'BatchByDomain',
        via: { '10.0.0.0/8': { banner: 'internal' } },
      }),
    );
    configure(
      'local_logs',
      parseConfigParams('local_logs', { log_dir: '/l', log_dir_timezone: 'UTC' }),
    );
    configure('accounting_db_path', parseConfigParams('accounting_db_path', { path: '/a.db' }));
    configure('accounting_db_path', parseConfigParams('accounting_db_path', { path: '/b.db' }));
    expect(notActedOnWarnings(config)).toEqual([
      "kumo.start_esmtp_listener (0.0.0.0:25): not supported yet, so ignored: batch_handling = 'BatchByDomain', allow_xclient, via",
      'kumo.configure_local_logs: not supported yet, so ignored: log_dir_timezone',
      'kumo.configure_accounting_db_path: accepted, not used yet: no accounting',
    ]);
  });
});
