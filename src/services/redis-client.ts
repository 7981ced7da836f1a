import type { Logger } from 'pino';
import type { createClient } from 'redis';

/**
 * A Redis client for one job of the gateway's (rate limits, session records): it connects and
 * reconnects in the background (200 ms doubling to 30 s), fails commands at once while
 * disconnected (no offline queue, so nothing waits on Redis), and logs `warning` once per outage,
 * never the URL. `closed` says when the owner has shut it down (no warning then).
 */
export function backgroundRedis(connect: typeof createClient, url: string, logger: Logger, warning: string, closed: () => boolean) {
  const client = connect({ url, socket: { reconnectStrategy: (n: number) => Math.min(200 * 2 ** Math.min(n, 8), 30_000), connectTimeout: 5000 }, disableOfflineQueue: true });
  let warned = false;
  client.on('error', (error: Error) => {
    if (closed() || warned) return;
    warned = true;
    logger.warn({ err: error.message }, warning);
  });
  client.on('ready', () => {
    warned = false;
  });
  void client.connect().catch(() => undefined);
  return client;
}

export type RedisClient = ReturnType<typeof backgroundRedis>;
