// The addon's BPF calls with a fixture of their own, test/fixtures/bpf/counter.bpf.c
// (compiled here, never shipped), on a veth pair between two namespaces of its own:
// real packets must be counted while the program is attached and not after it is
// detached.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfLoadError, NetlinkError } from '../../src/errors.js';
import { mapDelete, mapLookup, mapUpdate } from '../../src/native/bpf-maps.js';
import { bpfObjectClose, type BpfObjectHandle, bpfObjectLoad } from '../../src/native/bpf-objects.js';
import { tcAttach, tcDetach, type TcFilter, tcHookDestroy } from '../../src/native/tc.js';
import { packageRoot } from '../../src/util/package-root.js';
import { type Counter, readCounters } from '../../src/dataplane/bpf/counters.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'clang'] });

const INGRESS = 0;
const EGRESS = 1;

function run(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function ping(ns: string, addr: string): boolean {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '1', addr], {
    timeout: 15_000, encoding: 'utf8',
  });
  if (/exec of "ping" failed|ping: not found/i.test(r.stderr)) throw new Error('ping is not installed (iputils-ping)');
  return r.status === 0;
}

async function counter(handle: BpfObjectHandle, index: number): Promise<Counter> {
  const c = await readCounters(handle, 'counters', index);
  assert.ok(c, `counters[${index}] missing`);
  return c;
}

