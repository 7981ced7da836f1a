#!/usr/bin/env node
// Add this gateway as the `mcpgateway` peer to a copy of peerbench's run.sh (never the original):
// a `case` in start_peer that starts `mcpgateway serve` on the peer port with a fresh SQLite
// database, no authentication (loopback only) and LOG_LEVEL=warn, then federates the upstream
// as gateway "upstream" (so the tool is upstream__echo, which peerbench's bench.mjs finds).
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: add-peer.mjs <copy of peerbench run.sh>');
const script = readFileSync(file, 'utf8');
const anchor = '    *) log "unknown peer $name"; return 1 ;;';
if (!script.includes(anchor)) throw new Error(`cannot find the start_peer fallback case in ${file}`);
if (script.includes('    mcpgateway)')) process.exit(0);
const peer = `    mcpgateway)
      # MCP Gateway from $MCPGW_REPO (bench/peerbench/run.sh), federating the upstream over Streamable HTTP.
      local gw_env="HOST=127.0.0.1 PORT=$port AUTH_REQUIRED=false LOG_LEVEL=warn DATABASE_URL=sqlite:$RUN_DIR/mcpgateway.db AUTH_ENCRYPTION_SECRET=peerbench-secret-0123456789abcdef-0123456789"
      GW_CMD="$gw_env node $MCPGW_REPO/dist/cli/main.js serve"
      GW_VERSION="mcp-gateway $(node -p "require('$MCPGW_REPO/package.json').version") ($(git -C "$MCPGW_REPO" rev-parse --short HEAD))"
      env HOST=127.0.0.1 PORT="$port" AUTH_REQUIRED=false LOG_LEVEL=warn DATABASE_URL="sqlite:$RUN_DIR/mcpgateway.db" \\
        AUTH_ENCRYPTION_SECRET=peerbench-secret-0123456789abcdef-0123456789 node "$MCPGW_REPO/dist/cli/main.js" serve > "$logf" 2>&1 &
      GW_PID=$!
      if ! wait_port "$port" 30; then log "mcpgateway did not open port $port (see $logf)"; return 1; fi
      curl -sf "http://127.0.0.1:$port/gateways" -H 'content-type: application/json' -d "{\\"name\\":\\"upstream\\",\\"url\\":\\"$UP_URL\\"}" >> "$logf" \\
        && curl -sf -X POST "http://127.0.0.1:$port/gateways/upstream/refresh" >> "$logf" \\
        || { log "mcpgateway could not federate the upstream (see $logf)"; return 1; }
      ;;
`;
writeFileSync(file, script.replace(anchor, peer + anchor));
