// Journey 7 (tasks): a GP sets a task for the nurse; the nurse finds it in their inbox
// and on their home page, and completes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, signOut, checkA11y, screenshot,
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

const DESCRIPTION = 'Please phone about the blood test results';

test("demo.gp's home page lists the tasks waiting for them right after sign-in", async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  assert.equal(new URL(page.url()).pathname, '/');
  const myTasks = page.locator('section', { has: page.getByRole('heading', { name: 'Tasks assigned to me' }) });
  const text = await myTasks.innerText();
  assert.doesNotMatch(text, /You have no open tasks/);
  // Set by the demo practice's clinicians (crates/opengp/src/demo/inbox.rs).
  assert.match(text, /Review abnormal HbA1c result/);
  assert.match(text, /Overdue/);
  assert.match(text, /Urgent/);
  await page.context().close();
});

test('bad input on the new-task form is shown next to each field', async () => {
  const page = await newPage(browser, DESKTOP);
  await signIn(page, server.baseUrl, 'gp');
  await page.goto(`${server.baseUrl}/tasks/new`);
  await checkA11y(page, 'the new-task form');
  await page.getByLabel('Due date (optional)').fill('2001-01-01');
  await page.getByRole('button', { name: 'Send task' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  const text = await summary.innerText();
  for (const message of ['Choose who the task is for', 'Enter what needs doing',
    'The due date must be today or in the future']) {
    assert.match(text, new RegExp(message));
  }
  assert.equal(await page.getByLabel('What needs doing?').getAttribute('aria-invalid'), 'true');
  await checkA11y(page, 'the new-task form with errors');
  await screenshot(page, 'task-new-errors');
  await page.context().close();
});

test('a GP sends a task and the nurse completes it', async () => {
  const gp = await newPage(browser, DESKTOP);
  await signIn(gp, server.baseUrl, 'gp');
  await gp.getByRole('link', { name: 'Tasks', exact: true }).click();
  await gp.getByRole('link', { name: 'New task' }).click();
  await gp.getByLabel('Who is it for?').selectOption({ label: 'Nurse Demo' });
  await gp.getByLabel('What needs doing?').fill(DESCRIPTION);
  await gp.getByLabel('Urgent').check();
  await gp.getByRole('button', { name: 'Send task' }).click();
  await gp.waitForURL(/view=sent/);
  assert.match(await gp.locator('main').innerText(), /Task sent\./);
  assert.match(await gp.locator('main').innerText(), new RegExp(DESCRIPTION));
  await checkA11y(gp, 'tasks sent by me');
  // The sender may reassign or cancel the task, but only the nurse can complete it.
  await gp.getByRole('link', { name: DESCRIPTION }).click();
  await gp.getByRole('button', { name: 'Cancel task' }).waitFor();
  assert.equal(await gp.getByRole('button', { name: 'Complete task' }).count(), 0);
  await checkA11y(gp, 'a task I sent');
  await signOut(gp);
  await gp.context().close();

  const nurse = await newPage(browser, TABLET);
  await signIn(nurse, server.baseUrl, 'nurse');
  const myTasks = nurse.locator('section', { has: nurse.getByRole('heading', { name: 'Tasks assigned to me' }) });
  assert.match(await myTasks.innerText(), new RegExp(DESCRIPTION));
  assert.match(await myTasks.innerText(), /Urgent/);

  await nurse.getByRole('link', { name: 'Tasks', exact: true }).click();
  const row = nurse.getByRole('row', { name: new RegExp(DESCRIPTION) });
  assert.match(await row.innerText(), /Clinical Practitioner Demo/);
  await checkA11y(nurse, 'the task inbox');
  await assertNoHorizontalScroll(nurse, 'the task inbox at 768px');
  await screenshot(nurse, 'tasks-inbox-tablet');

  await row.getByRole('link', { name: DESCRIPTION }).click();
  await checkA11y(nurse, 'a task');
  await screenshot(nurse, 'task-tablet');
  await nurse.getByLabel('What was done (optional)').fill('Phoned, results explained');
  await nurse.getByRole('button', { name: 'Complete task' }).click();
  await nurse.waitForURL(/done=completed/);
  const inbox = await nurse.locator('main').innerText();
  assert.match(inbox, /Task completed\./);
  assert.doesNotMatch(inbox, new RegExp(DESCRIPTION));
  // The nurse's demo tasks are still waiting.
  assert.match(inbox, /Dressing change for the left leg ulcer/);
  await nurse.context().close();
});
