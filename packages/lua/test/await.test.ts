import { describe, expect, it } from 'vitest';
import { inlinePolicy } from './inline-policy.js';

// `promise:await()` as every kumo.* call that waits on the host uses it (Sterna's own, in
// place of wasmoon's: context/lua-context.ts): values come back, failures raise where the
// policy can catch them, and a call can wait any number of times.
describe('awaiting the host from Lua', () => {
  const source = `
    kumo.on('many', function(n)
      for i = 1, n do kumo.sleep(0) end
      return n
    end)
    kumo.on('caught', function()
      local ok, err = pcall(kumo.dns.lookup_mx, 'nowhere.example')
      kumo.sleep(0)
      return ok, tostring(err)
    end)
    kumo.on('uncaught', function() return kumo.dns.lookup_mx('nowhere.example') end)
  `;

  it('resumes the call each time, as often as it waits', async () => {
    const policy = await inlinePolicy(source);
    expect(await policy.call('many', 300)).toBe(300);
  });

  it('raises a failed wait in the policy: pcall catches it and the call goes on', async () => {
    const policy = await inlinePolicy(source);
    const outcome = await policy.context.call('caught', [], Date.now() + 5000);
    expect(outcome.status).toBe('ok');
    if (outcome.status !== 'ok') return;
    expect(outcome.values[0]).toBe(false);
    expect(outcome.values[1]).toMatch(/kumo\.dns\.lookup_mx nowhere\.example/);
    expect(await policy.fail('uncaught')).toMatch(/kumo\.dns\.lookup_mx nowhere\.example/);
  });
});
