import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// The seed's custom_lua policy, verbatim, as the repository's webhook example ships it.
const SEED = readFileSync(
  fileURLToPath(new URL('../../../../examples/webhook/seed.lua', import.meta.url)),
  'utf8',
);

// A connection whose behaviour each recipient's local part picks, counting calls in files
// (Lua globals are per context, and the daemon runs a pool of them). The idle timeout is longer
// than any pause between two messages a test sends one after the other, however busy the machine,
// so a connection closes only once the test has stopped sending.
const SCRIPTED = `
local function bump(name)
  local path = DIR .. '/' .. name
  local f = io.open(path, 'r')
  local n = f and tonumber(f:read('a')) or 0
  if f then f:close() end
  f = io.open(path, 'w')
  f:write(tostring(n + 1))
  f:close()
  return n + 1
end
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 1, idle_timeout = '5s' }
end)
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { retry_interval = '1s', protocol = { custom_lua = { constructor = 'make.scripted' } } }
end)
kumo.on('make.scripted', function(domain, tenant, campaign)
  bump('constructed')
  local connection = {}
  function connection:send(message)
    local user = message:recipient().user
    local n = bump('send-' .. user)
    if user == 'flaky' and n <= 2 then kumo.reject(400, 'not yet ' .. n) end
    if user == 'refused' then kumo.reject(500, 'never') end
    if user == 'boom' and n == 1 then error('boom') end
    return 'OK ' .. user .. ' ' .. n
  end
  function connection:close()
    bump('closed')
  end
  return connection
end)
`;

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let receiver: HttpReceiver | undefined;
afterEach(async () => {
  await daemon?.kill();
  await receiver?.close();
  await dir?.cleanup();
  daemon = undefined;
  receiver = undefined;
  dir = undefined;
});

const count = async (name: string) =>
  Number(await readFile(`${dir!.dir}/${name}`, 'utf8').catch(() => '0'));
const records = () => readLogRecords(dir!.logs);

describe('custom_lua through the daemon', { timeout: 90_000 }, () => {
  it("runs the seed's policy verbatim: a Delivery with content OK, the data printed", async () => {
    dir = await writePolicy(SEED);
    daemon = await startDaemon(dir.policy);
    await sendMail(
      daemon.smtp,
      { from: 'sender@example.org', to: ['user@webhook'] },
      testMessage('seed-webhook'),
    );
    const delivery = await eventually(async () =>
      (await records()).find((r) => r.type === 'Delivery'),
    );
    expect(delivery).toMatchObject({
      recipient: 'user@webhook',
      queue: 'webhook',
      site: 'unspecified->webhook@lua:make.webhook',
      delivery_protocol: 'Lua',
      peer_address: { name: 'Lua via make.webhook', addr: '0.0.0.0' },
      response: { code: 200, enhanced_code: null, content: 'OK', command: null },
    });
    expect(daemon.output()).toContain('Subject: seed-webhook');
  });

  it('retries kumo.reject(400), bounces kumo.reject(500) once, retries a Lua error', async () => {
    dir = await writePolicy(SCRIPTED);
    daemon = await startDaemon(dir.policy);
    for (const user of ['flaky', 'refused', 'boom']) {
      await sendMail(
        daemon.smtp,
        { from: 's@example.org', to: [`${user}@lua.example`] },
        testMessage(user),
      );
    }
    await eventually(async () => {
      const all = await records();
      return all.filter((r) => r.type === 'Delivery').length === 2 &&
        all.some((r) => r.type === 'Bounce')
        ? true
        : undefined;
    }, 40_000);
    const all = await records();
    const of = (user: string) =>
      all
        .filter((r) => r.recipient === `${user}@lua.example` && r.type !== 'Reception')
        .map((r) => [r.type, r.num_attempts, r.response.content]);
    expect(of('flaky')).toEqual([
      ['TransientFailure', 0, 'not yet 1'],
      ['TransientFailure', 1, 'not yet 2'],
      ['Delivery', 2, 'OK flaky 3'],
    ]);
    expect(of('refused')).toEqual([['Bounce', 0, 'never']]);
    expect(await count('send-refused')).toBe(1);
    const boom = of('boom');
    expect(boom[0]![0]).toBe('TransientFailure');
    expect(String(boom[0]![2])).toMatch(
      /^KumoMTA internal: error in deliver_message: sender:send method failed: .*boom/,
    );
    expect(boom[1]).toEqual(['Delivery', 1, 'OK boom 2']);
  });

  it('reuses one connection for many messages and closes it when idle', async () => {
    dir = await writePolicy(SCRIPTED);
    daemon = await startDaemon(dir.policy);
    for (let i = 0; i < 6; i++) {
      await sendMail(
        daemon.smtp,
        { from: 's@example.org', to: [`user${i}@lua.example`] },
        testMessage(`reuse-${i}`),
      );
    }
    await eventually(async () =>
      (await records()).filter((r) => r.type === 'Delivery').length === 6 ? true : undefined,
    );
    // Every connection made is closed once idle (waited for, not sampled: one could still be
    // inside its idle timeout when another has closed).
    await eventually(async () => {
      const closed = await count('closed');
      return closed >= 1 && closed === (await count('constructed')) ? true : undefined;
    }, 30_000);
    // connection_limit = 1: every message went over the same constructed object.
    expect(await count('constructed')).toBe(await count('closed'));
    const sessions = new Set(
      (await records()).filter((r) => r.type === 'Delivery').map((r) => r.session_id),
    );
    expect(sessions.size).toBe(await count('constructed'));
    expect(sessions.size).toBeLessThan(6);
  });
});

