// The TypeScript side of the native boundary: argument checks (which run before the
// addon is loaded, so these tests need neither root nor a build) and the decoding of
// per-CPU values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { endianness } from 'node:os';
import { ValidationError } from '../../src/errors.js';
import { bpfObjectPath } from '../../src/dataplane/bpf/object-path.js';
import { mapLookup, mapUpdate, type MapValue, perCpuValues } from '../../src/native/bpf-maps.js';
import { bpfObjectClose, bpfObjectLoad } from '../../src/native/bpf-objects.js';
import { addrApply } from '../../src/native/addresses.js';
import { vxlanCreate } from '../../src/native/links.js';
import { fdbApply, neighApply } from '../../src/native/neighbours.js';
import { routeApply, routeDump } from '../../src/native/routes.js';
import { tcAttach, tcDetach } from '../../src/native/tc.js';
import { packageRoot } from '../../src/util/package-root.js';
import { sumCounters } from '../../src/dataplane/bpf/counters.js';
import { BPF_LAYOUTS } from '../../src/dataplane/bpf/layouts.js';

test('bpfObjectPath resolves under the package root', () => {
  assert.equal(bpfObjectPath('host'), join(packageRoot, 'bpf', 'build', 'host.bpf.o'));
  assert.throws(() => bpfObjectPath('../host'), ValidationError);
  assert.throws(() => bpfObjectPath(''), ValidationError);
});

const rejected: Array<[string, () => Promise<unknown>, string]> = [
  ['routeDump family', () => routeDump({ family: 5 as 4 }), 'family'],
  ['routeDump netns with a slash', () => routeDump({ netns: '../etc' }), 'netns'],
  ['routeDump netns ..', () => routeDump({ netns: '..' }), 'netns'],
  ['routeDump protocol > 255', () => routeDump({ protocol: 256 }), 'protocol'],
  ['routeDump negative table', () => routeDump({ table: -1 }), 'table'],
  ['bpfObjectLoad fractional global', () => bpfObjectLoad('/x.o', { globals: { a: 1.5 } }), 'globals.a'],
  ['bpfObjectClose handle 0', () => bpfObjectClose(0), 'handle'],
  ['tcAttach direction', () => tcAttach({ handle: 1, program: 'p', ifname: 'eth0', direction: 'up' as 'ingress' }), 'direction'],
  ['tcAttach long ifname', () => tcAttach({ handle: 1, program: 'p', ifname: 'x'.repeat(16), direction: 'ingress' }), 'ifname'],
  ['tcAttach priority', () => tcAttach({ handle: 1, program: 'p', ifname: 'eth0', direction: 'ingress', priority: 70000 }), 'priority'],
  ['tcDetach without handle', () => tcDetach({ ifname: 'eth0', direction: 'egress', priority: 1, handle: 0 }), 'handle'],
  ['mapLookup key not bytes', () => mapLookup(1, 'm', 'abc' as unknown as Buffer), 'key'],
  ['routeApply protocol > 255', () => routeApply([], { protocol: 300 }), 'protocol'],
  ['vxlanCreate vni in external mode', () => vxlanCreate({ name: 'vx0', external: true, vni: 1 }), 'vni'],
  ['vxlanCreate bad parent', () => vxlanCreate({ name: 'vx0', vni: 1, parent: 'a/b' }), 'parent'],
  ['neighApply add without a MAC', () => neighApply([{ op: 'add', ifname: 'eth0', ip: '10.0.0.1' }]), 'ops[0].mac'],
  ['fdbApply bad dst', () => fdbApply([{ op: 'add', ifname: 'vx0', mac: '66:0a:0b:0c:0d:0e', dst: '10.0.0' }]), 'ops[0].dst'],
  ['addrApply without a prefix length', () => addrApply([{ op: 'add', ifname: 'eth0', cidr: '10.0.0.1' }]), 'ops[0].cidr'],
  ['mapUpdate flag', () => mapUpdate(1, 'm', Buffer.alloc(4), Buffer.alloc(4), 'maybe' as 'any'), 'flag'],
];

for (const [name, fn, path] of rejected) {
  test(`rejects ${name} with a ValidationError`, async () => {
    await assert.rejects(fn(), (err: unknown) => err instanceof ValidationError && err.path === path);
  });
}

function perCpuCounterValue(perCpu: Array<[bigint, bigint]>): MapValue {
  const stride = 16;
  const value = Buffer.alloc(stride * perCpu.length);
  perCpu.forEach(([packets, bytes], cpu) => {
    const le = endianness() === 'LE';
    const off = cpu * stride;
    if (le) {
      value.writeBigUInt64LE(packets, off + BPF_LAYOUTS.counter_value.fields.packets.offset);
      value.writeBigUInt64LE(bytes, off + BPF_LAYOUTS.counter_value.fields.bytes.offset);
    } else {
      value.writeBigUInt64BE(packets, off + BPF_LAYOUTS.counter_value.fields.packets.offset);
      value.writeBigUInt64BE(bytes, off + BPF_LAYOUTS.counter_value.fields.bytes.offset);
    }
  });
  return { value, perCpu: true, cpus: perCpu.length, valueSize: 16, stride };
}

test('sumCounters adds every CPU slot', () => {
  const v = perCpuCounterValue([[1n, 100n], [0n, 0n], [5n, 2n ** 40n]]);
  assert.deepEqual(sumCounters(v), { packets: 6n, bytes: 2n ** 40n + 100n });
});

test('perCpuValues cuts each slot to the value size', () => {
  const v: MapValue = { value: Buffer.from([1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0]), perCpu: true, cpus: 2, valueSize: 3, stride: 8 };
  assert.deepEqual(perCpuValues(v), [Buffer.from([1, 2, 3]), Buffer.from([4, 5, 6])]);
});

test('sumCounters refuses a value of another size', () => {
  assert.throws(() => sumCounters({ value: Buffer.alloc(8), perCpu: false, cpus: 1, valueSize: 8, stride: 8 }), ValidationError);
});
