import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { Store } from '../src/store/store.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { POSTGRES_URL, postgresAvailable, STORES, terminateGatewayConnections } from './helpers/stores.js';

const [sqliteStore, postgresStore] = STORES as [(typeof STORES)[0], (typeof STORES)[0]];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tool = (n: number) => ({
  id: `t${String(n).padStart(31, '0')}`,
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
  fields: { name: `tool-${n}`, url: 'http://127.0.0.1:9/x', integration_type: 'REST', tags: ['a'], is_active: true },
});

describe.skipIf(!postgresAvailable)('PostgreSQL connection lost mid-query', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('fails the cut transaction with STORE_UNAVAILABLE, writes nothing of it, replaces the client and keeps the process up', async () => {
    const db = await postgresStore.create();
    const store = await Store.open(db.url);
    try {
      const outcome = await store
        .transaction(async (repo) => {
          await repo.insert('tools', tool(1));
          // The client is checked out and idle in the transaction: the pool's idle handler does not cover it.
          expect(await terminateGatewayConnections(admin, db.url)).toBeGreaterThan(0);
          await sleep(200); // the socket closes and the client emits 'error' while checked out
          await repo.insert('tools', tool(2));
        })
        .then(
          () => 'committed',
          (error: unknown) => error,
        );
      expect(outcome).toBeInstanceOf(GatewayError);
      expect((outcome as GatewayError).code).toBe('STORE_UNAVAILABLE');
      expect((outcome as GatewayError).status).toBe(503);
      // A fresh client serves the next query; nothing of the cut transaction was written.
      expect(await store.count('tools')).toBe(0);
      expect(await store.ping()).toBe(true);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('answers a read made right after every pooled connection was killed (the read runs again on a fresh one)', async () => {
    const db = await postgresStore.create();
    const store = await Store.open(db.url);
    try {
      await store.insert('tools', tool(1));
      for (let round = 0; round < 5; round++) {
        // Ten reads at once leave ten idle clients in the pool; kill their backends, then read before
        // the sockets have reported the loss: without the retry, the read lands on a dead client.
        await Promise.all(Array.from({ length: 10 }, () => store.count('tools')));
        expect(await terminateGatewayConnections(admin, db.url)).toBeGreaterThan(0);
        const reads = await Promise.all([store.count('tools'), store.list('tools'), store.get('tools', 'tool-1')]);
        expect(reads[0]).toBe(1);
        expect(reads[1].map((t) => t.fields.name)).toEqual(['tool-1']);
        expect(reads[2]?.fields.name).toBe('tool-1');
      }
    } finally {
      await store.close();
      await db.drop();
    }
  });

  describe('through the HTTP API', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(postgresStore);
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('answers concurrent writers 201 or 503 STORE_UNAVAILABLE (never 500) while backends are killed, then recovers', async () => {
      let stop = false;
      let killed = 0;
      const killer = (async () => {
        while (!stop) {
          killed += await terminateGatewayConnections(admin, gw.db.url);
          await sleep(15);
        }
      })();
      const statuses: number[] = [];
      const acknowledged: string[] = [];
      const codes = new Set<string>();
      const writer = async (w: number) => {
        for (let i = 0; i < 25; i++) {
          const res = await gw.api('/tools', { method: 'POST', body: { name: `w${w}-${i}`, url: 'http://127.0.0.1:9/x', tags: ['x', `w${w}`] } });
          statuses.push(res.status);
          if (res.status !== 201) codes.add(String(((await res.json()) as { code?: string }).code));
          else {
            acknowledged.push(`w${w}-${i}`);
            await res.body?.cancel();
          }
        }
      };
      await Promise.all([0, 1, 2, 3, 4, 5].map(writer));
      stop = true;
      await killer;
      expect(killed).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
      expect([...codes].every((c) => c === 'STORE_UNAVAILABLE')).toBe(true);
      // Every acknowledged write is there (a 503 may still have committed: the kill can land after
      // COMMIT reached the server, before its answer came back) and every row is whole: its tags too.
      const listed = (await (await gw.api('/tools?include_inactive=true&limit=5000')).json()) as { name: string }[];
      const tagged = (await (await gw.api('/tools?include_inactive=true&tags=x&limit=5000')).json()) as unknown[];
      expect(listed.length).toBeGreaterThanOrEqual(acknowledged.length);
      expect(new Set(listed.map((t) => t.name))).toEqual(new Set([...listed.map((t) => t.name), ...acknowledged]));
      expect(tagged.length).toBe(listed.length);
      const ready = await fetch(`${gw.url}/ready`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { store: string }).store).toBe('up');
    });

    it('cuts a large POST /import mid-way: 503 and nothing half-written, or 200 and everything', async () => {
      const doc = { version: '2025-03-26', tools: Array.from({ length: 1500 }, (_, i) => ({ name: `imp-${i}`, url: 'http://127.0.0.1:9/x', tags: ['imp'] })) };
      let cut = 0;
      for (let attempt = 0; attempt < 4 && cut === 0; attempt++) {
        let stop = false;
        const killer = (async () => {
          await sleep(40 + attempt * 40);
          while (!stop) {
            if ((await terminateGatewayConnections(admin, gw.db.url)) > 0) return;
            await sleep(5);
          }
        })();
        const res = await gw.api('/import?conflict=skip', { method: 'POST', body: doc });
        stop = true;
        await killer;
        const imported = ((await (await gw.api('/tools?include_inactive=true&tags=imp&limit=5000')).json()) as unknown[]).length;
        if (res.status === 503) {
          expect(((await res.json()) as { code: string }).code).toBe('STORE_UNAVAILABLE');
          expect(imported).toBe(0);
          cut++;
        } else {
          expect(res.status).toBe(200);
          expect(imported).toBe(1500);
          for (const t of (await (await gw.api('/tools?include_inactive=true&tags=imp&limit=5000')).json()) as { id: string }[]) {
            await gw.api(`/tools/${t.id}`, { method: 'DELETE' });
          }
        }
      }
      expect(cut).toBeGreaterThan(0);
    });
  });
});

describe('SQLite locked by another connection', () => {
  it('waits up to SQLITE_BUSY_TIMEOUT_MS, then answers 503 STORE_UNAVAILABLE; writes again once the lock is gone', async () => {
    const gw = await startTestGateway(sqliteStore, { SQLITE_BUSY_TIMEOUT_MS: '300' });
    const other = new SQLite(gw.db.url.slice('sqlite:'.length));
    try {
      other.prepare('begin immediate').run(); // holds the write lock, as a second process would
      const started = Date.now();
      const res = await gw.api('/tools', { method: 'POST', body: { name: 'blocked', url: 'http://127.0.0.1:9/x' } });
      const waited = Date.now() - started;
      expect(res.status).toBe(503);
      const body = (await res.json()) as { code: string };
      expect(body.code).toBe('STORE_UNAVAILABLE');
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(4000); // the configured bound, not the 5 s default
      other.prepare('commit').run();
      expect((await gw.api('/tools', { method: 'POST', body: { name: 'free', url: 'http://127.0.0.1:9/x' } })).status).toBe(201);
      expect(((await (await gw.api('/tools')).json()) as { name: string }[]).map((t) => t.name)).toEqual(['free']);
    } finally {
      other.close();
      await gw.close();
    }
  });
});
