#!/usr/bin/env bash
# Sets up a Debian 12 machine for Tabby, as root: system packages, npm dependencies, the
# native addon, the eBPF objects and the TypeScript build. Idempotent: each step runs only
# when its inputs changed, so a second run on a ready machine takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

PACKAGES=(
  clang llvm libbpf-dev bpftool libmnl-dev pkg-config make g++ python3
  iproute2 iptables ipset nftables
  bird2 gobgpd frr exabgp etcd-server etcd-client prometheus
  iperf3 tcpdump tshark iputils-ping procps ethtool python3
)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "missing packages: ${missing[*]}; run this script as root to install them"
    exit 1
  fi
  log "installing ${missing[*]}"
  # Packages like bird2, frr and etcd-server would start their system services on install;
  # Tabby's tests start their own, so keep the services stopped unless a policy exists already.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [[ $made_policy -eq 1 ]] && rm -f "$policy"; exit 1; }
  [[ $made_policy -eq 1 ]] && rm -f "$policy"
  return 0
}

install_npm() {
  local stamp=node_modules/.tabby-lock-hash want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return 0; fi
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
}

# True when $1 is missing or older than any file under the other arguments.
stale() {
  local target=$1; shift
  [[ ! -e $target ]] && return 0
  [[ -n $(find "$@" -newer "$target" -type f -print -quit 2>/dev/null) ]]
}

build_addon() {
  local target=addon/build/Release/tabby_native.node
  stale "$target" addon/binding.gyp addon/src || return 0
  log "building the native addon"
  local nodedir=()
  # Build against the headers of the Node that runs the tests (no header download needed).
  [[ -f /usr/include/node/node_api.h ]] && nodedir=(--nodedir=/usr)
  npx --no-install node-gyp rebuild --directory addon "${nodedir[@]}" --loglevel=error >/dev/null
}

build_bpf() {
  [[ -r /sys/kernel/btf/vmlinux ]] || { log "no kernel BTF at /sys/kernel/btf/vmlinux: the eBPF dataplane cannot be built"; exit 1; }
  make -s -C bpf
}

build_ts() {
  npx --no-install tsc -b
  chmod +x dist/src/cli/main.js
}

# Put `tabby` on PATH; never replace a file that is not our own link.
link_cli() {
  local link=/usr/local/bin/tabby target=$PWD/dist/src/cli/main.js
  [[ $(id -u) -eq 0 ]] || return 0
  if [[ -L $link || ! -e $link ]]; then
    [[ $(readlink "$link" 2>/dev/null) == "$target" ]] || ln -sfn "$target" "$link"
  else
    log "$link exists and is not a link; leaving it alone (use node $target)"
  fi
}

install_packages
install_npm
build_addon
build_bpf
build_ts
link_cli
log "ready"
