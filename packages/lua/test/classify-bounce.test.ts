import { describe, expect, it } from 'vitest';
import { inlinePolicy } from './inline-policy.js';

// kumo.classify_bounce is answered by the daemon (apps/mta test/bounce); here, what the Lua
// side refuses before asking.
describe('kumo.classify_bounce', () => {
  it('refuses what is neither a reply text nor a response table, saying what it got', async () => {
    const policy = await inlinePolicy(`
local kumo = require 'kumo'
kumo.on('ask', function(value) return kumo.classify_bounce(value) end)
`);
    expect(await policy.fail('ask', 42)).toContain(
      'kumo.classify_bounce: expected a response text or a {code, enhanced_code, content} table, got number',
    );
    expect(await policy.fail('ask')).toContain('got nil');
  });
});
