// The author preview in real headless Chromium (Debian's), driven by
// playwright-core: open the preview, change the footer on disk and see the
// document update without a page reload, break the template and see the
// overlay with file:line:col, fix it and see the document again, switch
// the channel to a PDF. Screenshots go to the folder given.
//
// node preview.mjs BASE_URL FOOTER_FILE SCREENSHOT_DIR
// Prints one JSON line per step (with how long the update took) and exits
// non-zero on the first failed expectation.

import { launch, report, sleep, until } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [base, footerFile, shots] = process.argv.slice(2);
if (!base || !footerFile || !shots) {
  console.error('usage: node preview.mjs BASE_URL FOOTER_FILE SCREENSHOT_DIR');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });



const browser = await launch();

let failed = false;
const original = fs.readFileSync(footerFile, 'utf8');
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => report('page-error', { message: e.message }));

  /** The text of the rendered document in the frame. */
  const documentText = async () => {
    const handle = await page.$('#document');
    const frame = handle && (await handle.contentFrame());
    return frame ? await frame.locator('body').innerText({ timeout: 500 }) : '';
  };

  await page.goto(`${base}/preview?tenant=acme-energy&record=0&label=acme&locale=en&channel=html`);
  await until('the event stream to connect', async () => (await page.textContent('#live')) === 'live');
  await until('the first document', async () => (await documentText()).includes('ACME Energy B.V.'));
  const chain = await page.textContent('details[data-logical="fragments/footer.html.tera"] summary');
  if (!chain.includes('printhub/content/fragments/footer.html.tera')) {
    throw new Error(`the footer's resolution should name the provider's footer, got: ${chain}`);
  }
  // A page reload would lose this.
  await page.evaluate(() => { window.notReloaded = 'still here'; });
  await page.screenshot({ path: path.join(shots, '1-document.png'), fullPage: true });
  report('opened', { footer: chain.trim() });

  // 1. An author edits the footer: the open preview updates by itself.
  const edited = original.replace('</footer>', '  <p class="notice">Preview check: first edit</p>\n</footer>');
  fs.writeFileSync(footerFile, edited);
  const [, tookEdit] = await until('the edited footer', async () => (await documentText()).includes('Preview check: first edit'));
  report('edited', { update_ms: tookEdit });

  // 2. A broken template: the overlay names the file, line and column.
  const broken = edited.replace('{{ t.printed_by }}', '{{ t.printed_by ');
  if (broken === edited) throw new Error('the footer no longer has {{ t.printed_by }} to break');
  fs.writeFileSync(footerFile, broken);
  const [where, tookBreak] = await until('the error overlay', async () => {
    const el = await page.$('#overlay .where');
    return el && (await el.textContent());
  });
  if (!/printhub\/content\/fragments\/footer\.html\.tera:\d+:\d+/.test(where)) {
    throw new Error(`the overlay should say file:line:col, said: ${where}`);
  }
  await page.screenshot({ path: path.join(shots, '2-overlay.png'), fullPage: true });
  report('broken', { overlay: where.trim(), update_ms: tookBreak });

  // 3. Fixed: the overlay goes, the document is back with the new text.
  fs.writeFileSync(footerFile, edited.replace('first edit', 'fixed'));
  const [, tookFix] = await until('the fixed document', async () =>
    (await page.$('#overlay')) === null && (await documentText()).includes('Preview check: fixed'));
  await page.screenshot({ path: path.join(shots, '3-fixed.png'), fullPage: true });
  report('fixed', { update_ms: tookFix });

  const kept = await page.evaluate(() => window.notReloaded);
  if (kept !== 'still here') throw new Error('the page was reloaded; it should have updated in place');
  const updates = await page.evaluate(() => window.tesseraPreview.updates);
  report('in-place', { updates });

  // 4. The print channel: the frame shows the PDF inline.
  const pdf = page.waitForResponse((r) => r.url().includes('/preview/output/'));
  await page.selectOption('select[name="channel"]', 'print');
  const answer = await pdf;
  const type = answer.headers()['content-type'];
  const disposition = answer.headers()['content-disposition'] || '';
  if (!type.startsWith('application/pdf') || !disposition.startsWith('inline')) {
    throw new Error(`the print preview should be an inline PDF, got ${type} / ${disposition}`);
  }
  // The viewer takes the frame's bytes; fetch them again to check them.
  const body = await (await page.request.get(answer.url())).body();
  if (body.subarray(0, 5).toString() !== '%PDF-') throw new Error('the print preview is not a PDF');
  // Give the browser's PDF viewer a moment to paint before the screenshot.
  await sleep(1500);
  await page.screenshot({ path: path.join(shots, '4-print.png'), fullPage: true });
  report('pdf', { bytes: body.length });
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.message}`);
} finally {
  fs.writeFileSync(footerFile, original);
  await browser.close();
}
process.exit(failed ? 1 : 0);
