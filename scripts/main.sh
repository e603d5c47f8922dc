#!/usr/bin/env bash
# The newcomer's first command: set the machine up, then run the main job.
# Until the multi-node lab lands this shows the cluster's BGP configuration from the
# embedded file datastore (empty on a new machine: Calico's defaults apply).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo '$ tabby get bgpconfiguration -o yaml'
node dist/src/cli/main.js get bgpconfiguration -o yaml
