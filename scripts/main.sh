#!/usr/bin/env bash
# The newcomer's first command: set the machine up, then run the main job — a three-node
# Tabby cluster in network namespaces with a BIRD ToR router, checked end to end.
# Extra arguments go to `tabby lab up` (e.g. --encap vxlan, --dataplane iptables).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "\$ tabby lab up $*"
exec node dist/src/cli/main.js lab up "$@"
