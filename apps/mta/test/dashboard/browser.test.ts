import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

const appDir = fileURLToPath(new URL('../..', import.meta.url));

// Every domain goes to one sink, whose scripted replies hold `tempfail…` recipients with a 450.
// A second HTTP listener trusts nobody here and has no Basic auth handler: it must answer 403.
const POLICY = (port: number) => `
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = '1h',
    protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } },
  }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
`;
const UNTRUSTED_LISTENER = `kumo.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.0.2.1' } }`;

// Screenshots go where STERNA_SCREENSHOTS says (the docs take theirs from a run with
// STERNA_SCREENSHOTS=../../docs/dashboard), else into a temporary folder: taken on every run.
const shots = process.env.STERNA_SCREENSHOTS
  ? resolve(appDir, process.env.STERNA_SCREENSHOTS)
  : await mkdtemp(join(tmpdir(), 'sterna-dashboard-shots-'));

const counter = async (page: Page, id: string): Promise<number> =>
  Number((await page.getByTestId(id).textContent())?.trim());

describe('the dashboard in a real browser', { timeout: 300_000 }, () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess;
  let sink: SmtpSink;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let untrusted: string;

  beforeAll(async () => {
    // The daemon serves the bundle `pnpm build` makes; the test makes it the same way.
    await promisify(execFile)(process.execPath, ['scripts/build-ui.mjs'], { cwd: appDir });
    await mkdir(shots, { recursive: true });
    sink = await startSmtpSink({ tls: false });
    dir = await writePolicy(POLICY(sink.port), UNTRUSTED_LISTENER);
    daemon = await startDaemon(dir.policy);
    const listeners = [...daemon.output().matchAll(/http listener on (\S+)/g)].map((m) => m[1]);
    expect(listeners).toHaveLength(2);
    untrusted = `http://${listeners[1]}`;
    browser = await launchBrowser();
    context = await browser.context();
    page = await context.newPage();
  }, 240_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  const send = (to: string, subject: string) =>
    sendMail(daemon.smtp, { from: 'tests@example.org', to: [to] }, testMessage(subject));

  it("the overview's counters move while test traffic flows", async () => {
    await page.goto(`${daemon.http}/ui/`);
    await expect
      .poll(() => page.getByRole('status').first().textContent(), { timeout: 30_000 })
      .toBe('Live');
    const received = await counter(page, 'total-received');
    const delivered = await counter(page, 'total-delivered');

    for (let i = 0; i < 5; i++) await send(`user${i}@flow.example`, `flow ${i}`);
    await sink.waitForMessages(5, 60_000);
    // The page is not reloaded: the numbers arrive over the event stream.
    await expect
      .poll(() => counter(page, 'total-delivered'), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(delivered + 5);
    expect(await counter(page, 'total-received')).toBeGreaterThanOrEqual(received + 5);
    await page
      .getByLabel('Messages per second, last 15 minutes')
      .locator('canvas')
      .first()
      .waitFor({ state: 'visible' });
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
  });

  it('a held message is found by recipient and shows its attempts', async () => {
    const recipient = 'tempfail-journey@held.example';
    await send(recipient, 'held by a 450');
    await page.goto(`${daemon.http}/ui/#/messages`);
    const search = page.getByLabel('Spool id, recipient or sender');
    const article = page.locator('article[aria-label^="Message "]').first();
    // The attempt's record is written once the sink answered: search again until it shows.
    await expect
      .poll(
        async () => {
          await search.fill(recipient);
          await page.getByRole('button', { name: 'Search' }).click();
          await article.waitFor({ timeout: 5_000 }).catch(() => undefined);
          return (await article.count()) > 0 ? await article.textContent() : '';
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toContain('TransientFailure');
    const text = (await article.textContent()) ?? '';
    expect(text).toContain('Reception');
    expect(text).toContain('mailbox temporarily unavailable');
    await article.getByRole('heading', { name: 'Where it is now' }).waitFor({ state: 'visible' });
    expect(text).toContain('held.example');
    await page.screenshot({ path: join(shots, 'messages.png'), fullPage: true });
  });

  it('suspending from the UI holds the next message; cancelling releases it', async () => {
    await page.goto(`${daemon.http}/ui/#/actions`);
    const suspend = page.locator('form', {
      has: page.getByRole('button', { name: 'Suspend', exact: true }),
    });
    await suspend.getByLabel('Domain').fill('pause.example');
    await suspend.getByLabel('Reason').fill('held from the dashboard');
    await suspend.getByLabel('Duration (seconds)').fill('600');
    await suspend.getByRole('button', { name: 'Suspend', exact: true }).click();
    const table = page.getByRole('table', { name: 'Active suspensions' });
    await table.getByText('held from the dashboard').waitFor({ state: 'visible' });

    const before = sink.messages.length;
    await send('user@pause.example', 'held by the dashboard');
    // The queues page shows it waiting in the suspended queue, and the sink never got it.
    await page.getByRole('link', { name: 'Queues' }).click();
    const scheduled = page.getByRole('table', { name: 'Scheduled queues' });
    const row = scheduled.getByRole('row').filter({ hasText: 'pause.example' });
    await expect
      .poll(async () => ((await row.count()) > 0 ? await row.first().textContent() : ''), {
        timeout: 30_000,
      })
      .toMatch(/suspended/i);
    // Its count cell says 1: the message waits in the suspended queue.
    await expect
      .poll(() => row.first().getByRole('cell').allTextContents(), { timeout: 30_000 })
      .toContain('1');
    await page.screenshot({ path: join(shots, 'queues.png'), fullPage: true });
    expect(sink.messages.slice(before).flatMap((m) => m.recipients)).not.toContain(
      'user@pause.example',
    );

    await page.getByRole('link', { name: 'Actions' }).click();
    await page.screenshot({ path: join(shots, 'actions.png'), fullPage: true });
    await page.getByRole('button', { name: /^Cancel suspension / }).click();
    await table.getByText('held from the dashboard').waitFor({ state: 'detached' });
    const delivered = await sink.waitForMessages(before + 1, 60_000);
    expect(delivered.flatMap((m) => m.recipients)).toContain('user@pause.example');
  });

  it('reads on a phone-sized screen', async () => {
    const phone = await browser.context({ width: 390, height: 844 });
    try {
      const small = await phone.newPage();
      await small.goto(`${daemon.http}/ui/`);
      await expect
        .poll(() => small.getByRole('status').first().textContent(), { timeout: 30_000 })
        .toBe('Live');
      // Nothing wider than the screen but the tables' own scrolling containers.
      const width = await small.evaluate('document.documentElement.scrollWidth');
      expect(width).toBeLessThanOrEqual(390);
      await small.screenshot({ path: join(shots, 'overview-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('an untrusted peer gets 403', async () => {
    const answer = await page.goto(`${untrusted}/ui/`);
    expect(answer?.status()).toBe(403);
    expect(await page.textContent('body')).toContain(
      'forbidden: the dashboard is for trusted_hosts',
    );
    const api = await fetch(`${untrusted}/ui/api/overview`);
    expect(api.status).toBe(403);
  });
});
