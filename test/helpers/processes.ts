import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ADMIN, JWT_SECRET } from './gateway.js';

/** The compiled CLI, built by the global setup. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A free loopback port (asked of the OS, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A `mcpgateway serve` child process with its own database. */
export interface GatewayProcess {
  url: string;
  pid: number;
  /** null while it runs; its exit code, or the signal that ended it. */
  exited(): number | string | null;
  /** Every line it wrote to stdout and stderr so far. */
  output(): string;
  /** Admin API fetch with Basic credentials. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

/** Start `node dist/cli/main.js serve` on a free port and wait until GET /ready answers 200. */
export async function startGatewayProcess(databaseUrl: string, secret: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      AUTH_ENCRYPTION_SECRET: secret,
      BASIC_AUTH_USER: ADMIN.user,
      BASIC_AUTH_PASSWORD: ADMIN.password,
      JWT_SECRET_KEY: JWT_SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, child, () => output);
  const authorization = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
  return {
    url,
    pid: child.pid!,
    exited: () => child.exitCode ?? child.signalCode ?? null,
    output: () => output,
    api(path, init = {}) {
      const headers: Record<string, string> = { authorization };
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      return fetch(url + path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    },
    stop: () => stopChild(child),
  };
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${output()}`);
    try {
      if ((await fetch(`${url}/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gateway at ${url} was not ready in time: ${output()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  // A child killed by a signal (a test's SIGKILL) has exitCode null and signalCode set: its 'exit'
  // was emitted already, so waiting for another would hang.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI as a child process against a gateway (MCPGATEWAY_URL + Basic credentials). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The Admin API writes (method and path) a gateway process logged, in order. */
export function writesLogged(output: string): string[] {
  const writes: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; req?: { method?: string; url?: string } };
      if (entry.msg === 'incoming request' && entry.req?.method && ['POST', 'PATCH', 'PUT', 'DELETE'].includes(entry.req.method)) {
        writes.push(`${entry.req.method} ${entry.req.url}`);
      }
    } catch {
      // not a log line
    }
  }
  return writes;
}
