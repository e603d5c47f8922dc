// Every struct TypeScript reads out of a BPF map must match the compiled object's BTF:
// size, field names, offsets and field sizes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { bpfObjectPath } from '../../src/dataplane/bpf/object-path.js';
import { BPF_LAYOUTS } from '../../src/dataplane/bpf/layouts.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ tools: ['bpftool'] });

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  members?: Array<{ name: string; type_id: number; bits_offset: number; bits_size?: number }>;
}

function btfTypes(object: string): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', bpfObjectPath(object), '-j'], {
    encoding: 'utf8', timeout: 15_000, maxBuffer: 64 << 20,
  });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

// Follows typedefs and qualifiers down to a type that has a size.
function sizeOf(types: Map<number, BtfType>, id: number): number {
  for (let hops = 0; hops < 32; hops++) {
    const t = types.get(id);
    assert.ok(t, `BTF type ${id} missing`);
    if (t.size !== undefined) return t.size;
    assert.ok(t.type_id !== undefined, `BTF type ${id} (${t.kind}) has no size`);
    id = t.type_id;
  }
  throw new Error(`BTF type chain from ${id} too long`);
}

for (const [name, layout] of Object.entries(BPF_LAYOUTS)) {
  test(`struct ${name} in ${layout.object}.bpf.o matches BPF_LAYOUTS`, NEEDS, () => {
    const types = btfTypes(layout.object);
    const structs = [...types.values()].filter((t) => t.kind === 'STRUCT' && t.name === name);
    assert.equal(structs.length, 1, `struct ${name} not found once in the BTF of ${layout.object}.bpf.o`);
    const s = structs[0]!;
    assert.equal(s.size, layout.size, `sizeof(struct ${name})`);
    const btfFields = Object.fromEntries(
      (s.members ?? []).map((m) => {
        assert.equal(m.bits_offset % 8, 0, `${name}.${m.name} is a bitfield`);
        return [m.name, { offset: m.bits_offset / 8, size: sizeOf(types, m.type_id) }];
      }),
    );
    assert.deepStrictEqual(btfFields, layout.fields);
  });
}
