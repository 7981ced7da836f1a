#!/usr/bin/env node
// The benchmark's upstream: one `echo` tool over Streamable HTTP, stateless with JSON replies,
// a fresh SDK McpServer + transport per request (the peerbench `v2json` upstream); with the
// argument `stdio`, the same tool on one SDK McpServer over stdio (the stdio-upstream row).
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import * as z from 'zod';

const makeServer = () => {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echo back the given text', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
};
if (process.argv[2] === 'stdio') {
  const { StdioServerTransport } = await import('@modelcontextprotocol/server/stdio');
  await makeServer().connect(new StdioServerTransport());
} else {
  serveHttp(Number(process.argv[2] ?? 0));
}
function serveHttp(port) {
  const srv = http.createServer(async (req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks = [];
    let body;
    try {
      for await (const c of req) chunks.push(c);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // An aborted request or a body that is not JSON must not end the process (an unhandled rejection would).
      if (!res.headersSent && !res.destroyed) res.writeHead(400).end();
      return;
    }
    const server = makeServer();
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  srv.keepAliveTimeout = 65_000;
  srv.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${srv.address().port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}
