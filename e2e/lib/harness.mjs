// The browser-test harness: starts a real `opengp serve --demo` on a fresh SQLite
// database, drives Debian's Chromium through playwright-core, signs in as the demo
// accounts (password, then the authenticator code), checks pages with axe-core and keeps
// screenshots as test artefacts.

import { spawn, execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
export const ARTIFACTS = join(REPO_ROOT, 'target', 'e2e-artifacts');
const AXE = join(REPO_ROOT, 'e2e', 'node_modules', 'axe-core', 'axe.min.js');

export const TABLET = { width: 768, height: 1024 };
export const DESKTOP = { width: 1366, height: 900 };

const STARTUP_TIMEOUT_MS = 120_000;

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

function supportsFlag(bin, flag) {
  try {
    return execFileSync(bin, ['serve', '--help'], { encoding: 'utf8' }).includes(flag);
  } catch {
    return false;
  }
}

async function waitForServer(baseUrl, child, output) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`opengp exited (${child.exitCode}) before answering:\n${output.join('')}`);
    }
    try {
      const res = await fetch(`${baseUrl}/fhir/metadata`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`opengp did not answer within ${STARTUP_TIMEOUT_MS} ms:\n${output.join('')}`);
}

/**
 * Starts `opengp serve --demo` on a free port with a fresh database in a temporary
 * directory. Pages are opened at http://localhost:PORT: the session cookie is
 * `__Host-…; Secure`, which Chromium keeps over plain http only on origins it treats
 * as secure (localhost, and 127.0.0.1 in current versions).
 */
export async function startServer({ patients = 40 } = {}) {
  const bin = process.env.OPENGP_BIN || join(REPO_ROOT, 'target', 'debug', 'opengp');
  const dir = mkdtempSync(join(tmpdir(), 'opengp-e2e-'));
  const port = await freePort();
  const args = [
    'serve',
    '--demo',
    '--database', `sqlite:${join(dir, 'opengp.db')}`,
    '--listen', `127.0.0.1:${port}`,
  ];
  if (supportsFlag(bin, '--demo-patients')) args.push('--demo-patients', String(patients));
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (d) => output.push(d.toString()));
  child.stderr.on('data', (d) => output.push(d.toString()));
  const baseUrl = `http://localhost:${port}`;
  try {
    await waitForServer(`http://127.0.0.1:${port}`, child, output);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    baseUrl,
    bin,
    database: `sqlite:${join(dir, 'opengp.db')}`,
    output: () => output.join(''),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's headless Chromium (Playwright's own browser download is not used). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/**
 * A new page in its own browser context (its own cookies). `bypassCSP` only lets the
 * harness inject axe-core; the pages' own scripts are external files either way.
 */
export async function newPage(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, bypassCSP: true });
  return context.newPage();
}

// --- demo accounts (crates/auth/src/demo.rs) ---

/** The demo account's TOTP seed: sha256("opengp demo totp demo.<role>")[..20]. */
function demoSeed(username) {
  return createHash('sha256').update(`opengp demo totp ${username}`).digest().subarray(0, 20);
}

/** RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps). */
export function totpCode(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', secret).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

// The server accepts each step's code once per account, so a second sign-in within the
// same 30 seconds waits for the next step.
const lastStepUsed = new Map();

async function nextUnusedStep(key) {
  for (;;) {
    const step = Math.floor(Date.now() / 1000 / 30);
    const last = lastStepUsed.get(key);
    if (last === undefined || step > last) {
      lastStepUsed.set(key, step);
      return step;
    }
    const msToNext = (step + 1) * 30_000 - Date.now() + 50;
    await new Promise((r) => setTimeout(r, msToNext));
  }
}

/**
 * Signs in as a demo account (`gp`, `nurse`, `admin`, `receptionist`,
 * `practice-manager`, `privacy-officer`): password, then the authenticator code if the
 * server asks for one. Leaves the page where the server sends it (the home page).
 */
export async function signIn(page, baseUrl, role) {
  const username = `demo.${role}`;
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', username);
  await page.fill('#password', `opengp-demo-${role}`);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  if (new URL(page.url()).pathname === '/login/totp') {
    const step = await nextUnusedStep(`${baseUrl} ${username}`);
    await page.fill('#code', totpCode(demoSeed(username), step));
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  }
  const path = new URL(page.url()).pathname;
  assert.ok(!path.startsWith('/login'), `signing in as ${username} failed: still on ${path}`);
}

/** Signs out through the page's sign-out button (every page's header has one). */
export async function signOut(page) {
  await Promise.all([
    page.waitForLoadState('load'),
    page.locator('form[action="/logout"] button').first().click(),
  ]);
}

// --- checks and artefacts ---

/** Runs axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA) and fails listing every violation. */
export async function checkA11y(page, label) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    }),
  );
  const problems = result.violations.map(
    (v) =>
      `- ${v.id} (${v.impact}): ${v.help}\n` +
      v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary}`).join('\n'),
  );
  assert.equal(problems.length, 0, `accessibility violations on ${label}:\n${problems.join('\n')}`);
}

/** Saves a full-page screenshot as target/e2e-artifacts/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Fails if the page scrolls sideways (it must fit a 768 px tablet). */
export async function assertNoHorizontalScroll(page, label) {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `${label} scrolls sideways by ${overflow}px`);
}

const DEMO_SURNAMES = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson',
  'Davies', 'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts'];

/** The record URL of a demo patient found through the search page by a common surname:
 *  the first one with no tag (not deceased, not sensitive). */
export async function findDemoPatient(page, baseUrl) {
  for (const surname of DEMO_SURNAMES) {
    await page.goto(`${baseUrl}/patients?q=${surname}`);
    const rows = page.locator('tr', { has: page.locator('a[data-result]') });
    const count = await rows.count();
    for (let i = 0; i < count; i += 1) {
      const row = rows.nth(i);
      if (await row.locator('.tag').count()) continue;
      return row.locator('a[data-result]').getAttribute('href');
    }
  }
  throw new Error('no demo patient found');
}

// --- the FHIR API, for setting up what the pages cannot ---

/**
 * Registers a back-end app with `opengp client add` and returns a client-credentials
 * bearer token for `scopes` (e.g. "system/Patient.c system/AuditEvent.rs").
 */
export async function apiToken(server, scopes) {
  const printed = execFileSync(server.bin, [
    'client', 'add', '--database', server.database, '--scopes', scopes, '--name', 'e2e set-up',
  ], { encoding: 'utf8' });
  const field = (name) => printed.match(new RegExp(`^${name}=(.+)$`, 'm'))[1].trim();
  const res = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: field('client_id'),
      client_secret: field('client_secret'),
      scope: scopes,
    }),
  });
  assert.equal(res.status, 200, `token request refused: ${await res.clone().text()}`);
  return (await res.json()).access_token;
}

/** A FHIR API request with a bearer token; the parsed body (or null) and the status. */
export async function fhir(server, token, method, path, body) {
  const res = await fetch(`${server.baseUrl}/fhir/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/fhir+json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}
