import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, expectAccessible, launchChromium, screenshots } from './helpers/browser.js';
import { ADMIN, TEST_SECRET } from './helpers/gateway.js';
import { startHttp } from './helpers/mcp.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/processes.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';
import { startEverything, type HttpUpstream } from './helpers/upstreams.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const hasBrowser = chromiumAvailable();
/** A credential typed into the page; it must never come back in any response the page reads. */
const SECRET = 'ui-secret-token-5f2b9c0d7e4a';
const SECRET_PASSWORD = 'ui-secret-password-8c1d4e';

let upstream: HttpUpstream;
let browser: Browser;

beforeAll(async () => {
  if (!hasBrowser) return;
  // The global setup compiles the server; the page is compiled by its own step of `npm run build`.
  execFileSync(process.execPath, ['scripts/build-ui.mjs'], { cwd: root, stdio: 'inherit' });
  [upstream, browser] = await Promise.all([startEverything('streamableHttp'), launchChromium()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await upstream?.stop();
});

/** Every response body the page read, to scan for secrets. */
function recordResponses(page: Page): string[] {
  const bodies: string[] = [];
  page.on('response', (response) => {
    void response.text().then((t) => bodies.push(`${response.url()}\n${t}`), () => undefined);
  });
  return bodies;
}

async function signIn(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}/admin`);
  await page.fill('#user', ADMIN.user);
  await page.fill('#password', ADMIN.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:has-text("Overview")');
  return page;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Press Tab until the expression (evaluated in the page) holds; fail after 60 presses. */
async function tabTo(page: Page, expression: string): Promise<void> {
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate<boolean>(`Boolean(${expression})`)) return;
  }
  throw new Error(`Tab never reached: ${expression}`);
}

describe.skipIf(!hasBrowser)('the admin page in Chromium, on SQLite with server-everything', () => {
  let db: TestDatabase;
  let gw: GatewayProcess;
  let context: BrowserContext;
  let page: Page;
  let bodies: string[];

  beforeAll(async () => {
    db = await STORES[0]!.create();
    gw = await startGatewayProcess(db.url, TEST_SECRET);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    context.setDefaultTimeout(10_000);
    page = await signIn(context, gw.url);
    bodies = recordResponses(page);
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await gw?.stop();
    await db?.drop();
  });

  // The flows run in order and build on each other: the gateway made in one is composed, called and exported in the next.
  it('signs in with Basic credentials for an HttpOnly, SameSite=Strict session cookie (not Secure over plain HTTP)', async () => {
    const own = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await own.newPage();
    await p.goto(`${gw.url}/admin`);
    await expectAccessible(p, 'sign-in');
    await screenshots(p, 'sign-in');
    await p.fill('#user', ADMIN.user);
    await p.fill('#password', 'wrong-password');
    await p.click('button[type=submit]');
    await expect.poll(() => p.textContent('[role=alert]')).toContain('not accepted');
    await p.fill('#password', ADMIN.password);
    const [response] = await Promise.all([p.waitForResponse((r) => r.url().endsWith('/admin/session') && r.request().method() === 'POST'), p.click('button[type=submit]')]);
    const setCookie = (await response.allHeaders())['set-cookie'] ?? '';
    expect(setCookie).toMatch(/^mcpgw_session=[\w-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure');
    // Behind a TLS-terminating proxy that says so, the cookie is Secure.
    const proxied = await fetch(`${gw.url}/admin/session`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`, 'x-forwarded-proto': 'https' } });
    expect(proxied.headers.get('set-cookie')).toMatch(/; Secure$/);
    await p.waitForSelector('h1:has-text("Overview")');
    const cookie = (await own.cookies()).find((c) => c.name === 'mcpgw_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // The script cannot read it.
    expect(await p.evaluate<string>('document.cookie')).not.toContain('mcpgw_session');
    await own.close();
  });

  it('refuses a write made with the session cookie but without its CSRF token, and accepts it with the token', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'mcpgw_session')!;
    const headers = { cookie: `mcpgw_session=${cookie.value}`, 'content-type': 'application/json' };
    const forged = await fetch(`${gw.url}/prompts`, { method: 'POST', headers, body: JSON.stringify({ name: 'forged', template: 'x' }) });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('CSRF_INVALID');
    const wrong = await fetch(`${gw.url}/prompts`, { method: 'POST', headers: { ...headers, 'x-csrf-token': 'guess' }, body: JSON.stringify({ name: 'forged', template: 'x' }) });
    expect(wrong.status).toBe(403);
    expect((await gw.api('/prompts/forged')).status).toBe(404);
    // Reads need no token; the page's own token works for writes.
    const me = (await (await fetch(`${gw.url}/admin/session`, { headers })).json()) as { csrf_token: string; role: string };
    expect(me.role).toBe('admin');
    const ok = await fetch(`${gw.url}/prompts`, { method: 'POST', headers: { ...headers, 'x-csrf-token': me.csrf_token }, body: JSON.stringify({ name: 'greeting', template: 'Hello {{ who }}' }) });
    expect(ok.status).toBe(201);
  });

  it('creates a gateway from the generated form, shows field errors where the API names them, and never shows the credential again', async () => {
    await page.goto(`${gw.url}/admin#/k/gateways/new`);
    await page.waitForSelector('form [name=url]');
    await page.fill('form [name=name]', 'bad name!');
    await page.fill('form [name=url]', `http://127.0.0.1:${upstream.port}/mcp`);
    await page.click('button:has-text("Create gateway")');
    const nameError = page.locator('form [name=name] ~ .error');
    await expect.poll(() => nameError.textContent()).toContain('$.name');
    expect(await page.getAttribute('form [name=name]', 'aria-invalid')).toBe('true');
    await expectAccessible(page, 'gateway form with errors');
    await page.fill('form [name=name]', 'everything');
    await page.selectOption('form [name=auth_type]', 'bearer');
    await page.fill('form [name=auth_token]', SECRET);
    expect(await page.getAttribute('form [name=auth_token]', 'type')).toBe('password');
    await page.click('button:has-text("Create gateway")');
    await page.waitForSelector('h1:has-text("Gateways")');
    await page.waitForSelector('td a:has-text("everything")');
    await screenshots(page, 'gateways');
    await expectAccessible(page, 'gateways list');
    // Discovery brings server-everything's tools; the overview shows the upstream up with its tool count.
    await waitFor(async () => ((await (await gw.api('/tools?limit=1000')).json()) as unknown[]).length > 5 || undefined, 'discovery');
    await page.goto(`${gw.url}/admin#/`);
    await page.reload();
    await page.waitForSelector('td:has-text("● up")');
    const row = page.locator('tr', { has: page.locator('a:has-text("everything")') }).first();
    expect(await row.textContent()).toMatch(/streamablehttp\d+/);
    // Editing shows the credential field empty (write-only).
    await page.goto(`${gw.url}/admin#/k/gateways/edit/everything`);
    await page.waitForSelector('form [name=auth_token]');
    expect(await page.inputValue('form [name=auth_token]')).toBe('');
    await screenshots(page, 'gateway-edit');
    await expectAccessible(page, 'gateway edit');
  });

  it('lists tools with search and paging, and deletes with confirmation', async () => {
    await gw.api('/tools', { method: 'POST', body: { name: 'doomed', url: 'http://127.0.0.1:9/x', tags: ['temp'] } });
    // More than one page (25) of tools.
    await Promise.all(Array.from({ length: 20 }, (_, i) => gw.api('/tools', { method: 'POST', body: { name: `filler-${i}`, url: 'http://127.0.0.1:9/x' } })));
    await page.goto(`${gw.url}/admin#/k/tools`);
    await page.waitForSelector('h1:has-text("Tools")');
    await page.fill('#search', 'echo');
    await page.click('button:has-text("Apply")');
    await page.waitForSelector('td a:has-text("everything__echo")');
    const names = await page.locator('tbody td:first-child').allTextContents();
    expect(names.every((n) => n.includes('echo'))).toBe(true);
    await page.fill('#search', '');
    await page.click('button:has-text("Apply")');
    await page.waitForSelector('button:has-text("Next page")');
    await page.click('button:has-text("Next page")');
    await page.waitForSelector('button:has-text("Previous page")');
    await page.fill('#tags', 'temp');
    await page.click('button:has-text("Apply")');
    await page.waitForSelector('td a:has-text("doomed")');
    expect(await page.locator('tbody tr').count()).toBe(1);
    await screenshots(page, 'tools');
    await page.click('button[aria-label="Delete doomed"]');
    await page.waitForSelector('dialog[open]');
    await expectAccessible(page, 'delete confirmation');
    await page.click('dialog button:has-text("Delete")');
    await page.waitForSelector('text=Deleted tool doomed.');
    expect((await gw.api('/tools/doomed')).status).toBe(404);
  });

  it('composes a virtual server from picked tools, shows its missing references and endpoint', async () => {
    await gw.api('/servers', { method: 'POST', body: { name: 'legacy', tools: ['not-yet-there'] } });
    await page.goto(`${gw.url}/admin#/compose/new`);
    await page.waitForSelector('#server-name');
    await page.fill('#server-name', 'demo');
    const tools = page.locator('fieldset', { has: page.locator('legend:has-text("Tools")') });
    await tools.locator('input[type=search]').fill('echo');
    await tools.locator('input[value="everything__echo"]').check();
    await tools.locator('input[type=search]').fill('get-sum');
    await tools.locator('input[value="everything__get-sum"]').check();
    await page.locator('fieldset', { has: page.locator('legend:has-text("Prompts")') }).locator('input[value="greeting"]').check();
    // A name collision shows before save, and the page does not save it.
    await page.fill('input[aria-label="everything__get-sum served as"]', 'everything__echo');
    await page.waitForSelector('#name-collisions');
    expect(await page.textContent('#name-collisions')).toContain('everything__echo and everything__get-sum would both be served as "everything__echo"');
    await page.click('button:has-text("Save server")');
    await page.waitForSelector('text=Not saved: two picked tools');
    expect((await gw.api('/servers/demo')).status).toBe(404);
    await page.fill('input[aria-label="everything__get-sum served as"]', 'sum');
    expect(await page.locator('#name-collisions').count()).toBe(0);
    await screenshots(page, 'composer');
    await expectAccessible(page, 'composer');
    await page.click('button:has-text("Save server")');
    await page.waitForSelector('text=Saved. Endpoint');
    const saved = (await (await gw.api('/servers/demo')).json()) as { tools: string[]; prompts: string[] };
    expect(saved.tools.sort()).toEqual(['everything__echo', 'everything__get-sum']);
    expect(saved.prompts).toEqual(['greeting']);
    expect((saved as unknown as { tool_overrides: unknown; resolved_tools: string[] }).tool_overrides).toEqual({ 'everything__get-sum': { name: 'sum' } });
    expect((saved as unknown as { resolved_tools: string[] }).resolved_tools.sort()).toEqual(['everything__echo', 'sum']);
    // Reopened, the rename is shown; dropping it restores the tool's own name.
    await page.waitForSelector('input[aria-label="everything__get-sum served as"]');
    expect(await page.inputValue('input[aria-label="everything__get-sum served as"]')).toBe('sum');
    await page.fill('input[aria-label="everything__get-sum served as"]', '');
    await page.click('button:has-text("Save server")');
    await page.waitForSelector('p.ok:has-text("Saved. Endpoint")');
    expect(((await (await gw.api('/servers/demo')).json()) as { resolved_tools: string[] }).resolved_tools.sort()).toEqual(['everything__echo', 'everything__get-sum']);
    // The API refuses a forged collision too.
    const forged = await gw.api('/servers/demo', { method: 'PATCH', body: { tool_overrides: { 'everything__get-sum': { name: 'everything__echo' } } } });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(await forged.json())).toContain('SERVER_TOOL_NAME_CONFLICT');
    await page.goto(`${gw.url}/admin#/compose/legacy`);
    await page.waitForSelector('text=Missing references');
    expect(await page.textContent('.alert')).toContain('tools: not-yet-there');
    await page.goto(`${gw.url}/admin#/`);
    await page.waitForSelector('code:has-text("/servers/demo/mcp")');
  });

  it('calls a tool through /mcp from a form generated from its input_schema and shows the result and time', async () => {
    await page.goto(`${gw.url}/admin#/test/everything__echo`);
    await page.waitForSelector('form [name=message]');
    await page.fill('form [name=message]', 'hello from the browser');
    await page.click('button:has-text("Call tool")');
    await page.waitForSelector('#call-time');
    expect(await page.textContent('section[aria-label=Result]')).toContain('hello from the browser');
    expect(await page.textContent('#call-time')).toMatch(/Time: \d+ ms/);
    await screenshots(page, 'tester');
    // The same call through the virtual server that carries the tool.
    await page.selectOption('#tool-endpoint', '/servers/demo/mcp');
    await page.fill('form [name=message]', 'through demo');
    await page.click('button:has-text("Call tool")');
    await page.waitForSelector('section[aria-label=Result] pre:has-text("through demo")');
    await expectAccessible(page, 'tester');
    // The call shows up in the overview's metrics.
    await page.goto(`${gw.url}/admin#/`);
    await page.reload();
    await page.waitForSelector('h2:has-text("Calls per tool")');
    const metricRow = page.locator('tr', { has: page.locator('td:text-is("everything__echo")') });
    expect(await metricRow.textContent()).toMatch(/everything__echo\d+0/);
    await screenshots(page, 'overview');
    await expectAccessible(page, 'overview');
  });

  it('downloads an export, previews its import as a dry run, and applies it', async () => {
    await page.goto(`${gw.url}/admin#/transfer`);
    await page.waitForSelector('h1:has-text("Export and import")');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download export")')]);
    const file = await download.path();
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { gateways: { name: string; auth_value: string }[]; servers: { name: string }[] };
    expect(doc.gateways.map((g) => g.name)).toEqual(['everything']);
    expect(doc.gateways[0]!.auth_value).toMatch(/^[\w-]{20,}$/);
    expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
    // Remove a server and change another, then bring both back from the file.
    expect((await gw.api('/servers/demo', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/prompts/greeting', { method: 'PATCH', body: { description: 'changed after the export' } })).status).toBe(200);
    await page.setInputFiles('#import-file', file);
    await page.click('button:has-text("Preview (dry run)")');
    await page.waitForSelector('text=Dry run: nothing was written');
    const demoRow = page.locator('tr', { has: page.locator('td:text-is("demo")') });
    expect(await demoRow.textContent()).toContain('create');
    const greetingRow = page.locator('tr', { has: page.locator('td:text-is("greeting")') });
    expect(await greetingRow.textContent()).toContain('update: description');
    expect((await gw.api('/servers/demo')).status).toBe(404);
    await screenshots(page, 'import-preview');
    await expectAccessible(page, 'import preview');
    await page.click('#import-apply');
    await page.waitForSelector('h3:has-text("Imported")');
    expect(await demoRow.textContent()).toContain('created');
    expect((await gw.api('/servers/demo')).status).toBe(200);
    expect(((await (await gw.api('/prompts/greeting')).json()) as { description: string }).description).toBe('');
  });

  it('never sends a credential it was given back to the page, in any response or script', async () => {
    // A second credential, sent through the page's form for a REST tool.
    await page.goto(`${gw.url}/admin#/k/tools/new`);
    await page.waitForSelector('form [name=auth_password]');
    await page.fill('form [name=name]', 'secret-rest');
    await page.fill('form [name=url]', 'http://127.0.0.1:9/api');
    await page.selectOption('form [name=auth_type]', 'basic');
    await page.fill('form [name=auth_username]', 'svc');
    await page.fill('form [name=auth_password]', SECRET_PASSWORD);
    await page.click('button:has-text("Create tool")');
    await page.waitForSelector('text=Saved tool secret-rest.');
    await page.goto(`${gw.url}/admin#/k/tools/edit/secret-rest`);
    await page.waitForSelector('form [name=auth_password]');
    expect(await page.inputValue('form [name=auth_password]')).toBe('');
    await page.goto(`${gw.url}/admin#/k/gateways/edit/everything`);
    await page.waitForSelector('form [name=auth_token]');
    await new Promise((r) => setTimeout(r, 300));
    const seen = bodies.join('\n');
    expect(seen.length).toBeGreaterThan(1000);
    expect(seen).toContain('/gateways/everything');
    expect(seen).not.toContain(SECRET);
    expect(seen).not.toContain(SECRET_PASSWORD);
    expect(await page.content()).not.toContain(SECRET_PASSWORD);
  });

  it('previews an OpenAPI import plan and shows each draft with its TrustCard', async () => {
    await page.goto(`${gw.url}/admin#/plan`);
    await page.waitForSelector('h1:has-text("Import planner")');
    await page.fill('#plan-name', 'petstore');
    await page.setInputFiles('#plan-file', `${root}node_modules/@readme/oas-examples/3.0/json/petstore.json`);
    await page.click('button:has-text("Preview plan")');
    await page.waitForSelector('h2:has-text("drafts from petstore (openapi)")');
    const cards = page.locator('details.trust');
    expect(await cards.count()).toBeGreaterThan(3);
    await cards.first().locator('summary').click();
    expect(await cards.first().textContent()).toMatch(/(ready|needs_review|blocked)/);
    expect(await page.textContent('section[aria-label=Plan]')).toMatch(/plan digest [0-9a-f]{64}/);
    await screenshots(page, 'import-planner');
    await expectAccessible(page, 'import planner');
    // A document that is not of its kind is an error on the page, not a crash.
    await page.selectOption('#plan-kind', 'postman');
    await page.click('button:has-text("Preview plan")');
    await page.waitForSelector('section[aria-label=Plan] .alert');
    expect(await page.textContent('section[aria-label=Plan] .alert')).toContain('VALIDATION_FAILED');
  });

  it("shows a viewer no edit, delete, save or import controls, and the API refuses the viewer's write", async () => {
    // A real viewer: a stored token with the viewer role, exchanged for a session cookie.
    const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
    const minted = await fetch(`${gw.url}/tokens`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'viewer-1', role: 'viewer' }),
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const session = await viewer.request.post(`${gw.url}/admin/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(session.status()).toBe(200);
    const { csrf_token: csrf, role } = (await session.json()) as { csrf_token: string; role: string };
    expect(role).toBe('viewer');
    // A write with the viewer's own cookie and CSRF token is still refused by the role check.
    const forged = await viewer.request.post(`${gw.url}/tools`, {
      headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' },
      data: { name: 'viewer_made', integration_type: 'REST', url: 'http://127.0.0.1:9/x', request_type: 'GET' },
    });
    expect(forged.status()).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('FORBIDDEN');
    expect((await fetch(`${gw.url}/tools/viewer_made`, { headers: { authorization: basic } })).status).toBe(404);
    const p = await viewer.newPage();
    await p.goto(`${gw.url}/admin#/k/tools`);
    await p.waitForSelector('td a:has-text("everything__echo")');
    expect(await p.locator('button:has-text("Delete"), a:has-text("New tool")').count()).toBe(0);
    await p.goto(`${gw.url}/admin#/k/gateways/edit/everything`);
    await p.waitForSelector('h1:has-text("View gateway everything")');
    expect(await p.locator('button[type=submit]').count()).toBe(0);
    expect(await p.isDisabled('form [name=url]')).toBe(true);
    await p.goto(`${gw.url}/admin#/compose/demo`);
    await p.waitForSelector('h1:has-text("Virtual server demo")');
    expect(await p.locator('button:has-text("Save server")').count()).toBe(0);
    await p.goto(`${gw.url}/admin#/transfer`);
    await p.waitForSelector('h1:has-text("Export and import")');
    expect(await p.locator('#import-file').count()).toBe(0);
    await p.goto(`${gw.url}/admin#/`);
    await p.waitForSelector('h1:has-text("Overview")');
    expect(await p.locator('button:has-text("Refresh")').count()).toBe(0);
    expect(await p.textContent('#who')).toContain('viewer-1 (viewer)');
    expect(await p.locator('nav a:has-text("Tokens"), nav a:has-text("Audit trail")').count()).toBe(0);
    await viewer.close();
  });

  it('mints a token shown once, lists tokens without secrets, revokes one, and reads the audit trail with filters and paging', async () => {
    const p = await context.newPage();
    const seen = recordResponses(p);
    await p.goto(`${gw.url}/admin#/tokens`);
    await p.waitForSelector('h1:has-text("Tokens")');
    await p.fill('#token-name', 'ci-bot');
    await p.selectOption('#token-role', 'viewer');
    await p.fill('#token-expires', '30d');
    await p.click('button:has-text("Mint token")');
    const secret = (await p.waitForSelector('#new-token-secret')).textContent().then((t) => t!.trim());
    const token = await secret;
    expect(token.length).toBeGreaterThan(20);
    expect((await fetch(`${gw.url}/gateways`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const row = p.locator('tr', { has: p.locator('td:text-is("ci-bot")') });
    expect(await row.textContent()).toMatch(/viewer.*active/);
    await screenshots(p, 'tokens');
    await expectAccessible(p, 'tokens');
    // Shown once: after a reload the secret is nowhere, in the page or in anything the page read since.
    const before = seen.length;
    await p.reload();
    await p.waitForSelector('td:text-is("ci-bot")');
    expect(await p.content()).not.toContain(token);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.slice(before).join('\n')).toContain('ci-bot');
    expect(seen.slice(before).join('\n')).not.toContain(token);
    // A bad field is shown, not swallowed.
    await p.fill('#token-name', 'bad name!');
    await p.click('button:has-text("Mint token")');
    await p.waitForSelector('#minted .alert:has-text("$.name")');
    // Revoke after confirmation: the token stops working.
    await p.click('button[aria-label="Revoke ci-bot"]');
    await p.waitForSelector('dialog[open]');
    await p.click('dialog button:has-text("Revoke")');
    await p.waitForSelector('text=Revoked ci-bot.');
    expect(await p.locator('tr', { has: p.locator('td:text-is("ci-bot")') }).textContent()).toContain('revoked');
    expect((await fetch(`${gw.url}/gateways`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    // The audit trail: filter by kind, then by action, then page through two at a time.
    await p.goto(`${gw.url}/admin#/audit`);
    await p.waitForSelector('h1:has-text("Audit trail")');
    await p.fill('#audit-kind', 'tokens');
    await p.click('button:has-text("Apply filters")');
    await p.waitForSelector('td:text-is("revoke")');
    const actions = await p.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(actions).toContain('create');
    expect(new Set(await p.locator('tbody tr td:nth-child(4)').allTextContents())).toEqual(new Set(['tokens']));
    await screenshots(p, 'audit');
    await expectAccessible(p, 'audit trail');
    await p.fill('#audit-action', 'revoke');
    await p.click('button:has-text("Apply filters")');
    await p.waitForSelector('text=1 events on this page');
    expect(await p.locator('tbody tr').count()).toBe(1);
    await p.fill('#audit-action', '');
    await p.fill('#audit-kind', '');
    await p.selectOption('#audit-limit', '2');
    await p.click('button:has-text("Apply filters")');
    await p.waitForSelector('text=page 1; 2 events');
    const first = await p.locator('tbody tr').first().textContent();
    await p.click('button:has-text("Next page")');
    await p.waitForSelector('text=page 2; 2 events');
    expect(await p.locator('tbody tr').first().textContent()).not.toBe(first);
    await p.click('button:has-text("Previous page")');
    await p.waitForSelector('text=page 1; 2 events');
    expect(await p.locator('tbody tr').first().textContent()).toBe(first);
    await p.close();
  });

  it('signs out: the old cookie stops working at once', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'mcpgw_session')!;
    await page.goto(`${gw.url}/admin#/`);
    await page.click('button:has-text("Sign out")');
    await page.waitForSelector('h1:has-text("Sign in")');
    const after = await fetch(`${gw.url}/gateways`, { headers: { cookie: `mcpgw_session=${cookie.value}` } });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('SESSION_EXPIRED');
  });

  it('can be used with the keyboard alone: sign in, reach a section, open a form', async () => {
    const p = await context.newPage();
    await p.goto(`${gw.url}/admin`);
    await p.waitForSelector('#user:focus');
    await p.keyboard.type(ADMIN.user);
    await p.keyboard.press('Tab');
    await p.keyboard.type(ADMIN.password);
    await p.keyboard.press('Enter');
    await p.waitForSelector('h1:has-text("Overview")');
    // Tab from the top of the document to the "Prompts" link and follow it.
    await p.focus('body');
    for (let i = 0; i < 20; i += 1) {
      await p.keyboard.press('Tab');
      if ((await p.evaluate<string | undefined>('document.activeElement?.textContent')) === 'Prompts') break;
    }
    await p.keyboard.press('Enter');
    await p.waitForSelector('h1:has-text("Prompts")');
    await expectAccessible(p, 'prompts list');
    for (let i = 0; i < 30; i += 1) {
      await p.keyboard.press('Tab');
      if ((await p.evaluate<string | undefined>('document.activeElement?.textContent')) === 'New prompt') break;
    }
    await p.keyboard.press('Enter');
    await p.waitForSelector('h1:has-text("New prompt")');
    // Compose a server with the keyboard alone: name, search, tick, save.
    await p.goto(`${gw.url}/admin#/compose/new`);
    await p.waitForSelector('#server-name');
    await tabTo(p, "document.activeElement?.id === 'server-name'");
    await p.keyboard.type('keyboard-made');
    await tabTo(p, "document.activeElement?.type === 'search'");
    await p.keyboard.type('everything__echo');
    await tabTo(p, "document.activeElement?.value === 'everything__echo' && document.activeElement?.type === 'checkbox'");
    await p.keyboard.press('Space');
    await tabTo(p, "document.activeElement?.textContent === 'Save server'");
    await p.keyboard.press('Enter');
    await p.waitForSelector('text=Saved. Endpoint');
    expect(((await (await gw.api('/servers/keyboard-made')).json()) as { tools: string[] }).tools).toEqual(['everything__echo']);
    await p.close();
  });

  it('serves the whole page as a few static files, under 250 KB of gzipped JavaScript, with a strict CSP', async () => {
    const response = await fetch(`${gw.url}/admin`);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\//);
    const js = readdirSync(`${root}dist/ui`).filter((f) => f.endsWith('.js'));
    let gz = 0;
    for (const f of js) {
      const body = await (await fetch(`${gw.url}/admin/assets/${f}`)).text();
      expect(body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
      gz += gzipSync(body).length;
    }
    expect(gz).toBeLessThan(250 * 1024);
    expect((await fetch(`${gw.url}/admin/assets/..%2Fhttp%2Fapp.js`)).status).toBe(404);
  });
});

describe.skipIf(!hasBrowser)('the admin page in trial mode (loopback, no credentials)', () => {
  it('opens without sign-in and says so on every page', async () => {
    const db = await STORES[0]!.create();
    const gw = await startGatewayProcess(db.url, TEST_SECRET, { BASIC_AUTH_USER: '', BASIC_AUTH_PASSWORD: '', JWT_SECRET_KEY: '' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      for (const hash of ['#/', '#/k/gateways', '#/k/servers', '#/k/tools', '#/k/prompts', '#/k/resources', '#/k/resources/new', '#/compose/new', '#/test', '#/transfer', '#/plan', '#/tokens', '#/audit']) {
        await page.goto(`${gw.url}/admin${hash}`);
        await page.waitForSelector('main h1:not(:has-text("Loading"))');
        expect(await page.textContent('#banner'), hash).toContain('Trial mode');
        expect(await page.locator('#user').count()).toBe(0);
        await expectAccessible(page, `trial ${hash}`);
      }
      await page.goto(`${gw.url}/admin#/`);
      await page.waitForSelector('h1:has-text("Overview")');
      await screenshots(page, 'trial-overview');
    } finally {
      await context.close();
      await gw.stop();
      await db.drop();
    }
  });
});

describe.skipIf(!hasBrowser || !postgresAvailable)('the composer and export/import on PostgreSQL', () => {
  it('composes and saves a virtual server, exports it, and imports it back after a dry run', async () => {
    const db = await STORES[1]!.create();
    const gw = await startGatewayProcess(db.url, TEST_SECRET);
    const context = await browser.newContext({ acceptDownloads: true });
    context.setDefaultTimeout(10_000);
    try {
      await gw.api('/tools', { method: 'POST', body: { name: 'pg-one', url: 'http://127.0.0.1:9/one' } });
      await gw.api('/tools', { method: 'POST', body: { name: 'pg-two', url: 'http://127.0.0.1:9/two' } });
      const page = await signIn(context, gw.url);
      await page.goto(`${gw.url}/admin#/compose/new`);
      await page.waitForSelector('#server-name');
      await page.fill('#server-name', 'pg-demo');
      await page.check('input[value="pg-two"]');
      await page.click('button:has-text("Save server")');
      await page.waitForSelector('text=Saved. Endpoint');
      expect(((await (await gw.api('/servers/pg-demo')).json()) as { tools: string[] }).tools).toEqual(['pg-two']);
      await page.goto(`${gw.url}/admin#/transfer`);
      await page.waitForSelector('h1:has-text("Export and import")');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download export")')]);
      const file = await download.path();
      expect((await gw.api('/servers/pg-demo', { method: 'DELETE' })).status).toBe(204);
      await page.setInputFiles('#import-file', file);
      await page.click('button:has-text("Preview (dry run)")');
      await page.waitForSelector('text=Dry run: nothing was written');
      expect(await page.locator('tr', { has: page.locator('td:text-is("pg-demo")') }).textContent()).toContain('create');
      expect((await gw.api('/servers/pg-demo')).status).toBe(404);
      await page.click('#import-apply');
      await page.waitForSelector('h3:has-text("Imported")');
      expect(((await (await gw.api('/servers/pg-demo')).json()) as { tools: string[] }).tools).toEqual(['pg-two']);
    } finally {
      await context.close();
      await gw.stop();
      await db.drop();
    }
  });
});

// The import planner's review on each store: a Postman collection pointing at an HTTP API this test
// runs is uploaded, its drafts written disabled, one approved from the page (import activate
// --approve's rules and audit record), then served and called in the tool tester.
describe.skipIf(!hasBrowser)('the import planner review: upload, TrustCards, approve, served', () => {
  for (const store of STORES) {
    it.skipIf(store.name === 'postgres' && !postgresAvailable)(`approves a draft from the page and serves it (${store.name})`, async () => {
      const api = await startHttp((req, _body, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ order: { id: decodeURIComponent((req.url ?? '').split('/').pop()!), status: 'shipped' } }));
      });
      const dir = mkdtempSync(join(tmpdir(), 'mcpgw-ui-activate-'));
      const collection = join(dir, 'orders.json');
      writeFileSync(collection, readFileSync(join(root, 'examples/import/postman-v21.json'), 'utf8').replace('https://api.shop.example.com/v1', `${api.url}/v1`));
      const db = await store.create();
      const gw = await startGatewayProcess(db.url, TEST_SECRET, { CAPABILITY_DIRS: join(dir, 'capabilities'), IMPORT_DRAFTS_DIR: join(dir, 'drafts'), ORDERS_TOKEN: 'orders-token-for-the-ui-test' });
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(15_000);
      try {
        const page = await signIn(context, gw.url);
        await page.goto(`${gw.url}/admin#/plan`);
        await page.waitForSelector('text=No drafts yet');
        await page.selectOption('#plan-kind', 'postman');
        await page.fill('#plan-name', 'orders');
        await page.setInputFiles('#plan-file', collection);
        await page.click('button:has-text("Write drafts for review")');
        await page.waitForSelector('text=disabled drafts (plan');
        // TrustCards of the plan, and the manifest's drafts with their verdicts.
        expect(await page.locator('details.trust').count()).toBeGreaterThan(5);
        const section = page.locator('section[aria-label^="Drafts of plan"]');
        expect(await section.locator('tr', { has: page.locator('td:text-is("purge_all_orders")') }).textContent()).toContain('blocked drafts cannot be approved');
        expect((await (await gw.api('/tools/get_order')).json()) as { code?: string }).toMatchObject({ code: 'TOOL_NOT_FOUND' });
        if (store.name === 'sqlite') {
          await screenshots(page, 'import-review');
          await expectAccessible(page, 'import review');
        }
        // Writing the same plan again answers the drafts already written.
        await page.click('button:has-text("Write drafts for review")');
        await page.waitForSelector('text=already written');
        // A blocked draft is refused by the API too, and nothing moves.
        const manifests = (await (await gw.api('/admin/api/import-drafts')).json()) as { id: string }[];
        expect(manifests).toHaveLength(1);
        const refused = await gw.api(`/admin/api/import-drafts/${manifests[0]!.id}/activate`, { method: 'POST', body: { drafts: ['purge_all_orders'], approve: true } });
        expect(refused.status).toBe(409);
        expect(((await refused.json()) as { detail: string }).detail).toContain('IMPORT_NOT_APPROVED');
        const unapproved = await gw.api(`/admin/api/import-drafts/${manifests[0]!.id}/activate`, { method: 'POST', body: { drafts: ['get_order'] } });
        expect(unapproved.status).toBe(409);
        expect(existsSync(join(dir, 'capabilities', 'get_order.yaml'))).toBe(false);
        // Bad input is a coded 4xx naming what is wrong.
        const bad = await gw.api(`/admin/api/import-drafts/${manifests[0]!.id}/activate`, { method: 'POST', body: { drafts: 'get_order', approve: true } });
        expect(bad.status).toBe(422);
        expect(JSON.stringify(await bad.json())).toContain('$.drafts');
        expect(((await (await gw.api('/admin/api/import-drafts/0123456789ab/activate', { method: 'POST', body: { approve: true } })).json()) as { code: string }).code).toBe('IMPORT_DRAFTS_NOT_FOUND');
        // Approve one from the page.
        await page.click('button[aria-label="Approve activation of get_order"]');
        await page.waitForSelector('dialog[open]');
        await page.click('dialog button:has-text("Approve")');
        await page.waitForSelector('#approve-status a:has-text("Call get_order in the tool tester")', { timeout: 20_000 });
        expect(await section.locator('tr', { has: page.locator('td:text-is("get_order")') }).textContent()).toMatch(/active.*by admin/);
        expect(readFileSync(join(dir, 'capabilities', 'get_order.yaml'), 'utf8')).toContain('enabled: true');
        // The same audit record as the CLI's, mirrored into the trail with the signed-in user as actor.
        const audit = await waitFor(async () => {
          const events = (await (await gw.api('/audit?kind=capabilities')).json()) as { action: string; actor_subject: string; object_name: string }[];
          return events.find((e) => e.action === 'activate') ?? undefined;
        }, 'the activation in the audit trail');
        expect(audit).toMatchObject({ actor_subject: ADMIN.user, object_name: 'get_order' });
        expect(readFileSync(join(dir, 'capabilities', 'capability-audit.jsonl'), 'utf8')).toContain('"action":"activate"');
        // Served: call it in the tester, through the real HTTP API.
        await page.click('#approve-status a');
        await page.waitForSelector('form [name=orderId]');
        await page.fill('form [name=orderId]', 'ord-42');
        await page.click('button:has-text("Call tool")');
        await page.waitForSelector('section[aria-label=Result] pre:has-text("shipped")');
        expect(api.requests.at(-1)!.url).toBe('/v1/orders/ord-42');
        expect(api.requests.at(-1)!.headers.authorization).toBe('Bearer orders-token-for-the-ui-test');
        // A viewer sees the drafts but no approval button, and the API refuses the viewer's forged approval.
        const minted = (await (await gw.api('/tokens', { method: 'POST', body: { name: 'plan-viewer', role: 'viewer' } })).json()) as { token: string };
        const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        try {
          const s = await viewer.request.post(`${gw.url}/admin/session`, { headers: { authorization: `Bearer ${minted.token}` } });
          const { csrf_token: csrf } = (await s.json()) as { csrf_token: string };
          const forged = await viewer.request.post(`${gw.url}/admin/api/import-drafts/${manifests[0]!.id}/activate`, { headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' }, data: { drafts: ['list_orders'], approve: true } });
          expect(forged.status()).toBe(403);
          expect(((await forged.json()) as { code: string }).code).toBe('FORBIDDEN');
          const p = await viewer.newPage();
          await p.goto(`${gw.url}/admin#/plan`);
          await p.waitForSelector('td:text-is("list_orders")');
          expect(await p.locator('button:has-text("Approve activation"), button:has-text("Write drafts")').count()).toBe(0);
          expect(existsSync(join(dir, 'capabilities', 'list_orders.yaml'))).toBe(false);
        } finally {
          await viewer.close();
        }
      } finally {
        await context.close();
        await gw.stop();
        await db.drop();
        await api.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
