import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/mcp.js';
import { REDIS_URL, redisStatus } from './helpers/redis.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';

// Two instances on one PostgreSQL database and one Redis: a token revoked through one stops
// working on the other within a second.
const redisAvailable = (await redisStatus()).available;
const postgres = STORES[1]!;

async function onRedis(gw: TestGateway): Promise<boolean> {
  const res = await fetch(`${gw.url}/ready`);
  return res.status === 200 && ((await res.json()) as { events: string }).events === 'redis';
}

describe.skipIf(!redisAvailable || !postgresAvailable)('access across two instances', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  const prefix = `test-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    db = await postgres.create();
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: prefix };
    a = await startTestGateway(postgres, env, db);
    b = await startTestGateway(postgres, env, db);
    await waitFor(async () => (await onRedis(a)) && (await onRedis(b)), 'both instances on redis');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('revokes a token on every instance within a second', async () => {
    const created = (await (await a.api('/tokens', { method: 'POST', body: { name: 'roaming', role: 'viewer' } })).json()) as { id: string; token: string };
    const onB = () => fetch(`${b.url}/tools`, { headers: { authorization: `Bearer ${created.token}` } });
    // B has read and cached the verdict.
    for (let i = 0; i < 3; i++) expect((await onB()).status).toBe(200);
    expect((await a.api(`/tokens/${created.id}`, { method: 'DELETE' })).status).toBe(200);
    const revokedAt = Date.now();
    await waitFor(async () => (await onB()).status === 401, 'the revocation on B', 1000);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });
});
