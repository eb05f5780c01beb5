// A receptionist changes a demo patient's address from their record: a bad postcode is
// explained next to the field, then the new address is saved (and, when the number is
// verified, the PDS update queued and then shown as sent without reloading the page:
// the outbox worker runs inside `serve`), is there when the details are opened again, and finds
// the patient by the new postcode. Checked with axe-core at tablet width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, checkA11y, screenshot,
  assertNoHorizontalScroll, findDemoPatient, TABLET,
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

const NEW_POSTCODE = 'LS16 9ZZ';

test('a receptionist changes a patient\'s address and sees it on the record', async () => {
  const page = await newPage(browser, TABLET);
  await signIn(page, server.baseUrl, 'receptionist');
  const record = await findDemoPatient(page, server.baseUrl);
  await page.goto(`${server.baseUrl}${record}`);
  await page.getByRole('navigation', { name: 'Record' }).getByRole('link', { name: 'Contact details' }).click();
  await page.waitForURL(/\/details$/);
  await page.getByRole('heading', { level: 1, name: 'Contact details' }).waitFor();
  assert.match(await page.locator('main').innerText(), /not changed here/, 'identity is PDS\'s');
  await checkA11y(page, 'the contact details form');
  await assertNoHorizontalScroll(page, 'the contact details form');

  await page.getByLabel('Postcode').fill('LS6');
  await page.getByRole('button', { name: 'Save details' }).click();
  const error = page.locator('#postcode-error');
  await error.waitFor();
  assert.match(await error.innerText(), /Enter a real postcode, like LS6 1AB/);
  assert.equal(await page.getByLabel('Postcode').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('.error-summary').innerText(), /Enter a real postcode/);
  await checkA11y(page, 'the contact details form with an error');
  await screenshot(page, 'patient-details-error');

  await page.getByLabel('Address line 1').fill('7 Otley Road');
  await page.getByLabel('Address line 2 (optional)').fill('Far Headingley');
  await page.getByLabel('Town or city').fill('Leeds');
  await page.getByLabel('Postcode').fill(NEW_POSTCODE.toLowerCase());
  await page.getByRole('button', { name: 'Save details' }).click();
  const outcome = page.locator('.details-outcome');
  await outcome.waitFor();
  assert.match(await outcome.innerText(), /^Saved/);
  const pds = page.locator('#pds-status');
  if (await pds.count() > 0) {
    assert.match(await outcome.innerText(), /Queued for PDS/);
    await page.waitForFunction(
      () => /Sent to PDS on/.test(document.getElementById('pds-status')?.innerText ?? ''),
      null, { timeout: 20000 });
    assert.match(await pds.innerText(), /PDS updated|PDS already had these details/, 'the PDS simulator answered');
  }
  await checkA11y(page, 'the contact details after saving');
  await screenshot(page, 'patient-details-saved');

  // Back on the record, its details show the new address.
  await page.goto(`${server.baseUrl}${record}`);
  await page.getByRole('link', { name: 'Contact details' }).click();
  await page.waitForURL(/\/details$/);
  assert.equal(await page.getByLabel('Postcode').inputValue(), NEW_POSTCODE);
  assert.equal(await page.getByLabel('Address line 1').inputValue(), '7 Otley Road');

  // And the new postcode finds them.
  await page.goto(`${server.baseUrl}/patients?q=${encodeURIComponent(NEW_POSTCODE)}`);
  const found = page.locator(`a[data-result][href="${record}"]`);
  await found.waitFor();
  assert.match(await page.locator('tr', { has: found }).innerText(), new RegExp(NEW_POSTCODE));
  await page.context().close();
});
