// Build the admin page: compile src/ui/*.ts for the browser and copy its static files to dist/ui/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'src/ui/tsconfig.json'], { cwd: root, stdio: 'inherit' });
mkdirSync(`${root}dist/ui`, { recursive: true });
copyFileSync(`${root}src/ui/admin.css`, `${root}dist/ui/admin.css`);
// Every module is announced up front, so the browser fetches them at once rather than import by import.
const modules = readdirSync(`${root}dist/ui`).filter((f) => f.endsWith('.js')).sort();
const preload = modules.map((f) => `<link rel="modulepreload" href="/admin/assets/${f}">`).join('\n');
writeFileSync(`${root}dist/ui/index.html`, readFileSync(`${root}src/ui/index.html`, 'utf8').replace('<!-- modulepreload -->', preload));
