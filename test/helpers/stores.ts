import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applicationName } from '../../src/store/store.js';

/** The PostgreSQL tests use: TEST_DATABASE_URL, else the machine's local server. */
export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let status: Promise<{ available: boolean; url: string; reason?: string }> | undefined;

/** Whether PostgreSQL answers (asked once per process). */
export function postgresStatus(): Promise<{ available: boolean; url: string; reason?: string }> {
  status ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return { available: true, url: POSTGRES_URL };
    } catch (error) {
      return { available: false, url: POSTGRES_URL, reason: (error as Error).message };
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return status;
}

/** A fresh, empty database for one test: its URL and how to remove it. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface StoreKind {
  name: 'sqlite' | 'postgres';
  /** Whether this store can run here (PostgreSQL may be absent outside CI). */
  available(): Promise<boolean>;
  create(): Promise<TestDatabase>;
}

const sqlite: StoreKind = {
  name: 'sqlite',
  available: async () => true,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-test-'));
    return { url: `sqlite:${join(dir, 'gateway.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgres: StoreKind = {
  name: 'postgres',
  available: async () => (await postgresStatus()).available,
  async create() {
    // Each test gets its own schema, so runs never see each other's rows.
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('schema', schema);
    return {
      url: url.toString(),
      async drop() {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        try {
          await client.query(`drop schema if exists "${schema}" cascade`);
        } finally {
          await client.end();
        }
      },
    };
  },
};

/** Both stores; suites run once per store with `describe.each(STORES)`. */
export const STORES: StoreKind[] = [sqlite, postgres];

/** Whether a store is available; synchronous callers use this after global setup has run. */
export const postgresAvailable = (await postgresStatus()).available;

/** Terminate every backend the gateway opened on this schema (found by its application_name); returns how many. */
export async function terminateGatewayConnections(admin: pg.Client, databaseUrl: string): Promise<number> {
  const schema = new URL(databaseUrl).searchParams.get('schema') ?? undefined;
  const result = await admin.query<{ ok: boolean }>(
    'select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
    [applicationName(schema)],
  );
  return result.rows.filter((r) => r.ok).length;
}
