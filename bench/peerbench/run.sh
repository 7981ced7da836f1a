#!/usr/bin/env bash
# The shared peer harness (../shared/peerbench, read-only) with this gateway added as a peer,
# in one command:
#
#   bench/peerbench/run.sh            # every peer, c=1 and c=32 (peerbench defaults)
#   PEERS="mcpgateway mcp-proxy-http" DURATION=5 bench/peerbench/run.sh
#
# It copies the harness to a temporary directory, installs its pinned dependencies there
# (npm ci), adds an `mcpgateway` case to its start_peer, builds this repository and runs it.
# Every knob of peerbench's run.sh (DURATION, WARMUP, CONCS, PEERS, QUIET_MAX, ...) passes through.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="${PEERBENCH_SRC:-$REPO/../shared/peerbench}"
[ -f "$SRC/run.sh" ] || { echo "no peerbench at $SRC (set PEERBENCH_SRC)" >&2; exit 1; }
WORK="${PEERBENCH_WORK:-$(mktemp -d /tmp/mcpgw-peerbench.XXXXXX)}"
echo "[mcpgw] peerbench copy: $WORK" >&2
cp -r "$SRC/." "$WORK/"
if [ ! -d "$WORK/node_modules" ]; then (cd "$WORK" && npm ci --no-audit --no-fund --loglevel=error); fi
node "$REPO/bench/peerbench/add-peer.mjs" "$WORK/run.sh"
(cd "$REPO" && npm run build --silent)
export MCPGW_REPO="$REPO"
export PEERS="${PEERS:-mcpgateway mcp-hub supergateway-stdio supergateway-chain mcp-proxy-stdio mcp-proxy-http}"
exec bash "$WORK/run.sh"
