// What the browser tests share: Debian's headless Chromium with no outside
// connections, a JSON-lines step report, and waiting for a condition.

import { chromium } from 'playwright-core';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One JSON line per step, for the Rust side to read. */
export const report = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

/** Waits until `check` returns something truthy; returns [value, milliseconds]. */
export async function until(what, check, timeoutMs = 15000) {
  const started = Date.now();
  let last;
  while (Date.now() - started < timeoutMs) {
    try {
      last = await check();
      if (last) return [last, Date.now() - started];
    } catch (e) {
      last = e.message;
    }
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last).slice(0, 300)})`);
}

/** Headless Chromium; as root on a machine with no outside network: no
 * sandbox, and none of Chromium's background connections. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
