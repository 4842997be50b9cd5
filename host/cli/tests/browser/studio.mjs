// The content studio in real headless Chromium (Debian's), driven by
// playwright-core: an author signs in, starts a change, opens the footer in
// the code editor (CodeMirror), types a broken Tera tag and sees the error
// at file:line:col as she types, fixes it, saves, sees the "after" preview
// change while "before" stays, and submits. She cannot approve. An approver
// signs in, reviews the diff and the previews, and approves; the test then
// times how long until the running server renders the change (the render
// API), and measures the editor page's weight. Screenshots go to SHOTS.
//
// node studio.mjs BASE_URL SHOTS_DIR
// Prints one JSON line per step and exits non-zero on the first failure.

import { launch, report, until } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node studio.mjs BASE_URL SHOTS_DIR');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });
const MARKER = 'Winter opening hours: 9 to 17';
const FOOTER = 'fragments/footer.html.tera';



const browser = await launch();

async function signIn(user) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => report('page-error', { user, message: e.message }));
  await page.goto(`${base}/studio`);
  await page.selectOption('select[name=tenant]', 'acme-energy');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', `${user}-pw`);
  await Promise.all([page.waitForURL(`${base}/studio/acme-energy`), page.click('form button')]);
  return page;
}

const frameText = async (page, id) => {
  const frame = page.frame({ url: new RegExp(`side=${id === 'before' ? 'published' : 'draft'}`) });
  return frame ? (await frame.content()) : '';
};

let failed = false;
try {
  // ---- the author
  const alice = await signIn('alice');
  report('signed-in', { user: 'alice' });
  await Promise.all([alice.waitForURL(/\/drafts\/d/), alice.click('#new-draft')]);
  const draftUrl = alice.url();
  await until('the editor bundle', () => alice.evaluate(() => !!window.TesseraEditor));
  const weight = await alice.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const own = performance.getEntriesByType('resource').filter((r) => r.name.includes('/studio/assets/'));
    return { page: nav.transferSize, assets: own.reduce((s, r) => s + r.transferSize, 0),
      decoded: nav.decodedBodySize + own.reduce((s, r) => s + r.decodedBodySize, 0) };
  });
  report('page-weight', { transferred_bytes: weight.page + weight.assets, decoded_bytes: weight.decoded });

  await alice.click(`#tree a[data-path="${FOOTER}"]`);
  await until('CodeMirror open on the footer', () => alice.locator('#editor .cm-content').count());
  await until('the before and after previews', async () =>
    (await frameText(alice, 'before')).includes('ACME') && (await frameText(alice, 'after')).includes('ACME'));

  // A broken Tera tag: reported as you type, at file:line:col, in the editor.
  await alice.click('#editor .cm-content');
  await alice.keyboard.press('Control+End');
  const [, checkMs] = await (async () => {
    await alice.keyboard.type('\n{{ customer.name | nosuchfilter }}');
    return until('the error as you type', async () => {
      const text = await alice.locator('#errors').innerText();
      return text.includes(`${FOOTER}:`) && text.includes('nosuchfilter') && text;
    });
  })();
  await until('the error marked in the editor', () => alice.locator('.cm-lintRange-error, .cm-lint-marker-error').count());
  report('error-as-you-type', { ms: checkMs, errors: await alice.locator('#errors').innerText() });
  await alice.screenshot({ path: path.join(shots, 'studio-error.png') });

  // Fix it: replace the broken line with the new text.
  await alice.keyboard.press('Shift+Home');
  await alice.keyboard.type(`<p class="winter">${MARKER}</p>`);
  await until('the error gone', async () => (await alice.locator('#errors li').count()) === 0);
  await alice.click('#save');
  await until('the file marked as changed', async () => (await alice.locator('#changed').innerText()).includes(FOOTER));
  await until('saved', () => alice.evaluate(() => window.tesseraStudio.saves === 1));
  const [, previewMs] = await until('the after preview shows the change', async () =>
    (await frameText(alice, 'after')).includes(MARKER));
  if ((await frameText(alice, 'before')).includes(MARKER)) throw new Error('the published preview shows the draft');
  report('saved-and-previewed', { ms: previewMs });
  await alice.screenshot({ path: path.join(shots, 'studio.png') });

  await alice.fill('#message', 'Winter opening hours in the footer');
  await Promise.all([alice.waitForURL(draftUrl), alice.click('#submit')]);
  await until('submitted', async () => (await alice.locator('#draft-state').innerText()) === 'submitted');
  report('submitted');

  // The author cannot approve: no button, and a forged post is refused.
  await alice.goto(`${draftUrl}/review`);
  if (await alice.locator('#approve').count()) throw new Error('an author sees the approve button');
  const forged = await alice.evaluate(async (url) => {
    const csrf = document.querySelector('input[name=csrf]').value;
    const r = await fetch(`${url}/approve`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `csrf=${csrf}` });
    return r.status;
  }, draftUrl);
  if (forged !== 403) throw new Error(`the author's approval answered ${forged}, not 403`);
  report('author-cannot-approve', { status: forged });

  // ---- the approver
  const bob = await signIn('bob');
  await bob.goto(`${draftUrl}/review`);
  const diff = await bob.locator('.diff .ins').allInnerTexts();
  if (!diff.some((l) => l.includes(MARKER))) throw new Error(`the diff lacks the change: ${diff.join('\n')}`);
  await until('the review previews', async () =>
    (await frameText(bob, 'after')).includes(MARKER) && (await frameText(bob, 'before')).includes('ACME'));
  await bob.screenshot({ path: path.join(shots, 'studio-review.png') });
  const approvedAt = Date.now();
  await Promise.all([bob.waitForURL(/published=/), bob.click('#approve')]);
  const commit = new URL(bob.url()).searchParams.get('published');
  const approveMs = Date.now() - approvedAt;
  // Live: the running server's render API (not the studio) shows the change.
  const record = JSON.parse(fs.readFileSync(process.env.RENDER_REQUEST, 'utf8'));
  record.channels = ['html'];
  const [, liveMs] = await until('the change live in serve', async () => {
    const r = await fetch(`${base}/v1/tenants/acme-energy/render`, { method: 'POST',
      headers: { Authorization: 'Bearer acme-demo-token', 'Content-Type': 'application/json' }, body: JSON.stringify(record) });
    return r.ok && (await r.text()).includes(MARKER);
  }, 10000);
  report('approved-and-live', { commit, approve_request_ms: approveMs, live_after_approval_ms: approveMs + liveMs });

  await bob.goto(`${base}/studio/acme-energy/history`);
  const history = await bob.locator('#log').innerText();
  if (!(history.includes('alice') && history.includes('bob') && history.includes('Winter opening hours'))) {
    throw new Error(`the history lacks the change: ${history}`);
  }
  report('history');
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
