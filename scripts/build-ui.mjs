// Build the admin page: compile src/ui/*.ts for the browser and copy its static files to dist/ui/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'src/ui/tsconfig.json'], { cwd: root, stdio: 'inherit' });
mkdirSync(`${root}dist/ui`, { recursive: true });
for (const file of ['index.html', 'admin.css']) copyFileSync(`${root}src/ui/${file}`, `${root}dist/ui/${file}`);
