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
  bird2 gobgpd frr exabgp etcd-server etcd-client prometheus   # the BGP interop tests run all four daemons
  iperf3 tcpdump tshark iputils-ping procps ethtool python3
  # A container runtime on tabby-cni: podman with its CNI backend, runc (crun refuses this
  # kind of hybrid cgroup layout), nsenter, and busybox-static for an image built locally.
  podman runc containernetworking-plugins busybox-static util-linux
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
  # No recommends: podman would bring crun and its own CNI/netavark defaults.
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
  node scripts/bundle.mjs
  chmod +x dist/src/cli/main.js dist/src/cni/main.js
}

# Link $2 at $1; never replace a file that is not our own link.
link_to() {
  local link=$1 target=$2
  mkdir -p "$(dirname "$link")"
  if [[ -L $link || ! -e $link ]]; then
    [[ $(readlink "$link" 2>/dev/null) == "$target" ]] || ln -sfn "$target" "$link"
  else
    log "$link exists and is not a link; leaving it alone (use node $target)"
  fi
}

# `tabby` and `tabby-cni` on PATH, and the plugin where CNI runtimes look (/opt/cni/bin).
link_cli() {
  [[ $(id -u) -eq 0 ]] || return 0
  link_to /usr/local/bin/tabby "$PWD/dist/src/cli/main.js"
  link_to /usr/local/bin/tabby-cni "$PWD/dist/src/cni/main.js"
  link_to /opt/cni/bin/tabby-cni "$PWD/dist/src/cni/main.js"
}

# podman on Tabby's network: its CNI backend (netavark is not installed) and a network
# "tabby" whose one plugin is tabby-cni, with the agent's defaults ($TABBY_DATASTORE or
# file:/var/lib/tabby, the hostname). Written once; an existing file is the admin's and stays.
podman_config() {
  [[ $(id -u) -eq 0 ]] || return 0
  write_once /etc/containers/containers.conf.d/50-tabby.conf '[network]
network_backend = "cni"'
  write_once /etc/cni/net.d/tabby.conflist '{"cniVersion": "1.0.0", "name": "tabby", "plugins": [{"type": "tabby-cni"}]}'
}

# Write $2 to $1 unless $1 exists (through a temporary name, so no reader sees half a file).
write_once() {
  [[ -e $1 ]] && return 0
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$2" > "$1.tmp.$$" && mv "$1.tmp.$$" "$1"
  log "wrote $1"
}

install_packages
install_npm
build_addon
build_bpf
build_ts
link_cli
podman_config
log "ready"
