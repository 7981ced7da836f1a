import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';

// MCP protocol endpoints are described in docs/mcp.md, not in the Admin API's OpenAPI document.
const MCP_PATHS = /(^|\/)(mcp|sse|message)$/;

/** Every route Fastify serves, as "METHOD /path/{param}", from its route tree. */
function servedRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ├└─]*)(\/\S*) \(([A-Z, ]+)\)$/.exec(line.trimEnd());
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!.replace(/:(\w+)(\|:\w+)*/g, '{id}'));
    const path = stack.join('');
    for (const method of match[3]!.split(', ')) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes;
}

describe('GET /openapi.json', () => {
  it('describes every Admin API route the gateway serves, and no route it does not', async () => {
    const gw = await startGateway(loadConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', PORT: '0' }), { listen: false });
    try {
      const served = servedRoutes(gw.app.printRoutes({ commonPrefix: false })).filter((r) => !MCP_PATHS.test(r.split(' ')[1]!));
      const doc = (await gw.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
      const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(served.length).toBeGreaterThan(30);
      expect(described.sort()).toEqual(served.sort());
    } finally {
      await gw.close();
    }
  });
});
