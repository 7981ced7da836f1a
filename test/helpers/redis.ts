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
