// Journey 4 (the patient record) with alerts and problems: a GP opens a demo patient's
// record and sees the banner (NHS number as 3-3-4), the summary and the journal; filters
// the journal by a problem; adds an alert and sees it in the banner; opens the problem
// list. Checked with axe-core at tablet and desktop widths, with screenshots kept.
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


test('a GP reads the record: banner, summary and journal, filtered by a problem', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await page.goto(`${server.baseUrl}${record}`);

  const banner = page.locator('.patient-banner');
  await banner.waitFor();
  assert.match(await banner.locator('.patient-banner__nhs').innerText(), /^\d{3} \d{3} \d{4}$/);
  assert.match(await banner.innerText(), /Born\s+\d{2}-[A-Z][a-z]{2}-\d{4}/);
  for (const heading of ['Summary', 'Alerts', 'Consultations']) {
    await assert.doesNotReject(page.getByRole('heading', { level: 2, name: heading }).waitFor());
  }
  for (const heading of ['Current medication', 'Latest observations', 'Upcoming appointments']) {
    await assert.doesNotReject(page.getByRole('heading', { level: 3, name: heading }).waitFor());
  }
  await checkA11y(page, 'the record page');
  await screenshot(page, 'record-desktop');

  // The banner stays in view while the journal scrolls.
  await page.locator('#journal').scrollIntoViewIfNeeded();
  assert.ok(await banner.isVisible(), 'the banner stays visible');

  const problems = page.locator('#filter-problem option:not([value=""])');
  if (await problems.count()) {
    const value = await problems.first().getAttribute('value');
    const term = (await problems.first().innerText()).trim();
    await page.selectOption('#filter-problem', value);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(new RegExp(`problem=${value}`));
    const journal = page.locator('#journal');
    const topics = journal.locator('.consultation__topic h4');
    if (await topics.count()) {
      assert.ok((await topics.allInnerTexts()).some((t) => t.includes(term)), `topics about ${term}`);
    } else {
      await assert.doesNotReject(journal.getByText('No consultations match').waitFor());
    }
    await checkA11y(page, 'the journal filtered by a problem');
  }
  await page.context().close();
});

test('the record fits a 768 px tablet', async () => {
  const page = await newPage(browser, TABLET);
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await page.goto(`${server.baseUrl}${record}`);
  await page.locator('.patient-banner').waitFor();
  await assertNoHorizontalScroll(page, 'the record page at 768 px');
  await checkA11y(page, 'the record page at 768 px');
  await screenshot(page, 'record-tablet');
  await page.context().close();
});

test('an alert is refused without its text, then added and shown in the banner', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await page.goto(`${server.baseUrl}${record}#alerts`);
  await page.locator('#alerts summary').click();
  await page.selectOption('#alert-category', 'safety');
  await page.getByRole('button', { name: 'Add alert' }).click();
  await page.locator('.error-summary').waitFor();
  assert.match(await page.locator('#alert-text-error').innerText(), /Enter the alert/);
  assert.equal(await page.locator('#alert-text').getAttribute('aria-invalid'), 'true');
  await checkA11y(page, 'the alert form with an error');

  await page.fill('#alert-text', 'Two staff for home visits');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Add alert' }).click()]);
  const alerts = page.locator('.patient-banner__alerts');
  await alerts.waitFor();
  assert.match(await alerts.innerText(), /Two staff for home visits/);
  await screenshot(page, 'record-alert');
  await page.context().close();
});

test('the problem list shows active and past problems and refuses an unknown code', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  const record = await findDemoPatient(page, server.baseUrl);
  await page.goto(`${server.baseUrl}${record}/problems`);
  await page.getByRole('heading', { level: 1, name: 'Problems' }).waitFor();
  await assert.doesNotReject(page.getByRole('heading', { level: 2, name: 'Active problems' }).waitFor());
  await assert.doesNotReject(page.getByRole('heading', { level: 2, name: 'Past problems' }).waitFor());
  await checkA11y(page, 'the problem list');
  await screenshot(page, 'problems-desktop');

  // Without choosing from the picker the code is empty: the server says so.
  await page.evaluate(() => { document.getElementById('problem-code').value = ''; });
  await page.fill('#problem-term', 'zzzz not a term');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Add problem' }).click();
  await page.locator('.error-summary').waitFor();
  assert.match(await page.locator('#problem-term-error').innerText(), /Choose the problem/);
  await checkA11y(page, 'the problem form with an error');
  await page.context().close();
});
