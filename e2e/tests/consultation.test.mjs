// Journey 5 (consultation): a GP records a consultation with a coded problem, a blood
// pressure and a BMI; an impossible blood pressure is refused next to its field; a
// consultation left half-written comes back as a draft.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, checkA11y, screenshot,
  assertNoHorizontalScroll, findDemoPatient, TABLET, DESKTOP,
} from '../lib/harness.mjs';


let server;
let browser;

before(async () => {
  server = await startServer({ patients: 20 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});


async function openForm(page, record) {
  await page.goto(`${server.baseUrl}${record}/consultations/new`);
  await page.locator('#consultation-form').waitFor();
}

test('a GP records a consultation and sees it in the journal', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await openForm(page, record);
  await checkA11y(page, 'the new consultation form');

  await page.getByLabel('or a new problem').first().fill('high blood');
  const option = page.locator('.picker-list [role=option]').first();
  await option.waitFor();
  await option.click();
  assert.notEqual(await page.locator('#t0_new_code').inputValue(), '');
  await page.getByLabel('New problem is').first().selectOption('major');
  await page.locator('#t0_e0_text').fill('Headaches for two weeks; home readings high');
  await page.getByLabel('Systolic').fill('150');
  await page.getByLabel('Diastolic').fill('95');
  await page.locator('#obs_weight').fill('80');
  await page.locator('#obs_height').fill('180');
  assert.equal((await page.locator('#bmi').innerText()).trim(), '24.7');

  await page.getByRole('button', { name: 'Add an entry' }).first().click();
  await page.locator('#t0_e1_heading').selectOption('plan');
  await page.locator('#t0_e1_text').fill('Recheck in two weeks');
  await screenshot(page, 'consultation-filled');

  await Promise.all([page.waitForURL((u) => u.pathname === record), page.locator('#t0_e1_text').press('Control+Enter')]);
  const main = await page.locator('main').innerText();
  assert.match(main, /Headaches for two weeks/);
  assert.match(main, /Recheck in two weeks/);
  await screenshot(page, 'consultation-in-journal');
  await page.context().close();
});

test('an impossible blood pressure is shown next to the field', async () => {
  const page = await newPage(browser, TABLET);
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await openForm(page, record);
  await assertNoHorizontalScroll(page, 'the consultation form at 768px');
  await page.locator('#t0_title').fill('Blood pressure check');
  await page.getByLabel('Systolic').fill('300');
  await page.getByLabel('Diastolic').fill('20');
  await page.getByRole('button', { name: 'Save consultation' }).click();
  await page.locator('.error-summary').waitFor();
  assert.match(await page.locator('#obs_bp_systolic-error').innerText(),
    /300 mmHg is not a plausible systolic blood pressure/);
  assert.equal(await page.getByLabel('Systolic').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Systolic').inputValue(), '300');
  await checkA11y(page, 'the consultation form with errors');
  await assertNoHorizontalScroll(page, 'the consultation form with errors at 768px');
  await screenshot(page, 'consultation-bad-bp-tablet');
  await page.context().close();
});

test('a half-written consultation is restored after the page closes', async () => {
  const context = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
  let page = await context.newPage();
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await openForm(page, record);
  await page.locator('#t0_title').fill('Sore knee');
  await page.locator('#t0_e0_text').fill('Twisted it playing football');
  await page.locator('#draft-status', { hasText: 'Draft saved' }).waitFor({ timeout: 10_000 });
  await page.close({ runBeforeUnload: true });

  page = await context.newPage();
  await openForm(page, record);
  assert.match(await page.locator('#draft-restored').innerText(), /Restored your unsaved draft from \d\d:\d\d/);
  assert.equal(await page.locator('#t0_title').inputValue(), 'Sore knee');
  assert.equal(await page.locator('#t0_e0_text').inputValue(), 'Twisted it playing football');
  await checkA11y(page, 'the consultation form with a restored draft');
  await screenshot(page, 'consultation-draft-restored');

  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Discard the draft and start again' }).click()]);
  assert.equal(await page.locator('#draft-restored').count(), 0);
  await context.close();
});

test('a consultation closed before the autosave is kept by the page-close save', async () => {
  const context = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
  let page = await context.newPage();
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await openForm(page, record);
  // Typed and closed at once: only the save on closing can keep it (the autosave waits
  // 2 seconds after the last keystroke).
  await page.locator('#t0_title').fill('Painful wrist');
  await page.locator('#t0_e0_text').fill('Fell on outstretched hand this morning');
  assert.doesNotMatch(await page.locator('#draft-status').innerText(), /Draft saved/);
  await page.close({ runBeforeUnload: true });

  page = await context.newPage();
  await openForm(page, record);
  assert.match(await page.locator('#draft-restored').innerText(), /Restored your unsaved draft/);
  assert.equal(await page.locator('#t0_title').inputValue(), 'Painful wrist');
  assert.equal(await page.locator('#t0_e0_text').inputValue(), 'Fell on outstretched hand this morning');
  await checkA11y(page, 'the consultation form restored after closing the tab');
  await context.close();
});
