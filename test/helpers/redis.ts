import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createClient } from 'redis';

/** The Redis tests use: TEST_REDIS_URL, else the machine's local server. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let status: Promise<{ available: boolean; url: string; reason?: string }> | undefined;

/** Whether Redis answers PING (asked once per process). */
export function redisStatus(): Promise<{ available: boolean; url: string; reason?: string }> {
  status ??= (async () => {
    const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 3000 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return { available: true, url: REDIS_URL };
    } catch (error) {
      return { available: false, url: REDIS_URL, reason: (error as Error).message };
    } finally {
      try {
        client.destroy();
      } catch {
        // never connected
      }
    }
  })();
  return status;
}

/** A redis-server of the test's own (no persistence) on a port it picks; stop and start it again on the same port. */
export interface OwnRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Whether the redis-server binary is installed (the fault tests spawn their own). */
export function redisServerBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/redis-server`)) return `${dir}/redis-server`;
  }
  return undefined;
}

export async function startOwnRedis(port: number): Promise<OwnRedis> {
  const binary = redisServerBinary();
  if (!binary) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  let child: ChildProcess | undefined;
  const own: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const started = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start: ${seen}`)), 10_000);
        started.stdout!.on('data', (chunk: Buffer) => {
          seen += String(chunk);
          if (/Ready to accept connections/.test(seen)) {
            clearTimeout(timer);
            resolve();
          }
        });
        started.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server on ${port} exited with ${code}: ${seen}`));
        });
      });
      started.removeAllListeners('exit');
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
  };
  await own.start();
  return own;
}
