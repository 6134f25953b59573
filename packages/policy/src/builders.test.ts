import { describe, expect, it } from 'vitest';
import {
  makeEgressPath,
  makeEgressPool,
  makeEgressSource,
  makeListenerDomain,
  makeQueueConfig,
} from './builders.js';

describe('builders', () => {
  it('accept KumoMTA tables and return them as given (the daemon parses the returned table)', () => {
    const queue = { retry_interval: '10m', egress_pool: 'pool', protocol: { smtp: {} } };
    expect(makeQueueConfig(queue)).toBe(queue);
    const path = {
      connection_limit: 'local:10',
      max_message_rate: '100/h',
      enable_tls: 'Required',
      prohibited_hosts: ['127.0.0.0/8'],
      additional_message_rate_throttles: { global: '1,000/h' },
    } as const;
    expect(makeEgressPath(path)).toBe(path);
    const pool = { name: 'pool', entries: [{ name: 'ip-1', weight: 2 }, { name: 'ip-2' }] };
    expect(makeEgressPool(pool)).toBe(pool);
    const source = { name: 'ip-1', source_address: '10.0.0.1', ttl: '5 minutes' };
    expect(makeEgressSource(source)).toBe(source);
    const domain = { relay_to: true, relay_from: ['10.0.0.0/8'], log_oob: 'LogThenDrop' } as const;
    expect(makeListenerDomain(domain)).toBe(domain);
    // An empty table is KumoMTA's defaults.
    expect(makeQueueConfig({})).toEqual({});
  });

  it('name the function and the misspelled key', () => {
    // @ts-expect-error a misspelled key is a compile error too
    expect(() => makeQueueConfig({ retry_intervl: '10m' })).toThrow(
      "makeQueueConfig: unknown field 'retry_intervl'",
    );
    // @ts-expect-error
    expect(() => makeEgressPath({ max_mesage_rate: '1/s' })).toThrow(
      "makeEgressPath: unknown field 'max_mesage_rate'",
    );
    // @ts-expect-error
    expect(() => makeEgressPool({ name: 'p', entries: [{ name: 's', wieght: 1 }] })).toThrow(
      "makeEgressPool: unknown field 'entries[1].wieght'", // Lua's 1-based index
    );
    // @ts-expect-error
    expect(() => makeEgressSource({ name: 's', source_adress: '10.0.0.1' })).toThrow(
      "makeEgressSource: unknown field 'source_adress'",
    );
    // @ts-expect-error
    expect(() => makeListenerDomain({ relay_too: true })).toThrow(
      "makeListenerDomain: unknown field 'relay_too'",
    );
  });

  it('name the key whose value is wrong', () => {
    expect(() => makeQueueConfig({ max_message_rate: 'lots' })).toThrow(
      /makeQueueConfig: max_message_rate: invalid throttle 'lots'/,
    );
    expect(() => makeQueueConfig({ retry_interval: 'soon' })).toThrow(
      /makeQueueConfig: retry_interval: /,
    );
    // @ts-expect-error a list of strings, not a number
    expect(() => makeListenerDomain({ relay_from: 5 })).toThrow(/makeListenerDomain: relay_from: /);
    // @ts-expect-error required
    expect(() => makeEgressSource({})).toThrow(/makeEgressSource: name: /);
  });
});
