import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'dist/cli/main.js');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-cli-'));
  dirs.push(dir);
  return dir;
}

/** Run the real binary to completion. */
function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

describe('mcpgateway CLI', () => {
  it('prints its version with --version and exits 0', () => {
    const result = run(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each([[['--help']], [['serve', '--help']], [['token', '--help']], [['token', 'create', '--help']]])('answers %j with usage and exit 0', (args) => {
    const result = run(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: mcpgateway/);
  });

  it('exits 2 with a hint on an unknown command or option', () => {
    const unknown = run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
    const option = run(['serve', '--colour']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/unknown option/);
  });

  it('exits 2 and prints usage when run without a command', () => {
    const result = run([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/Usage: mcpgateway/);
  });

  describe('token create', () => {
    const secret = 'cli-test-jwt-secret-0123456789abcdef';

    it('prints an HS256 token for the subject that verifies with JWT_SECRET_KEY', async () => {
      const result = run(['token', 'create', '--sub', 'deploy-bot', '--exp', '2h'], { JWT_SECRET_KEY: secret });
      expect(result.code).toBe(0);
      const { payload, protectedHeader } = await jwtVerify(result.stdout.trim(), new TextEncoder().encode(secret));
      expect(protectedHeader.alg).toBe('HS256');
      expect(payload.sub).toBe('deploy-bot');
      expect(payload.exp! - payload.iat!).toBe(7200);
    });

    it('exits 3 when JWT_SECRET_KEY is not set', () => {
      const result = run(['token', 'create', '--sub', 'x']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/JWT_SECRET_KEY is not set/);
    });

    it('exits 2 on a bad --exp or a missing --sub', () => {
      expect(run(['token', 'create', '--sub', 'x', '--exp', 'forever'], { JWT_SECRET_KEY: secret }).code).toBe(2);
      expect(run(['token', 'create'], { JWT_SECRET_KEY: secret }).code).toBe(2);
    });
  });

  describe('serve', () => {
    it('becomes ready on a fresh SQLite file and stops cleanly on SIGTERM', async () => {
      const dir = tempDir();
      const port = await freePort();
      const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--database-url', `sqlite:${join(dir, 'gw.db')}`], {
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += String(d)));
      child.stderr.on('data', (d: Buffer) => (output += String(d)));
      try {
        let ready = false;
        for (let i = 0; i < 100 && !ready; i++) {
          ready = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false);
          if (!ready) await new Promise((r) => setTimeout(r, 100));
        }
        expect(ready, output).toBe(true);
        // Loopback with no secrets configured: accepted, with warnings that say so.
        expect(output).toMatch(/AUTH_ENCRYPTION_SECRET is not set.*loopback/);
      } finally {
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
    });

    it('refuses to listen beyond loopback with weak secrets, exit 3 and the reason', () => {
      const result = run(['serve', '--host', '0.0.0.0', '--port', '0', '--database-url', 'sqlite::memory:'], { AUTH_ENCRYPTION_SECRET: 'short' });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/refusing to listen on 0\.0\.0\.0.*AUTH_ENCRYPTION_SECRET is shorter than 32 bytes/);
      expect(result.stderr).not.toContain('short"');
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });

    it('exits 3 with a clear message for an unusable DATABASE_URL', () => {
      const result = run(['serve', '--port', '0', '--database-url', 'mysql://localhost/db']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/DATABASE_URL must start with sqlite: or postgres:\/\//);
    });

    it('exits non-zero without a stack trace when the database cannot be reached', () => {
      const result = run(['serve', '--port', '0', '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot prepare the database postgres:/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it('exits 3 when the port is taken', async () => {
      const port = await freePort();
      const blocker = createServer().listen(port, '127.0.0.1');
      await new Promise((r) => blocker.once('listening', r));
      try {
        const result = run(['serve', '--port', String(port), '--database-url', 'sqlite::memory:']);
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/already in use/);
      } finally {
        blocker.close();
      }
    });
  });
});