// Webhooks as KumoMTA users build them: log hooks feed a custom_lua queue that POSTs records.
function webhookPolicy(url: string, batch: boolean): string {
  return `
kumo.on('should_enqueue_log_record', function(msg, hook_name)
  msg:set_meta('queue', 'webhook')
  return true
end)
kumo.on('get_queue_config', function(domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      retry_interval = '1s', max_retry_interval = '2s',
      protocol = { custom_lua = { constructor = 'make.webhook', ${batch ? "batch_size = 10, min_batch_size = 4, max_batch_latency = '2s'" : ''} } },
    }
  end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client {}
  local connection = {}
  local function post(body)
    local response = client:post(${JSON.stringify(`${url}/log`)})
      :header('Content-Type', 'application/json')
      :body(body)
      :send()
    local disposition = string.format('%d %s: %s', response:status_code(), response:status_reason(), response:text())
    if response:status_is_success() then
      return disposition
    end
    kumo.reject(400, disposition)
  end
  function connection:send(message)
    return post(message:get_data())
  end
  function connection:send_batch(messages)
    local records = {}
    for _, message in ipairs(messages) do
      table.insert(records, message:get_meta('log_record'))
    end
    return post(kumo.serde.json_encode(records))
  end
  return connection
end)
`;
}

describe('webhooks', { timeout: 90_000 }, () => {
  it('posts Reception and Delivery records, retrying while the receiver fails', async () => {
    receiver = await startHttpReceiver((i) => (i < 2 ? 500 : 200));
    dir = await writePolicy(
      webhookPolicy(receiver.url, false),
      "kumo.configure_log_hook { name = 'webhook' }",
    );
    daemon = await startDaemon(dir.policy);
    const reply = await sendMail(
      daemon.smtp,
      { from: 's@example.org', to: ['user@example.com'] },
      testMessage('hooked'),
    );
    const id = /ids=([0-9a-f]{32})/.exec(reply.response)![1];
    const accepted = await eventually(() => {
      const ok = receiver!.requests
        .slice(2)
        .map((r) => JSON.parse(r.body) as { type: string; id: string });
      return ok.filter((r) => r.id === id).length >= 2 ? ok : undefined;
    }, 40_000);
    expect(
      accepted
        .filter((r) => r.id === id)
        .map((r) => r.type)
        .sort(),
    ).toEqual(['Delivery', 'Reception']);
    expect(receiver.requests[0]!.contentType).toBe('application/json');
    const failures = (await records()).filter(
      (r) => r.type === 'TransientFailure' && r.queue === 'webhook',
    );
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]!.response).toMatchObject({
      code: 400,
      content: expect.stringMatching(/^500 Internal Server Error: try later/),
    });
    // As in KumoMTA, a record's own message is queued without a Reception record of its own;
    // its attempts are logged (marked reception_protocol LogRecord) and not hooked again.
    const own = await eventually(async () => {
      const all = (await records()).filter((r) => r.queue === 'webhook');
      return all.filter((r) => r.type === 'Delivery').length >= 2 ? all : undefined;
    }, 20_000);
    expect(own.some((r) => r.type === 'Reception')).toBe(false);
    expect(own.every((r) => r.reception_protocol === 'LogRecord')).toBe(true);
  });

  it('with deferred_spool, spools a record once it has failed, and it survives a kill -9', async () => {
    let failing = true;
    receiver = await startHttpReceiver(() => (failing ? 500 : 200));
    dir = await writePolicy(
      webhookPolicy(receiver.url, false),
      "kumo.configure_log_hook { name = 'webhook', deferred_spool = true }",
    );
    daemon = await startDaemon(dir.policy);
    const reply = await sendMail(
      daemon.smtp,
      { from: 's@example.org', to: ['user@example.com'] },
      testMessage('deferred'),
    );
    const id = /ids=([0-9a-f]{32})/.exec(reply.response)![1];
    const posts = (type: string) =>
      receiver!.requests.filter((r) => {
        const record = JSON.parse(r.body) as { type: string; id: string };
        return record.id === id && record.type === type;
      }).length;
    // A record's second attempt is made only after its first failure was written to the spool.
    await eventually(() => (posts('Reception') >= 2 && posts('Delivery') >= 2 ? true : undefined));
    await daemon.kill();
    failing = false;
    const before = receiver.requests.length;
    daemon = await startDaemon(dir.policy);
    const delivered = await eventually(() => {
      const after = receiver!.requests
        .slice(before)
        .map((r) => JSON.parse(r.body) as { type: string; id: string })
        .filter((r) => r.id === id);
      const types = new Set(after.map((r) => r.type));
      return types.has('Reception') && types.has('Delivery') ? after : undefined;
    }, 40_000);
    expect(delivered.map((r) => r.type)).toEqual(expect.arrayContaining(['Reception', 'Delivery']));
  });

  it('posts records in batches as JSON arrays through send_batch', async () => {
    receiver = await startHttpReceiver();
    dir = await writePolicy(
      webhookPolicy(receiver.url, true),
      "kumo.configure_log_hook { name = 'webhook' }",
    );
    daemon = await startDaemon(dir.policy);
    for (let i = 0; i < 3; i++)
      await sendMail(
        daemon.smtp,
        { from: 's@example.org', to: [`user${i}@example.com`] },
        testMessage(`batch-${i}`),
      );
    const posted = await eventually(() => {
      const all = receiver!.requests.flatMap((r) => JSON.parse(r.body) as { type: string }[]);
      return all.filter((r) => r.type === 'Delivery').length >= 3 ? all : undefined;
    }, 40_000);
    expect(receiver.requests.every((r) => r.body.startsWith('['))).toBe(true);
    expect(receiver.requests.length).toBeLessThan(posted.length);
  });
});
