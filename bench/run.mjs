#!/usr/bin/env node
// Runs every bench/*.bench.mjs in its own process (one at a time: the machine has two cores),
// passes its JSON lines through, then prints a readable table of all figures.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
// Opt-in benches run only when named (`npm run bench -- soak`): the soak takes 10 minutes.
const OPT_IN = ['soak.bench.mjs'];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => (only.length === 0 ? !OPT_IN.includes(f) : only.some((o) => f.includes(o))))
  .sort();

const figures = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`# ${file}\n`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(here, file)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        process.stdout.write(line + '\n');
        try {
          const figure = JSON.parse(line);
          if (figure && typeof figure.name === 'string') figures.push(figure);
        } catch {
          // not a figure line
        }
      }
    });
    child.on('exit', resolve);
  });
  if (code !== 0) {
    failed = true;
    process.stderr.write(`# ${file} exited with ${code}\n`);
  }
}

const rows = figures.map((f) => [f.name, fmt(f.value), f.unit ?? '', f.baseline === undefined ? '' : fmt(f.baseline), f.ratio === undefined ? '' : fmt(f.ratio)]);
const header = ['figure', 'value', 'unit', 'baseline', 'ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
process.stdout.write(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${rows.map(line).join('\n')}\n`);
process.exit(failed ? 1 : 0);

function fmt(n) {
  if (typeof n !== 'number') return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}
