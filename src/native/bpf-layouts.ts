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
  /** Per-CPU counter slot of counter.bpf.c's `counters` map. */
  counter_value: {
    object: 'counter',
    size: 16,
    fields: {
      packets: { offset: 0, size: 8 },
      bytes: { offset: 8, size: 8 },
    },
  },
  /** Key of encap.bpf.c's `encap_routes` LPM trie (addr in network byte order). */
  encap_key: {
    object: 'encap',
    size: 8,
    fields: {
      prefixlen: { offset: 0, size: 4 },
      addr: { offset: 4, size: 4 },
    },
  },
  /** Value of `encap_routes`: the remote node a block is tunnelled to. */
  encap_entry: {
    object: 'encap',
    size: 12,
    fields: {
      remote_ip: { offset: 0, size: 4 },
      kind: { offset: 4, size: 1 },
      flags: { offset: 5, size: 1 },
      vtep_mac: { offset: 6, size: 6 },
    },
  },
} as const satisfies Record<string, BpfStructLayout>;
