// Structs shared with the eBPF programs (bpf/lib/layouts.h), as the TypeScript side
// reads them. One row per struct: a test checks every row against the BTF of the
// compiled object, so C and TypeScript cannot drift apart silently.

export interface BpfFieldLayout {
  offset: number;
  size: number;
}

export interface BpfStructLayout {
  /** The object under bpf/build/ whose BTF carries the struct. */
  object: string;
  size: number;
  fields: Record<string, BpfFieldLayout>;
}

export const BPF_LAYOUTS = {
  /** Per-CPU counter slot of every counter map (bpf/lib/counters.h). */
  counter_value: {
    object: 'host',
    size: 16,
    fields: {
      packets: { offset: 0, size: 8 },
      bytes: { offset: 8, size: 8 },
    },
  },
  /** Key of host.bpf.o's `encap_routes` LPM trie (addr in network byte order). */
  encap_key: {
    object: 'host',
    size: 8,
    fields: {
      prefixlen: { offset: 0, size: 4 },
      addr: { offset: 4, size: 4 },
    },
  },
  /** Value of `encap_routes`: the remote node a block is tunnelled to. */
  encap_entry: {
    object: 'host',
    size: 12,
    fields: {
      remote_ip: { offset: 0, size: 4 },
      kind: { offset: 4, size: 1 },
      flags: { offset: 5, size: 1 },
      vtep_mac: { offset: 6, size: 6 },
    },
  },
  /** Key of host.bpf.o's `encap_routes6` LPM trie: a remote IPv6 block (addr in network byte order). */
  encap_key6: {
    object: 'host',
    size: 20,
    fields: {
      prefixlen: { offset: 0, size: 4 },
      addr: { offset: 4, size: 16 },
    },
  },
  /** Value of `encap_routes6`: the remote node's IPv6 address and VTEP MAC (IPv6 VXLAN). */
  encap_entry6: {
    object: 'host',
    size: 24,
    fields: {
      remote_ip: { offset: 0, size: 16 },
      kind: { offset: 16, size: 1 },
      flags: { offset: 17, size: 1 },
      vtep_mac: { offset: 18, size: 6 },
    },
  },
  /** Key of host.bpf.o's IPv4 pool tries `snat_masq4` / `snat_pools4`. */
  snat_lpm4_key: {
    object: 'host',
    size: 8,
    fields: {
      prefixlen: { offset: 0, size: 4 },
      addr: { offset: 4, size: 4 },
    },
  },
  /** Key of the IPv6 pool tries `snat_masq6` / `snat_pools6`. */
  snat_lpm6_key: {
    object: 'host',
    size: 20,
    fields: {
      prefixlen: { offset: 0, size: 4 },
      addr: { offset: 4, size: 16 },
    },
  },
  /** The one value of `snat_config`: node addresses, NAT port range, timeouts (s), hash seed. */
  snat_config: {
    object: 'host',
    size: 52,
    fields: {
      node_ip: { offset: 0, size: 4 },
      port_min: { offset: 4, size: 2 },
      port_max: { offset: 6, size: 2 },
      node_ip6: { offset: 8, size: 16 },
      tcp_syn_timeout: { offset: 24, size: 4 },
      tcp_est_timeout: { offset: 28, size: 4 },
      tcp_close_timeout: { offset: 32, size: 4 },
      udp_timeout: { offset: 36, size: 4 },
      icmp_timeout: { offset: 40, size: 4 },
      hash_seed: { offset: 44, size: 4 },
      tcp_time_wait_timeout: { offset: 48, size: 4 },
    },
  },
  /** Key of the `snat_ct` LRU hash (addresses and ports in network byte order). */
  snat_ct_key: {
    object: 'host',
    size: 40,
    fields: {
      saddr: { offset: 0, size: 16 },
      daddr: { offset: 16, size: 16 },
      sport: { offset: 32, size: 2 },
      dport: { offset: 34, size: 2 },
      proto: { offset: 36, size: 1 },
      family: { offset: 37, size: 1 },
      dir: { offset: 38, size: 1 },
      pad: { offset: 39, size: 1 },
    },
  },
  /** Value of `snat_ct`: the translation (ORIG) or the way back (REPLY). */
  snat_ct_entry: {
    object: 'host',
    size: 40,
    fields: {
      last_seen: { offset: 0, size: 8 },
      flags: { offset: 8, size: 8 },
      addr: { offset: 16, size: 16 },
      port: { offset: 32, size: 2 },
      pad: { offset: 34, size: 2 },
      pad2: { offset: 36, size: 4 },
    },
  },
} as const satisfies Record<string, BpfStructLayout>;
