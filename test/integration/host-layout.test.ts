// The slot names TypeScript gives the counter and drop maps of host.bpf.o must be the
// C enums' values (bpf/lib/layouts.h), read from the object's BTF: the maps are keyed
// by those enums, so their BTF carries them. The structs are in BPF_LAYOUTS and
// checked by native-bpf-layout.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { HOST_OBJECT, HOST_PROGRAMS } from '../../src/dataplane/bpf/host-program.js';
import { bpfObjectPath } from '../../src/dataplane/bpf/object-path.js';
import { DROP_REASONS, ENCAP_COUNTERS, ENCAP_KIND } from '../../src/dataplane/encap/encap-map-codec.js';
import { SNAT_COUNTERS, SNAT_DROP_REASONS, SNAT_MAPS } from '../../src/dataplane/nat/snat-codec.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ tools: ['bpftool'] });

interface BtfType {
  kind: string;
  name?: string;
  values?: Array<{ name: string; val: number }>;
}

function btf(): BtfType[] {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', bpfObjectPath(HOST_OBJECT), '-j'], {
    encoding: 'utf8', timeout: 15_000, maxBuffer: 64 << 20,
  });
  return (JSON.parse(out) as { types: BtfType[] }).types;
}

// TABBY_DROP_BAD_IP_CSUM -> badIpCsum
function camel(cName: string, prefix: string): string {
  return cName.slice(prefix.length).toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

for (const [cEnum, prefix, names] of [
  ['tabby_encap_counter', 'TABBY_CTR_', ENCAP_COUNTERS],
  ['tabby_drop_reason', 'TABBY_DROP_', DROP_REASONS],
  ['tabby_snat_counter', 'TABBY_SNAT_CTR_', SNAT_COUNTERS],
  ['tabby_snat_drop_reason', 'TABBY_SNAT_DROP_', SNAT_DROP_REASONS],
] as const) {
  test(`enum ${cEnum} matches its TypeScript slot names`, NEEDS, () => {
    const e = btf().filter((t) => t.kind === 'ENUM' && t.name === cEnum);
    assert.equal(e.length, 1, `enum ${cEnum} not found once in host.bpf.o's BTF`);
    const values = e[0]!.values ?? [];
    assert.equal(values.find((v) => v.name === `${prefix}MAX`)?.val, names.length, `${prefix}MAX`);
    const slots = values.filter((v) => v.name !== `${prefix}MAX`).sort((x, y) => x.val - y.val);
    assert.deepEqual(slots.map((v) => v.val), names.map((_n, i) => i), 'slots are 0..MAX-1');
    assert.deepEqual(slots.map((v) => camel(v.name, prefix)), [...names]);
  });
}

test('the object has the programs, maps and globals the loaders name', NEEDS, () => {
  const types = btf();
  const funcs = types.filter((t) => t.kind === 'FUNC').map((t) => t.name);
  for (const p of Object.values(HOST_PROGRAMS)) assert.ok(funcs.includes(p), `program ${p}`);
  const vars = types.filter((t) => t.kind === 'VAR').map((t) => t.name);
  const encapMaps = ['encap_routes', 'encap_realms', 'encap_peers', 'counters', 'drops'];
  for (const v of [
    'host_ifindex', 'enable_encap', 'enable_snat',
    ...encapMaps, 'node_ip', 'vxlan_vni', 'vxlan_port', 'vtep_mac', 'vxlan_enabled', 'check_peers',
    ...Object.values(SNAT_MAPS),
  ]) {
    assert.ok(vars.includes(v), `variable ${v}`);
  }
  // Kernel object names are cut to 15 characters: maps and programs must stay distinct.
  const cut = [...encapMaps, ...Object.values(SNAT_MAPS)].map((m) => m.slice(0, 15));
  assert.equal(new Set(cut).size, cut.length);
  assert.ok(Object.values(HOST_PROGRAMS).every((p) => p.length <= 15), 'program names fit the kernel\'s 15 characters');
  // enum tabby_encap_kind is not in BTF (nothing has that type); the C values are 0, 1 and 2.
  assert.deepEqual(ENCAP_KIND, { none: 0, ipip: 1, vxlan: 2 });
});
