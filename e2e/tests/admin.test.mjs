// The practice manager watches what OpenGP sends to other services: a receptionist's
// change of address queues a PDS update (for a verified patient), and the practice
// manager finds "Outgoing messages" in the navigation, sees the PDS row with what is
// waiting, sent and failed, and the page passes axe-core at tablet width. Other roles are
// not offered the page and are refused it with a readable page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, signOut, checkA11y, screenshot,
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

test('the practice manager sees the outgoing messages and other roles do not', async () => {
  const page = await newPage(browser, TABLET);

  // A receptionist saves a new phone number: a verified patient's change is queued for PDS.
  await signIn(page, server.baseUrl, 'receptionist');
  const main = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await main.getByRole('link', { name: 'Outgoing messages' }).count(), 0,
    'a receptionist is not offered the outgoing messages');
  const response = await page.goto(`${server.baseUrl}/admin/outbox`);
  assert.equal(response.status(), 403);
  await page.getByRole('heading', { level: 1, name: 'You cannot see outgoing messages' }).waitFor();
  await checkA11y(page, 'the outgoing messages refused to a receptionist');

  const record = await findDemoPatient(page, server.baseUrl);
  await page.goto(`${server.baseUrl}${record}/details`);
  await page.getByRole('heading', { level: 1, name: 'Contact details' }).waitFor();
  await page.getByLabel('Address line 1').fill('12 Cardigan Road');
  await page.getByRole('button', { name: 'Save details' }).click();
  await page.locator('.details-outcome').waitFor();
  const queued = /Queued for PDS/.test(await page.locator('.details-outcome').innerText());
  await signOut(page);

  await signIn(page, server.baseUrl, 'practice-manager');
  await main.getByRole('link', { name: 'Outgoing messages' }).click();
  await page.waitForURL(/\/admin\/outbox$/);
  await page.getByRole('heading', { level: 1, name: 'Outgoing messages' }).waitFor();
  assert.equal(
    await main.getByRole('link', { name: 'Outgoing messages' }).getAttribute('aria-current'),
    'page',
  );
  const text = await page.locator('main').innerText();
  if (queued) {
    const row = page.locator('tr', { has: page.locator('th[scope=row]', { hasText: 'PDS (Personal Demographics Service)' }) });
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    const [waiting, , sent, failed] = cells.map((c) => c.trim());
    assert.equal(Number(waiting) + Number(sent) + Number(failed), 1,
      `the one PDS update is waiting, sent or failed: ${cells.join(' | ')}`);
  } else {
    assert.match(text, /No messages have been sent yet/);
  }
  await checkA11y(page, 'the outgoing messages');
  await assertNoHorizontalScroll(page, 'the outgoing messages');
  await screenshot(page, 'admin-outbox');
});
