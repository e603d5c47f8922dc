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
} as const satisfies Record<string, BpfStructLayout>;
