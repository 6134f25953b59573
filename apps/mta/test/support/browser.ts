import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's Chromium, which the test command installs when it is missing
 * (tools/services/ensure-services.mjs). No browser is ever downloaded.
 */
export const CHROMIUM = process.env.STERNA_CHROMIUM ?? '/usr/bin/chromium';

// The machine has no way out: Chromium's own background traffic (updates, sync, lookups of
// Google's hosts) is switched off rather than left to fail at every start.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** A headless Chromium (playwright gives each launch a fresh profile of its own). */
export interface TestBrowser {
  readonly browser: Browser;
  /** A new context (cookies, storage) at the given viewport. */
  context(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Starts Debian's Chromium headless through playwright-core. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium), or set STERNA_CHROMIUM`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  return {
    browser,
    context: (viewport = { width: 1280, height: 800 }) =>
      browser.newContext({ viewport, colorScheme: 'light', locale: 'en-GB', timezoneId: 'UTC' }),
    close: () => browser.close().catch(() => undefined),
  };
}
