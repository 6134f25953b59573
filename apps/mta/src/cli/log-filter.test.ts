import { describe, expect, it } from 'vitest';
import { levelOfFilter } from './log-filter.js';

describe('levelOfFilter', () => {
  it('reads KumoMTA filters as the most verbose level they name', () => {
    expect(levelOfFilter('kumod=info')).toBe('info');
    expect(levelOfFilter('kumod=info,kumo_lua=debug')).toBe('debug');
    expect(levelOfFilter('warn')).toBe('warn');
    expect(levelOfFilter(' kumod=TRACE ')).toBe('debug');
    expect(levelOfFilter('off')).toBe('silent');
    expect(levelOfFilter('kumod')).toBe('debug'); // a bare module enables everything for it
    expect(levelOfFilter('kumod=error,kumo_server_lifecycle=warn')).toBe('warn');
  });

  it('refuses what it cannot read, naming the directive', () => {
    expect(() => levelOfFilter('')).toThrow('the filter is empty');
    expect(() => levelOfFilter('kumod=loud')).toThrow("'kumod=loud': 'loud' is not a level");
    expect(() => levelOfFilter('kumod=info/smtp')).toThrow('cannot filter by message text');
    expect(() => levelOfFilter('kumod[span]=info')).toThrow('cannot filter by span');
    expect(() => levelOfFilter('a b=info')).toThrow("'a b' is not a module name");
  });
});
