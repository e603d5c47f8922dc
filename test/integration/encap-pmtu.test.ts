// Path MTU in eBPF (issue #16): host A's underlay MTU drops to 1400 while its tunnel
// route still says host MTU minus the overhead (the moment before the agent follows the
// change), so the kernel forwards packets the tunnel cannot carry. The encapsulation
// step answers each DF packet that would not fit with an ICMP "fragmentation needed"
// carrying the next-hop MTU (RFC 792; RFC 1191 section 4), so the workload learns the
// path MTU (`ip route get` shows it), a DF ping of exactly that size passes, and a TCP
// transfer whose GSO packets exceed it (RFC 1191 applies per segment) completes.
// Topology: src/bench/encap-topology.ts (two hosts, a workload each).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { destroyTopology, ebpfIpip, ebpfVxlan, type Topology, type TunnelHandle, type TunnelImpl } from '../../src/bench/encap-topology.js';
import { buildTopology, inNs, ping, run, tcpTransfer } from './encap-topology.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping'] });
const LOW_MTU = 1400;

describe('eBPF encapsulation: ICMP fragmentation needed for DF packets that do not fit', { ...NEEDS, timeout: 180_000 }, () => {
  let t: Topology;
  before(async () => {
    t = await buildTopology('pmtu');
  });
  after(async () => {
    if (t) await destroyTopology(t);
  });

  for (const impl of [ebpfIpip, ebpfVxlan] as TunnelImpl[]) {
    test(`${impl.name}: a DF ping too big gets frag-needed with mtu ${LOW_MTU} - overhead; the path MTU is learned; TCP with GSO completes`, async () => {
      const a = t.hosts.a;
      const b = t.hosts.b;
      const tunnels: TunnelHandle[] = [await impl.setup(t, 'a'), await impl.setup(t, 'b')];
      try {
        run('ip', '-n', a.ns, 'link', 'set', 'eth0', 'mtu', String(LOW_MTU));
        const room = LOW_MTU - impl.overhead;
        const before = await tunnels[0]!.bpf!.counters();
        // 28 bytes of IPv4 and ICMP headers around the payload.
        const tooBig = ping(a.wl, b.workloadIP, { df: true, size: room + 1 - 28, count: 2 });
        assert.ok(!tooBig.ok, tooBig.output);
        assert.match(tooBig.output, new RegExp(`mtu ?= ?${room}\\b`), tooBig.output);
        assert.match(inNs(a.wl, 'ip', 'route', 'get', b.workloadIP), new RegExp(`mtu ${room}\\b`), 'the workload learned the path MTU');
        const fits = ping(a.wl, b.workloadIP, { df: true, size: room - 28, count: 2 });
        assert.ok(fits.ok, fits.output);

        // TCP anew, path MTU forgotten: its GSO packets' segments are too big at first.
        run('ip', '-n', a.wl, 'route', 'flush', 'cache');
        const mid = await tunnels[0]!.bpf!.counters();
        const r = await tcpTransfer(a.wl, b.wl, b.workloadIP, 4 << 20);
        assert.equal(r.receivedBytes, r.sentBytes);
        assert.equal(r.receivedSha256, r.sentSha256);
        const end = await tunnels[0]!.bpf!.counters();
        assert.ok(mid.fragNeeded.packets > before.fragNeeded.packets, 'the ping was answered by the program');
        assert.ok(end.fragNeeded.packets > mid.fragNeeded.packets, 'TCP\'s too-big segments were answered by the program');
      } finally {
        run('ip', '-n', a.ns, 'link', 'set', 'eth0', 'mtu', String(t.hostMtu));
        for (const h of tunnels) await h.close();
      }
    });
  }
});
