// Journeys 2 and 3: register a new patient (bad input first), then find them as you
// type by NHS number with spaces and by name and date of birth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, checkA11y, screenshot,
  assertNoHorizontalScroll, TABLET, DESKTOP,
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

/** A random valid NHS number (Modulus 11), so it is not one of the demo patients'. */
function newNhsNumber() {
  for (;;) {
    const digits = Array.from({ length: 9 }, (_, i) => (i === 0 ? 4 + Math.floor(Math.random() * 5) : Math.floor(Math.random() * 10)));
    const sum = digits.reduce((s, d, i) => s + d * (10 - i), 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return [...digits, check === 11 ? 0 : check].join('');
  }
}

const NHS = newNhsNumber();
const SPACED = `${NHS.slice(0, 3)} ${NHS.slice(3, 6)} ${NHS.slice(6)}`;
const FAMILY = 'Quennell-Ashdown';

async function fillPatient(page, { day, month, year, nhs }) {
  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name', { exact: true }).fill(FAMILY);
  await page.getByLabel('Female').check();
  await page.getByLabel('Day').fill(day);
  await page.getByLabel('Month').fill(month);
  await page.getByLabel('Year').fill(year);
  await page.getByLabel('Address line 1').fill('12 Otley Road');
  await page.getByLabel('Town or city').fill('Leeds');
  await page.getByLabel('Postcode').fill('LS6 2AA');
  await page.getByLabel('NHS number (optional)').fill(nhs);
  await page.getByLabel('NHS number status').selectOption('02');
}

test('registering: bad input is explained next to each field, then the patient is registered', async () => {
  const page = await newPage(browser, TABLET);
  await signIn(page, server.baseUrl, 'gp');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Register a patient' }).click();
  await checkA11y(page, 'the registration form');
  await assertNoHorizontalScroll(page, 'the registration form');

  await fillPatient(page, { day: '1', month: '1', year: '2099', nhs: '943 476 5918' });
  await page.getByRole('button', { name: 'Register patient' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.innerText(), /Date of birth must be today or in the past/);
  assert.match(await page.locator('#birth_date-error').innerText(), /Date of birth must be today or in the past/);
  assert.match(await page.locator('#nhs_number-error').innerText(), /not a valid NHS number/);
  assert.equal(await page.getByLabel('NHS number (optional)').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('First name').inputValue(), 'Ada', 'what was typed is kept');
  await checkA11y(page, 'the registration form with errors');
  await screenshot(page, 'patient-register-errors');

  await fillPatient(page, { day: '10', month: '12', year: '1985', nhs: SPACED });
  await page.getByRole('button', { name: 'Register patient' }).click();
  await page.waitForURL(/\/patients\/[^/]+$/);
  assert.ok(!/\/patients\/new$/.test(page.url()), `still on the form: ${page.url()}`);
  await page.context().close();
});

test('finding a patient as you type, by NHS number with spaces and by name and date of birth', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Find a patient' }).click();
  const search = page.getByLabel('Find a patient');
  await checkA11y(page, 'the find-a-patient page');

  await search.pressSequentially(SPACED, { delay: 20 });
  const result = page.locator('#patient-results a[data-result]', { hasText: FAMILY.toUpperCase() });
  await result.waitFor();
  assert.match(await page.locator('#results-status').innerText(), /1 patient found/);
  assert.match(await page.locator('#patient-results').innerText(), new RegExp(SPACED));
  await checkA11y(page, 'find-a-patient results');
  await screenshot(page, 'patient-find-nhs-number');

  await search.fill('');
  await search.pressSequentially(`${FAMILY} 10/12/1985`, { delay: 10 });
  await result.waitFor();
  assert.match(await page.locator('#patient-results').innerText(), /10-Dec-1985/);

  // Keyboard: down into the results, Enter opens the record. Wait until the searches
  // typed so far have all answered, so the list is not redrawn under the keyboard.
  await page.waitForLoadState('networkidle');
  await search.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/patients\/[^/]+$/);

  await page.goto(`${server.baseUrl}/patients`);
  await page.getByLabel('Find a patient').pressSequentially('943 476 5918', { delay: 10 });
  await page.locator('#q-problem').waitFor();
  assert.match(await page.locator('#q-problem').innerText(), /not a valid NHS number/);
  await page.context().close();
});
