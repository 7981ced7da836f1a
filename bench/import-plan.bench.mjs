// Safe import planner: preview of GitHub's GraphQL schema (target ≤ 2 s) and of GitHub's REST
// description (target ≤ 4 s), end to end through the real CLI, each with the time to parse the
// same file in a bare Node process, measured in the same run, as the baseline.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const emit = (figure) => process.stdout.write(JSON.stringify(figure) + '\n');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(args) {
  const t = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - t;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const cases = [
  {
    name: "import preview: GitHub's GraphQL schema (SDL)",
    file: 'node_modules/@octokit/graphql-schema/schema.graphql',
    args: ['--kind', 'graphql', '--endpoint', 'https://api.github.com/graphql'],
    parse: "require('graphql').parse(require('fs').readFileSync(process.argv[1], 'utf8'))",
  },
  {
    // The largest Postman collection at hand: none of the npm packages looked at ships one
    // (postman-to-openapi, @readme/postman-to-openapi, n8n-nodes-commercetools: no collection inside).
    name: 'import preview: Postman collection examples/import/postman-v21.json (v2.1)',
    file: 'examples/import/postman-v21.json',
    args: ['--kind', 'postman'],
    parse: "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))",
  },
  {
    name: "import preview: GitHub's REST description",
    file: 'node_modules/@octokit/openapi/generated/api.github.com.json',
    args: ['--kind', 'openapi'],
    parse: "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))",
  },
];

for (const c of cases) {
  const baseline = [];
  const preview = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(timed(['-e', c.parse, c.file]));
    preview.push(timed(['dist/cli/main.js', 'import', 'preview', ...c.args, c.file, '-f', 'json']));
  }
  const value = median(preview);
  const base = median(baseline);
  emit({ name: `${c.name}, end to end, median of ${RUNS}`, value: value / 1000, unit: 's', baseline: base / 1000, ratio: value / base });
}
