import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const EVERYTHING = `${root}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;
export const MEMORY = `${root}node_modules/@modelcontextprotocol/server-memory/dist/index.js`;
export const DYNAMIC = `${root}test/fixtures/dynamic-upstream.mjs`;
export const CONFORMANCE = `${root}test/fixtures/conformance-upstream.mjs`;
export const TASKS = `${root}test/fixtures/task-upstream.mjs`;
export const ASKING = `${root}test/fixtures/asking-upstream.mjs`;

/** A free loopback port (asked of the OS, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** server-everything over HTTP (`streamableHttp` or `sse`) as a child process, ready when it says so. */
export interface HttpUpstream {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startEverything(mode: 'streamableHttp' | 'sse', port?: number): Promise<HttpUpstream> {
  const chosen = port ?? (await freePort());
  const child = await startNode([EVERYTHING, mode], { PORT: String(chosen) }, /listening|running/i, `server-everything ${mode}`);
  return { port: chosen, child, stop: () => stopChild(child) };
}

/** The conformance fixture (test/fixtures/conformance-upstream.mjs) over Streamable HTTP on a free port. */
export async function startConformanceFixture(): Promise<HttpUpstream> {
  const port = await freePort();
  const child = await startNode([CONFORMANCE, String(port)], {}, /ready \d+/, 'the conformance fixture');
  return { port, child, stop: () => stopChild(child) };
}

/** The tasks fixture (test/fixtures/task-upstream.mjs, SDK 1.x task support) over Streamable HTTP on a free port; `--sep2663` adds the conformance tools. */
export async function startTaskFixture(flags: string[] = []): Promise<HttpUpstream> {
  const port = await freePort();
  const child = await startNode([TASKS, String(port), ...flags], {}, /ready \d+/, 'the tasks fixture');
  return { port, child, stop: () => stopChild(child) };
}

/** The asking fixture (test/fixtures/asking-upstream.mjs, SDK 1.x, stateful: state per Mcp-Session-Id) over Streamable HTTP on a free port. */
export async function startAskingFixture(): Promise<HttpUpstream> {
  const port = await freePort();
  const child = await startNode([ASKING, '--http', String(port)], {}, /ready \d+/, 'the asking fixture');
  return { port, child, stop: () => stopChild(child) };
}

/** `node ARGS` as a child process, ready once its stdout or stderr matches `ready`. */
async function startNode(args: string[], env: Record<string, string>, ready: RegExp, what: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 15_000);
    const check = (chunk: Buffer) => {
      if (ready.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

/** Stop a child by pid and wait for it to exit (SIGKILL after 3 s). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Whether a process id is still alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}