describe('counter.bpf.o on tc', NEEDS, () => {
  const tag = randomBytes(3).toString('hex');
  const nsA = `tbt-bpfa-${tag}`;
  const nsB = `tbt-bpfb-${tag}`;
  const x = randomInt(1, 255);
  const addrA = `10.251.${x}.1`;
  const addrB = `10.251.${x}.2`;
  const handles: BpfObjectHandle[] = [];
  const build = mkdtempSync(join(tmpdir(), 'tabby-bpf-fixture-'));
  const COUNTER = join(build, 'counter.bpf.o');

  before(() => {
    run('clang', '-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', join(packageRoot, 'bpf', 'build'), '-I', join(packageRoot, 'bpf', 'lib'),
      '-c', join(packageRoot, 'test', 'fixtures', 'bpf', 'counter.bpf.c'), '-o', COUNTER);
    run('ip', 'netns', 'add', nsA);
    run('ip', 'netns', 'add', nsB);
    run('ip', '-n', nsA, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', nsB);
    run('ip', '-n', nsA, 'addr', 'add', `${addrA}/30`, 'dev', 'veth-a');
    run('ip', '-n', nsB, 'addr', 'add', `${addrB}/30`, 'dev', 'veth-b');
    for (const [ns, dev] of [[nsA, 'veth-a'], [nsB, 'veth-b']] as const) {
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      run('ip', '-n', ns, 'link', 'set', dev, 'up');
    }
  });

  after(async () => {
    for (const h of handles) await bpfObjectClose(h).catch(() => undefined);
    for (const ns of [nsA, nsB]) {
      try { run('ip', 'netns', 'del', ns); } catch { /* not created */ }
    }
    rmSync(build, { recursive: true, force: true });
  });

  test('counts pings on ingress and egress, stops after detach', async () => {
    const ingress = await bpfObjectLoad(COUNTER, { globals: { direction: INGRESS } });
    handles.push(ingress);
    const egress = await bpfObjectLoad(COUNTER, { globals: { direction: EGRESS } });
    handles.push(egress);
    assert.notEqual(ingress, egress);

    const filters: Array<[TcFilter, 'ingress' | 'egress']> = [];
    try {
      filters.push([await tcAttach({ handle: ingress, program: 'count_packets', ifname: 'veth-a', direction: 'ingress', netns: nsA }), 'ingress']);
      filters.push([await tcAttach({ handle: egress, program: 'count_packets', ifname: 'veth-a', direction: 'egress', netns: nsA }), 'egress']);
      const [inFilter] = filters[0]!;
      assert.ok(inFilter.ifindex > 0 && inFilter.priority > 0 && inFilter.handle > 0);
      assert.match(run('tc', '-n', nsA, 'filter', 'show', 'dev', 'veth-a', 'ingress'), /bpf.*count_packets/);

      // IPv6 neighbour discovery may already have been counted: compare deltas.
      const in0 = await counter(ingress, INGRESS);
      const out0 = await counter(egress, EGRESS);
      assert.ok(ping(nsB, addrA), 'ping through the counting program failed');
      const in1 = await counter(ingress, INGRESS);
      const out1 = await counter(egress, EGRESS);
      assert.ok(in1.packets - in0.packets >= 3n, `ingress packets ${in0.packets} -> ${in1.packets}`);
      assert.ok(in1.bytes - in0.bytes >= 3n * 84n, `ingress bytes ${in0.bytes} -> ${in1.bytes}`);
      assert.ok(out1.packets - out0.packets >= 3n, `egress packets ${out0.packets} -> ${out1.packets}`);
      // Each copy only ever writes the slot its `direction` global names.
      assert.deepEqual(await counter(ingress, EGRESS), { packets: 0n, bytes: 0n });
      assert.deepEqual(await counter(egress, INGRESS), { packets: 0n, bytes: 0n });
    } finally {
      for (const [f, direction] of filters.splice(0)) {
        await tcDetach({ ifname: 'veth-a', direction, netns: nsA, priority: f.priority, handle: f.handle });
      }
    }

    assert.doesNotMatch(run('tc', '-n', nsA, 'filter', 'show', 'dev', 'veth-a', 'ingress'), /bpf/);
    assert.doesNotMatch(run('tc', '-n', nsA, 'filter', 'show', 'dev', 'veth-a', 'egress'), /bpf/);
    const in2 = await counter(ingress, INGRESS);
    const out2 = await counter(egress, EGRESS);
    assert.ok(ping(nsB, addrA), 'ping after detach failed');
    assert.deepEqual(await counter(ingress, INGRESS), in2);
    assert.deepEqual(await counter(egress, EGRESS), out2);

    await tcHookDestroy({ ifname: 'veth-a', netns: nsA });
    assert.doesNotMatch(run('tc', '-n', nsA, 'qdisc', 'show', 'dev', 'veth-a'), /clsact/);
  });

  test('map update, lookup and delete', async () => {
    const h = await bpfObjectLoad(COUNTER);
    handles.push(h);
    const key = Buffer.alloc(4);
    const v = await mapLookup(h, 'counters', key);
    assert.ok(v);
    assert.equal(v.perCpu, true);
    assert.equal(v.valueSize, 16);
    assert.equal(v.value.length, v.cpus * v.stride);

    const value = Buffer.alloc(v.cpus * v.stride);
    for (let cpu = 0; cpu < v.cpus; cpu++) {
      value.writeBigUInt64LE(1n, cpu * v.stride);
      value.writeBigUInt64LE(100n, cpu * v.stride + 8);
    }
    await mapUpdate(h, 'counters', key, value);
    assert.deepEqual(await readCounters(h, 'counters', 0), { packets: BigInt(v.cpus), bytes: 100n * BigInt(v.cpus) });
    assert.equal(await readCounters(h, 'counters', 7), null);

    await assert.rejects(mapUpdate(h, 'counters', key, Buffer.alloc(16 * v.cpus + 1)),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.EINVAL && err.op === 'map-update');
    await assert.rejects(mapLookup(h, 'counters', Buffer.alloc(8)),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.EINVAL && err.op === 'map-lookup');
    await assert.rejects(mapLookup(h, 'no_such_map', key),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.ENOENT);
    // Array slots always exist, so the kernel refuses to delete them.
    await assert.rejects(mapDelete(h, 'counters', key),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.EINVAL && err.op === 'map-delete');

    await bpfObjectClose(h);
    handles.splice(handles.indexOf(h), 1);
    await assert.rejects(mapLookup(h, 'counters', key),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.EBADF);
  });

  test('load errors carry op and errno', async () => {
    await assert.rejects(bpfObjectLoad(join(build, 'does-not-exist.bpf.o')), (err: unknown) => {
      assert.ok(err instanceof BpfLoadError);
      assert.equal(err.op, 'bpf-object-load');
      assert.equal(err.errno, constants.errno.ENOENT);
      return true;
    });
    await assert.rejects(bpfObjectLoad(COUNTER, { globals: { no_such_global: 1 } }),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.ENOENT && /no_such_global/.test(err.message));
    await assert.rejects(bpfObjectLoad(COUNTER, { globals: { direction: 2 ** 32 } }),
      (err: unknown) => err instanceof BpfLoadError && err.errno === constants.errno.ERANGE);
  });

  test('a verifier refusal carries the verifier log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabby-bpf-'));
    try {
      writeFileSync(join(dir, 'bad.bpf.c'), [
        '#include "vmlinux.h"',
        '#include <bpf/bpf_helpers.h>',
        'SEC("tc")',
        'int bad(struct __sk_buff *skb)',
        '{',
        '\t/* no bounds check before reading packet data */',
        '\treturn *(unsigned char *)(long)skb->data;',
        '}',
        'char LICENSE[] SEC("license") = "GPL";',
        '',
      ].join('\n'));
      run('clang', '-O2', '-g', '-target', 'bpf', '-I', join(packageRoot, 'bpf', 'build'),
        '-c', join(dir, 'bad.bpf.c'), '-o', join(dir, 'bad.bpf.o'));
      await assert.rejects(bpfObjectLoad(join(dir, 'bad.bpf.o')), (err: unknown) => {
        assert.ok(err instanceof BpfLoadError);
        assert.equal(err.errno, constants.errno.EACCES);
        assert.match(err.message, /BEGIN PROG LOAD LOG/);
        assert.match(err.message, /invalid access to packet/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('attach errors carry op and errno', async () => {
    const h = await bpfObjectLoad(COUNTER);
    handles.push(h);
    await assert.rejects(tcAttach({ handle: h, program: 'count_packets', ifname: 'nope0', direction: 'ingress', netns: nsA }),
      (err: unknown) => {
        assert.ok(err instanceof NetlinkError);
        assert.equal(err.op, 'tc-attach');
        assert.equal(err.errno, constants.errno.ENODEV);
        return true;
      });
    await assert.rejects(tcAttach({ handle: h, program: 'no_such_prog', ifname: 'veth-a', direction: 'ingress', netns: nsA }),
      (err: unknown) => err instanceof NetlinkError && err.errno === constants.errno.ENOENT);
    await assert.rejects(tcDetach({ ifname: 'veth-a', direction: 'ingress', netns: nsA, priority: 7, handle: 7 }),
      (err: unknown) => err instanceof NetlinkError && err.op === 'tc-detach' && err.errno > 0);
    // The failed attaches may have left an empty clsact qdisc; nothing else.
    assert.doesNotMatch(run('tc', '-n', nsA, 'filter', 'show', 'dev', 'veth-a', 'ingress'), /bpf/);
  });
});
