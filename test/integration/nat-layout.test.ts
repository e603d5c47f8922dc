// The slot names TypeScript gives the counters and drops of snat.bpf.o must be the C
// enums' values (bpf/lib/layouts.h), read from the object's BTF; and the programs,
// maps and globals the loader names must be in the object. The structs are rows of
// BPF_LAYOUTS, checked by native-bpf-layout.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { bpfObjectPath } from '../../src/dataplane/bpf/object-path.js';
import { SNAT_OBJECT, SNAT_PROGRAMS } from '../../src/dataplane/nat/bpf-snat.js';
import { SNAT_COUNTERS, SNAT_DROP_REASONS, SNAT_MAPS } from '../../src/dataplane/nat/snat-codec.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ tools: ['bpftool'] });

interface BtfType {
  kind: string;
  name?: string;
  values?: Array<{ name: string; val: number }>;
}

function btf(): BtfType[] {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', bpfObjectPath(SNAT_OBJECT), '-j'], {
    encoding: 'utf8', timeout: 15_000, maxBuffer: 64 << 20,
  });
  return (JSON.parse(out) as { types: BtfType[] }).types;
}

// TABBY_SNAT_DROP_NO_NODE_IP -> noNodeIp
function camel(cName: string, prefix: string): string {
  return cName.slice(prefix.length).toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

for (const [cEnum, prefix, names] of [
  ['tabby_snat_counter', 'TABBY_SNAT_CTR_', SNAT_COUNTERS],
  ['tabby_snat_drop_reason', 'TABBY_SNAT_DROP_', SNAT_DROP_REASONS],
] as const) {
  test(`enum ${cEnum} matches its TypeScript slot names`, NEEDS, () => {
    const e = btf().filter((t) => t.kind === 'ENUM' && t.name === cEnum);
    assert.equal(e.length, 1, `enum ${cEnum} not found once in snat.bpf.o's BTF`);
    const values = e[0]!.values ?? [];
    assert.equal(values.find((v) => v.name === `${prefix}MAX`)?.val, names.length, `${prefix}MAX`);
    const slots = values.filter((v) => v.name !== `${prefix}MAX`).sort((x, y) => x.val - y.val);
    assert.deepEqual(slots.map((v) => v.val), names.map((_n, i) => i), 'slots are 0..MAX-1');
    assert.deepEqual(slots.map((v) => camel(v.name, prefix)), [...names]);
  });
}

test('snat.bpf.o has the programs, maps and globals the loader names', NEEDS, () => {
  const types = btf();
  const funcs = types.filter((t) => t.kind === 'FUNC').map((t) => t.name);
  for (const p of Object.values(SNAT_PROGRAMS)) assert.ok(funcs.includes(p), `program ${p}`);
  const vars = types.filter((t) => t.kind === 'VAR').map((t) => t.name);
  for (const v of [...Object.values(SNAT_MAPS), 'host_ifindex']) assert.ok(vars.includes(v), `variable ${v}`);
  // Kernel object names are cut to 15 characters: ours must stay distinct.
  const cut = Object.values(SNAT_MAPS).map((m) => m.slice(0, 15));
  assert.equal(new Set(cut).size, cut.length);
});
