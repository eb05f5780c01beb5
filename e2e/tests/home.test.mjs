// Journey 1: sign in with a password and the authenticator code, and land on the home
// page with today's appointments, my tasks and recently viewed patients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, checkA11y, screenshot,
  assertNoHorizontalScroll, totpCode, TABLET, DESKTOP,
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

test('the TOTP code matches RFC 6238 test vectors', () => {
  // RFC 6238 appendix B, SHA-1, truncated to 6 digits.
  const secret = Buffer.from('12345678901234567890');
  assert.equal(totpCode(secret, Math.floor(59 / 30)), '287082');
  assert.equal(totpCode(secret, Math.floor(1111111109 / 30)), '081804');
});

test('a signed-out visitor is sent to the sign-in page', async () => {
  const page = await newPage(browser, DESKTOP);
  await page.goto(`${server.baseUrl}/`);
  assert.equal(new URL(page.url()).pathname, '/login');
  await assert.doesNotReject(page.getByLabel('Username').waitFor());
  await checkA11y(page, 'the sign-in page');
  await page.context().close();
});

test('a GP signs in with the second factor and lands on home', async () => {
  const page = await newPage(browser, DESKTOP);
  await page.goto(`${server.baseUrl}/login`);
  await page.getByLabel('Username').fill('demo.gp');
  await page.getByLabel('Password').fill('opengp-demo-gp');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/login\/totp/);
  await checkA11y(page, 'the authenticator code page');
  await page.context().close();

  // The harness does the same steps, computing the code.
  const home = await newPage(browser, DESKTOP);
  await signIn(home, server.baseUrl, 'gp');
  assert.equal(new URL(home.url()).pathname, '/');
  assert.equal(await home.title(), 'Home - OpenGP');
  const cookies = await home.context().cookies();
  assert.ok(cookies.some((c) => c.name.startsWith('__Host-') && c.secure), 'the session cookie is kept');

  for (const heading of ["Today's appointments", 'Tasks assigned to me', 'Recently viewed patients']) {
    await assert.doesNotReject(
      home.getByRole('heading', { level: 2, name: heading }).waitFor(),
      `the ${heading} section is shown`,
    );
  }
  assert.match(await home.locator('main').innerText(), /No appointments today/);
  // demo.gp starts with tasks from colleagues (crates/opengp/src/demo/inbox.rs).
  assert.match(await home.locator('main').innerText(), /Review abnormal HbA1c result/);
  await checkA11y(home, 'the home page');
  await screenshot(home, 'home-desktop');

  await home.setViewportSize(TABLET);
  await assertNoHorizontalScroll(home, 'the home page at 768px');
  await screenshot(home, 'home-tablet');
  await home.context().close();
});

test('every home page control is reachable by keyboard', async () => {
  const page = await newPage(browser, TABLET);
  await signIn(page, server.baseUrl, 'nurse');
  const reached = new Set();
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? (el.getAttribute('href') || el.textContent.trim()) : '';
    });
    reached.add(label);
  }
  for (const target of ['/tasks', '/tasks/new', 'Sign out']) {
    assert.ok(reached.has(target), `${target} is reachable by Tab (reached: ${[...reached].join(', ')})`);
  }
  await page.context().close();
});
