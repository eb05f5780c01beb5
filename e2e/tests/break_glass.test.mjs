// Break-glass and sensitive records: a GP opening a sealed record meets the break-glass
// page, cannot get past it without a reason, and with one sees the record marked as
// opened by breaking the glass, which the audit trail keeps with the reason. A sensitive
// patient's address is never shown in search results or on the record.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, checkA11y, screenshot,
  assertNoHorizontalScroll, apiToken, fhir, TABLET, DESKTOP,
} from '../lib/harness.mjs';

const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const REASON = 'Patient collapsed in the waiting room';

let server;
let browser;
let token;
let sealedId;
let sensitiveId;

before(async () => {
  server = await startServer({ patients: 20 });
  browser = await launchBrowser();
  // The demo practice has sensitive (R) patients but no sealed (V) record, and its
  // sensitive patients' addresses are not known to the test: make one of each.
  token = await apiToken(server, 'system/Patient.c system/AuditEvent.rs');
  const patient = async (code, family, extra) => {
    const made = await fhir(server, token, 'POST', 'Patient', {
      resourceType: 'Patient',
      meta: { security: [{ system: CONFIDENTIALITY, code }] },
      name: [{ use: 'official', family, given: ['Iris'], prefix: ['Ms'] }],
      gender: 'female',
      birthDate: '1961-04-02',
      ...extra,
    });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    return made.json.id;
  };
  sealedId = await patient('V', 'Glasshouse');
  sensitiveId = await patient('R', 'Hiddenhome', {
    address: [{ use: 'home', line: ['17 Quietlane Road'], city: 'Leeds', postalCode: 'LS6 4QZ' }],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const ADDRESS = [/Quietlane/i, /LS6 4QZ/i];

test('a GP opens a sealed record only by giving a reason, and it is audited', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  const record = `${server.baseUrl}/patients/${sealedId}`;

  const closed = await page.goto(record);
  assert.equal(closed.status(), 403);
  await page.getByRole('heading', { level: 1, name: 'This record is restricted' }).waitFor();
  assert.equal(await page.locator('.patient-banner').count(), 0, 'no banner before the glass is broken');
  assert.doesNotMatch(await page.locator('main').innerText(), /Glasshouse/i);
  await checkA11y(page, 'the break-glass page');
  await screenshot(page, 'break-glass');

  // An empty reason: the browser will not send the form.
  const submit = page.getByRole('button', { name: 'Open the record (audited)' });
  await submit.click();
  assert.equal(page.url(), record);
  assert.equal(await page.locator('#break_glass').evaluate((el) => el.validity.valueMissing), true);

  // A reason of blanks (the browser lets it through): refused next to the field.
  await page.getByLabel('Reason for opening this record').fill('   no   ');
  const refused = await Promise.all([page.waitForNavigation(), submit.click()]).then(([r]) => r);
  assert.equal(refused.status(), 400);
  assert.match(await page.locator('#break_glass-error').innerText(), /give a reason for breaking the glass/);
  assert.equal(await page.locator('#break_glass').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#break_glass').getAttribute('aria-describedby'), /break_glass-error/);
  assert.equal(await page.locator('.patient-banner').count(), 0, 'still no record');
  assert.doesNotMatch(await page.locator('main').innerText(), /Glasshouse/i);
  await checkA11y(page, 'the break-glass page with its error');

  // Sent with nothing at all (as without the browser's check): refused the same way.
  await page.locator('#break_glass').fill('');
  await page.locator('form.panel').evaluate((form) => { form.noValidate = true; });
  const empty = await Promise.all([page.waitForNavigation(), submit.click()]).then(([r]) => r);
  assert.equal(empty.status(), 400);
  assert.match(await page.locator('#break_glass-error').innerText(), /give a reason/);
  assert.equal(await page.locator('.patient-banner').count(), 0, 'still no record');

  await page.getByLabel('Reason for opening this record').fill(REASON);
  const opened = await Promise.all([page.waitForNavigation(), submit.click()]).then(([r]) => r);
  assert.equal(opened.status(), 200);
  const banner = page.locator('.patient-banner');
  await banner.waitFor();
  assert.match(await banner.locator('.patient-banner__name').innerText(), /GLASSHOUSE, Iris/);
  assert.match(await banner.innerText(), /Sensitive record/);
  assert.match(await banner.innerText(), /Opened with break-glass: audited/);
  await checkA11y(page, 'a record opened by breaking the glass');
  await screenshot(page, 'break-glass-opened');
  await page.context().close();

  // The audit trail holds the reading of the record with the GP's reason.
  const audit = await fhir(server, token, 'GET', `AuditEvent?patient=${sealedId}&_count=100`);
  assert.equal(audit.status, 200, JSON.stringify(audit.json));
  const reasons = (audit.json.entry ?? []).flatMap((e) =>
    (e.resource.entity ?? []).flatMap((en) =>
      (en.detail ?? []).filter((d) => d.type === 'break-glass-reason').map((d) => d.valueString)));
  assert.ok(reasons.includes(REASON), `break-glass reasons audited: ${JSON.stringify(reasons)}`);
});

test('the break-glass page fits a 768 px tablet', async () => {
  const page = await newPage(browser, TABLET);
  await signIn(page, server.baseUrl, 'gp');
  await page.goto(`${server.baseUrl}/patients/${sealedId}`);
  await page.locator('#break_glass').waitFor();
  await assertNoHorizontalScroll(page, 'the break-glass page at 768 px');
  await checkA11y(page, 'the break-glass page at 768 px');
  await page.context().close();
});

test("a sensitive patient's address is never shown", async () => {
  // A GP finds the patient, marked sensitive, with the postcode withheld.
  const gp = await newPage(browser, DESKTOP);
  await signIn(gp, server.baseUrl, 'gp');
  await gp.goto(`${server.baseUrl}/patients?q=hiddenhome`);
  const row = gp.locator('tr', { has: gp.locator('a[data-result]') });
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /Sensitive record/);
  assert.match(await row.innerText(), /Not shown/);
  for (const shown of ADDRESS) assert.doesNotMatch(await gp.locator('main').innerText(), shown);
  await checkA11y(gp, 'search results with a sensitive patient');
  await gp.goto(`${server.baseUrl}/patients/${sensitiveId}`);
  const banner = gp.locator('.patient-banner');
  await banner.waitFor();
  assert.match(await banner.innerText(), /Sensitive record/);
  for (const shown of ADDRESS) assert.doesNotMatch(await banner.innerText(), shown);
  await gp.context().close();

  // A receptionist may not see sensitive records at all: not in search, and the record
  // is answered as not found, so nothing of the address can show.
  const desk = await newPage(browser, DESKTOP);
  await signIn(desk, server.baseUrl, 'receptionist');
  await desk.goto(`${server.baseUrl}/patients?q=hiddenhome`);
  assert.equal(await desk.locator('a[data-result]').count(), 0);
  for (const shown of ADDRESS) assert.doesNotMatch(await desk.locator('main').innerText(), shown);
  await checkA11y(desk, 'search results for a receptionist');
  const record = await desk.goto(`${server.baseUrl}/patients/${sensitiveId}`);
  assert.equal(record.status(), 404);
  assert.equal(await desk.locator('.patient-banner').count(), 0);
  for (const shown of ADDRESS) assert.doesNotMatch(await desk.locator('body').innerText(), shown);
  await checkA11y(desk, 'a sensitive record as a receptionist');
  await desk.context().close();
});
