import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import type { StoreKind, TestDatabase } from './stores.js';

export const TEST_SECRET = 'test-encryption-secret-0123456789abcdef';
export const ADMIN = { user: 'admin', password: 'correct-horse-battery-staple' };
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';

/** A gateway started in this process on a free loopback port, with its log lines captured. */
export interface TestGateway {
  gateway: Gateway;
  url: string;
  db: TestDatabase;
  /** Every log line written so far. */
  logs(): string;
  /** fetch with admin Basic credentials and JSON by default. */
  api(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestGateway(
  store: StoreKind,
  env: Record<string, string> = {},
  db?: TestDatabase,
): Promise<TestGateway> {
  const database = db ?? (await store.create());
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    AUTH_ENCRYPTION_SECRET: TEST_SECRET,
    BASIC_AUTH_USER: ADMIN.user,
    BASIC_AUTH_PASSWORD: ADMIN.password,
    JWT_SECRET_KEY: JWT_SECRET,
    LOG_LEVEL: 'trace',
    ...env,
  });
  const gateway = await startGateway(config, { logStream });
  const url = gateway.url;
  const authorization = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
  return {
    gateway,
    url,
    db: database,
    logs: () => lines.join(''),
    api(path, init = {}) {
      const headers: Record<string, string> = { authorization, ...init.headers };
      let body: string | undefined = init.raw;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      return fetch(url + path, { method: init.method ?? 'GET', headers, body });
    },
    async close() {
      await gateway.close();
      if (!db) await database.drop();
    },
  };
}
