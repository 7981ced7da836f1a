// Build the admin page: compile src/ui/*.ts for the browser and copy its static files to dist/ui/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'src/ui/tsconfig.json'], { cwd: root, stdio: 'inherit' });
mkdirSync(`${root}dist/ui`, { recursive: true });
copyFileSync(`${root}src/ui/admin.css`, `${root}dist/ui/admin.css`);
// The tester reads SSE with the gateway's own parser library: its ESM build (no imports of its own)
// is served beside the page's modules, and the page's bare specifier points at it.
copyFileSync(`${root}node_modules/eventsource-parser/dist/index.js`, `${root}dist/ui/eventsource-parser.js`);
for (const file of readdirSync(`${root}dist/ui`).filter((f) => f.endsWith('.js'))) {
  const path = `${root}dist/ui/${file}`;
  const text = readFileSync(path, 'utf8');
  if (text.includes("from 'eventsource-parser'")) writeFileSync(path, text.replaceAll("from 'eventsource-parser'", "from './eventsource-parser.js'"));
}
// Every module is announced up front, so the browser fetches them at once rather than import by import.
const modules = readdirSync(`${root}dist/ui`).filter((f) => f.endsWith('.js')).sort();
const preload = modules.map((f) => `<link rel="modulepreload" href="/admin/assets/${f}">`).join('\n');
writeFileSync(`${root}dist/ui/index.html`, readFileSync(`${root}src/ui/index.html`, 'utf8').replace('<!-- modulepreload -->', preload));
