#!/usr/bin/env node
// A tiny HTTP API for trying `mcpgateway cap test`: answers every request with what it received.
// Usage: node examples/echo-server.mjs [port]   (default 8765)
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 8765);
createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, authorized: req.headers.authorization !== undefined, body: body || null }));
  });
}).listen(port, '127.0.0.1', () => console.log(`echo API on http://127.0.0.1:${port}`));
