// The admin page in Chromium (Debian's /usr/bin/chromium, never downloaded): first load of /admin
// over loopback (bytes transferred, time until the overview is drawn), and the overview of a
// gateway holding 1,000 gateways and 10,000 tools (time until drawn, DOM rows). Baseline: the
// same data fetched by Node without a browser, so the ratio is what parsing and drawing cost.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../dist/config.js';
import { startGateway } from '../dist/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const GATEWAYS = Number(process.env.BENCH_UI_GATEWAYS ?? 1000);
const TOOLS = Number(process.env.BENCH_UI_TOOLS ?? 10_000);
const AUTH = { user: 'bench', password: 'bench-password-123' };
const authorization = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;
const emit = (figure) => process.stdout.write(JSON.stringify(figure) + '\n');

if (!existsSync(CHROMIUM)) {
  process.stderr.write(`${CHROMIUM} is missing (apt-get install -y chromium): admin page bench skipped\n`);
  process.exit(process.env.CI === 'true' ? 1 : 0);
}

const dir = mkdtempSync(join(tmpdir(), 'mcpgw-bench-ui-'));
const gw = await startGateway(loadConfig({
  HOST: '127.0.0.1', PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'g.db')}`, LOG_LEVEL: 'silent',
  AUTH_ENCRYPTION_SECRET: 'bench-secret-0123456789abcdef-0123456789', BASIC_AUTH_USER: AUTH.user, BASIC_AUTH_PASSWORD: AUTH.password,
}));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });

/** Sign in through the API, then time one load of the overview in a fresh page; bytes from the network. */
async function loadOverview() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const res = await fetch(`${gw.url}/admin/session`, { method: 'POST', headers: { authorization } });
  const cookie = /mcpgw_session=([^;]+)/.exec(res.headers.get('set-cookie'))[1];
  await context.addCookies([{ name: 'mcpgw_session', value: cookie, url: gw.url }]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0;
  let scriptBytes = 0;
  const types = new Map();
  cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    if (types.get(e.requestId) === 'Script') scriptBytes += e.encodedDataLength;
  });
  const t = performance.now();
  await page.goto(`${gw.url}/admin#/`);
  await page.waitForSelector('h1:text-is("Overview")');
  const ms = performance.now() - t;
  await page.waitForSelector('main ul:not([aria-busy])', { state: 'attached' });
  // In-page marks (since navigation start): the test driver's polling waits on a busy main thread.
  const marks = await page.evaluate(`Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]))`);
  const rows = await page.locator('tr').count();
  await context.close();
  return { outside: ms, ms: marks['mcpgw:overview-drawn'], complete: marks['mcpgw:overview-complete'], bytes, scriptBytes, rows };
}

try {
  // Warm the browser once (its own start-up is not the page's).
  await loadOverview();
  const empty = await loadOverview();
  emit({ name: 'admin page: first load of /admin, empty gateway (bytes over loopback)', value: empty.bytes, unit: 'bytes' });
  emit({ name: 'admin page: JavaScript on first load (uncompressed, loopback sends no gzip)', value: empty.scriptBytes, unit: 'bytes' });
  emit({ name: 'admin page: first load until the overview is drawn (in-page, since navigation)', value: empty.ms, unit: 'ms' });
  emit({ name: 'admin page: first load until the driver sees the overview', value: empty.outside, unit: 'ms' });

  for (let i = 0; i < GATEWAYS; i++) {
    // Inactive: 1,000 real connection attempts would measure the network, not the page.
    await gw.registry.create('gateways', { name: `gw-${String(i).padStart(4, '0')}`, url: `http://127.0.0.1:9/${i}/mcp`, is_active: false });
  }
  for (let i = 0; i < TOOLS; i++) {
    await gw.registry.create('tools', { name: `tool-${String(i).padStart(5, '0')}`, url: 'http://127.0.0.1:9/x/{id}', description: 'Fetch one item', input_schema: { type: 'object', properties: { id: { type: 'string' } } } });
  }
  const t = performance.now();
  for (const path of ['/gateways?limit=50&include_inactive=true', '/servers?limit=50&include_inactive=true', '/tools?limit=10000&include_inactive=true', '/metrics']) {
    const r = await fetch(gw.url + path, { headers: { authorization } });
    await r.text();
  }
  const baseline = performance.now() - t;
  const samples = [];
  const completes = [];
  let rows = 0;
  for (let i = 0; i < 3; i++) {
    const r = await loadOverview();
    samples.push(r.ms);
    completes.push(r.complete);
    rows = r.rows;
  }
  const median = samples.sort((a, b) => a - b)[1];
  const medianComplete = completes.sort((a, b) => a - b)[1];
  emit({ name: `admin page: overview with ${GATEWAYS} gateways and ${TOOLS} tools, until drawn in-page (target <= 1000)`, value: median, unit: 'ms', baseline, ratio: median / baseline });
  emit({ name: 'admin page: that overview until its tool counts are filled in', value: medianComplete, unit: 'ms', baseline, ratio: medianComplete / baseline });
  emit({ name: 'admin page: table rows in that overview (paged, never one per object)', value: rows, unit: 'rows' });
} finally {
  await browser.close();
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
}
