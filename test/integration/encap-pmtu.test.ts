// Path MTU in eBPF (issue #16): host A's underlay MTU drops to 1400 while its tunnel
// route still says host MTU minus the overhead (the moment before the agent follows the
// change), so the kernel forwards packets the tunnel cannot carry. The encapsulation
// step answers each DF packet that would not fit with an ICMP "fragmentation needed"
// carrying the next-hop MTU (RFC 792; RFC 1191 section 4), so the workload learns the
// path MTU (`ip route get` shows it), a DF ping of exactly that size passes, and a TCP
// transfer whose GSO packets exceed it (RFC 1191 applies per segment) completes.
// Topology: src/bench/encap-topology.ts (two hosts, a workload each).
//
// IPv6 (IPv6 VXLAN over an IPv6-only underlay, test/integration/vxlan-v6-nodes.ts): the
// same drop of the underlay MTU. IPv6 routers never fragment (RFC 8200 §5), so every
// packet that will not fit gets an ICMPv6 Packet Too Big (RFC 4443 §3.2: type 2, code 0,
// the MTU of the next hop), its body as much of the packet as fits in 1280 bytes
// (RFC 4443 §2.4 (c)), checksummed over the pseudo-header (RFC 8200 §8.1) — tshark
// verifies it. The kernel forwards by the device's own MTU (1400); only the tunnel step
// knows that 70 of those bytes are its own, so the MTU in the error says who sent it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { destroyTopology, ebpfIpip, ebpfVxlan, type Topology, type TunnelHandle, type TunnelImpl } from '../../src/bench/encap-topology.js';
import { randomBytes } from 'node:crypto';
import type { Dataplane } from '../../src/dataplane/dataplane.js';
import { buildTopology, capture, inNs, ping, ping6, run, tcpTransfer } from './encap-topology.js';
import { buildNodes, destroyNodes, startPlanes, type Node6 } from './vxlan-v6-nodes.js';
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

describe('eBPF IPv6 VXLAN: ICMPv6 Packet Too Big for packets that do not fit', { ...needs({ root: true, tools: ['ip', 'ping', 'tc', 'tcpdump', 'tshark', 'ipset', 'ip6tables'] }), timeout: 180_000 }, () => {
  const tag = randomBytes(3).toString('hex');
  let nodes: Node6[] = [];
  const planes: Dataplane[] = [];
  const room = LOW_MTU - 70; // outer IPv6 40, UDP 8, VXLAN 8, inner Ethernet 14

  before(async () => {
    nodes = buildNodes(tag, 0x100 + (parseInt(tag, 16) % 0xe00));
    // A sends through eBPF; B's kernel device only has to answer.
    await startPlanes(nodes, ['bpf', 'iptables'], planes);
  });
  after(async () => {
    for (const dp of planes) await dp.cleanup().catch(() => undefined);
    destroyNodes(nodes);
  });

  test(`a packet of ${room + 1} bytes gets Packet Too Big with mtu ${room} from the node; the path MTU is learned; TCP with GSO completes`, async () => {
    const [a, b] = nodes as [Node6, Node6];
    const encap = planes[0]!.bpfEncap!;
    run('ip', '-n', a.ns, 'link', 'set', 'eth0', 'mtu', String(LOW_MTU));
    try {
      const before = await encap.counters();
      let tooBig = ping6(a.wl, b.workloadIP, { count: 1 });
      // 48 bytes of IPv6 and ICMPv6 headers around the payload: one byte over the room.
      const pkts = await capture(a.ns, 'wl0', 'icmp6 and ip6[40] == 2', 1, () => {
        tooBig = ping6(a.wl, b.workloadIP, { df: true, size: room + 1 - 48, count: 2 });
      });
      assert.ok(!tooBig.ok, tooBig.output);
      assert.match(tooBig.output, new RegExp(`mtu[=: ]+${room}\\b`), tooBig.output);
      assert.equal(pkts.length, 1, 'one Packet Too Big captured on the way back to the workload');
      const p = pkts[0]!;
      // The error, then the echo request it quotes.
      assert.deepStrictEqual(p.icmp6Type, ['2', '128'], JSON.stringify(p));
      assert.deepStrictEqual(p.icmp6Mtu, [String(room)]);
      assert.equal(p.icmp6ChecksumStatus[0], '1', `tshark: ICMPv6 checksum good: ${JSON.stringify(p)}`);
      // From the node to the workload, quoting the workload's packet to B.
      assert.deepStrictEqual(p.ip6Src, [a.nodeIP, a.workloadIP]);
      assert.deepStrictEqual(p.ip6Dst, [a.workloadIP, b.workloadIP]);
      assert.equal(p.frameLen, 14 + 1280, 'the error fills the minimum MTU, no more');
      assert.match(inNs(a.wl, 'ip', '-6', 'route', 'get', b.workloadIP), new RegExp(`mtu ${room}\\b`), 'the workload learned the path MTU');
      const fits = ping6(a.wl, b.workloadIP, { df: true, size: room - 48, count: 2 });
      assert.ok(fits.ok, fits.output);

      // TCP anew, path MTU forgotten: its GSO packets' segments are too big at first.
      run('ip', '-n', a.wl, '-6', 'route', 'flush', 'cache');
      const mid = await encap.counters();
      const r = await tcpTransfer(a.wl, b.wl, b.workloadIP, 4 << 20);
      assert.equal(r.receivedBytes, r.sentBytes);
      assert.equal(r.receivedSha256, r.sentSha256);
      const end = await encap.counters();
      assert.ok(mid.fragNeeded.packets > before.fragNeeded.packets, 'the ping was answered by the program');
      assert.ok(end.fragNeeded.packets > mid.fragNeeded.packets, 'TCP\'s too-big segments were answered by the program');
    } finally {
      run('ip', '-n', a.ns, 'link', 'set', 'eth0', 'mtu', '1500');
    }
  });
});
