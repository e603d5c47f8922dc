// One encap test table run against every pairing of tunnel implementations: the
// kernel VXLAN device on both ends (the baseline), eBPF VXLAN talking to a plain
// kernel VXLAN device, eBPF VXLAN on both ends, and eBPF IPIP on both ends. Each
// pairing gets a fresh four-namespace topology (encap-topology.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Counter } from '../../src/dataplane/bpf/counters.js';
import { tunnelMtu } from '../../src/dataplane/encap/encap-mtu.js';
import {
  destroyTopology, ebpfIpip, ebpfVxlan, kernelVxlan, other, SIDES, VNI, VXLAN_PORT, type Side, type Topology,
  type TunnelHandle, type TunnelImpl,
} from '../../src/bench/encap-topology.js';
import { buildTopology, capture, disableOffloads, ping, tcpTransfer } from './encap-topology.js';
import { needs } from '../helpers/require.js';


// offloadsOff: the underlay cannot segment tunnel packets nor checksum them, and the
// workload side has no TSO, so GSO packets are cut in software, after encapsulation
// and after decapsulation: what a plain NIC does.
const PAIRS: Array<{ a: TunnelImpl; b: TunnelImpl; offloadsOff?: boolean }> = [
  { a: kernelVxlan, b: kernelVxlan },
  { a: ebpfVxlan, b: kernelVxlan },
  { a: ebpfVxlan, b: ebpfVxlan },
  { a: ebpfIpip, b: ebpfIpip },
  { a: ebpfVxlan, b: kernelVxlan, offloadsOff: true },
  { a: ebpfIpip, b: ebpfIpip, offloadsOff: true },
];

const TRANSFER_BYTES = 10 * 1024 * 1024;

function delta(after: Counter, before: Counter): Counter {
  return { packets: after.packets - before.packets, bytes: after.bytes - before.bytes };
}

for (const pair of PAIRS) {
  const wire = pair.a.wire;
  assert.equal(pair.b.wire, wire, 'a pairing must put the same tunnel on the wire');
  const encapKey = wire === 'ipip' ? 'encapIpip' : 'encapVxlan';
  const decapKey = wire === 'ipip' ? 'decapIpip' : 'decapVxlan';

  const { skip } = needs({ root: true, tools: ['ip', 'ping', 'sysctl', 'tcpdump', 'tshark', ...(pair.offloadsOff ? ['ethtool'] : [])] });
  const title = `encap: ${pair.a.name} (A) ↔ ${pair.b.name} (B)${pair.offloadsOff ? ', offloads off' : ''}`;

  describe(title, { skip }, () => {
    let t: Topology;
    const tunnels: Partial<Record<Side, TunnelHandle>> = {};

    before(async () => {
      t = await buildTopology('enc');
      if (pair.offloadsOff) disableOffloads(t);
      tunnels.a = await pair.a.setup(t, 'a');
      tunnels.b = await pair.b.setup(t, 'b');
    });

    after(async () => {
      for (const s of SIDES) await tunnels[s]?.close().catch(() => undefined);
      if (t) await destroyTopology(t);
    });

    test('workloads ping each other both ways', () => {
      for (const s of SIDES) {
        const r = ping(t.hosts[s].wl, t.hosts[other(s)].workloadIP);
        assert.ok(r.ok, `${s} -> ${other(s)}: ${r.output}`);
      }
    });

    test(`the underlay carries ${wire === 'ipip' ? 'IP protocol 4' : `UDP ${VXLAN_PORT} with VNI ${VNI}`} between the node addresses`, async () => {
      const { a, b } = t.hosts;
      const filter = wire === 'ipip' ? 'ip proto 4' : `udp port ${VXLAN_PORT}`;
      const pkts = await capture(b.ns, 'eth0', filter, 4, () => {
        const r = ping(a.wl, b.workloadIP, { count: 2 });
        assert.ok(r.ok, r.output);
      });
      assert.ok(pkts.length >= 4, `captured ${pkts.length} tunnel packets`);
      const fromA = pkts.filter((p) => p.ipSrc[0] === a.underlayIP);
      const fromB = pkts.filter((p) => p.ipSrc[0] === b.underlayIP);
      assert.ok(fromA.length >= 2 && fromB.length >= 2, JSON.stringify(pkts));
      for (const [p, src, dst] of [...fromA.map((p) => [p, a, b] as const), ...fromB.map((p) => [p, b, a] as const)]) {
        assert.equal(p.ipDst[0], dst.underlayIP);
        // The inner header carries the workloads.
        assert.equal(p.ipSrc[1], src.workloadIP);
        assert.equal(p.ipDst[1], dst.workloadIP);
        assert.equal(p.ethDst[0], dst.mac, 'outer Ethernet destination is the remote node');
        if (wire === 'ipip') {
          assert.deepEqual(p.ipProto, ['4', '1']);
        } else {
          assert.deepEqual(p.udpDstPort, [String(VXLAN_PORT)]);
          assert.deepEqual(p.vni, [String(VNI)]);
          assert.equal(p.ethDst[1], dst.vtepMac, 'inner Ethernet destination is the remote VTEP');
          assert.equal(p.ethSrc[1], src.vtepMac, 'inner Ethernet source is the local VTEP');
        }
      }
    });

    for (const from of SIDES) {
      const to = other(from);
      test(`TCP carries ${TRANSFER_BYTES} bytes intact from workload ${from.toUpperCase()} to ${to.toUpperCase()}`, async (ctx) => {
        const src = t.hosts[from];
        const dst = t.hosts[to];
        const enc = tunnels[from]?.bpf;
        const dec = tunnels[to]?.bpf;
        const enc0 = enc ? (await enc.counters())[encapKey] : undefined;
        const dec0 = dec ? (await dec.counters())[decapKey] : undefined;
        let r: Awaited<ReturnType<typeof tcpTransfer>> | undefined;
        const transfer = async () => { r = await tcpTransfer(src.wl, dst.wl, dst.workloadIP, TRANSFER_BYTES); };
        if (pair.offloadsOff) {
          // What reaches the wire was segmented: no tunnel packet exceeds the MTU.
          const filter = `src host ${src.underlayIP} and ${wire === 'ipip' ? 'ip proto 4' : `udp port ${VXLAN_PORT}`}`;
          const pkts = await capture(dst.ns, 'eth0', filter, 500, transfer);
          assert.ok(pkts.length >= 100, `captured ${pkts.length}`);
          const max = Math.max(...pkts.map((p) => p.frameLen));
          ctx.diagnostic(`largest tunnel frame on the wire: ${max} bytes`);
          assert.ok(max <= t.hostMtu + 14, `a ${max}-byte frame went out unsegmented`);
        } else {
          await transfer();
        }
        assert.ok(r);
        assert.equal(r.receivedBytes, r.sentBytes);
        assert.equal(r.receivedSha256, r.sentSha256);
        // GSO: the programs see TCP super-packets, far larger than the MTU, and the
        // kernel still cuts them into well-formed tunnel packets (the checksum above).
        if (enc && enc0) {
          const d = delta((await enc.counters())[encapKey], enc0);
          const avg = Number(d.bytes) / Number(d.packets);
          ctx.diagnostic(`${from}: encapsulated ${d.packets} packets, ${d.bytes} bytes, ${avg.toFixed(0)} bytes each`);
          assert.ok(d.bytes >= BigInt(TRANSFER_BYTES), `encapsulated only ${d.bytes} bytes`);
          assert.ok(avg > t.hostMtu, 'no GSO packet was encapsulated');
        }
        if (dec && dec0) {
          const d = delta((await dec.counters())[decapKey], dec0);
          ctx.diagnostic(`${to}: decapsulated ${d.packets} packets, ${d.bytes} bytes, ${(Number(d.bytes) / Number(d.packets)).toFixed(0)} bytes each`);
          assert.ok(d.bytes >= BigInt(TRANSFER_BYTES), `decapsulated only ${d.bytes} bytes`);
        }
      });
    }

    test('MTU: a DF ping filling the tunnel MTU passes, one byte more gets "frag needed"', () => {
      const { a, b } = t.hosts;
      const mtu = tunnelMtu(t.hostMtu, wire);
      const fits = ping(a.wl, b.workloadIP, { count: 1, size: mtu - 28, df: true });
      assert.ok(fits.ok, fits.output);
      const big = ping(a.wl, b.workloadIP, { count: 2, size: mtu - 27, df: true });
      assert.equal(big.ok, false, big.output);
      assert.match(big.output, new RegExp(`mtu ?=? ?${mtu}\\b`), big.output);
    });

    test('nothing was dropped by the eBPF programs', async () => {
      for (const s of SIDES) {
        const bpf = tunnels[s]?.bpf;
        if (!bpf) continue;
        const drops = Object.entries(await bpf.drops()).filter(([, c]) => c.packets > 0n);
        assert.deepEqual(drops, [], `${s}: ${JSON.stringify(drops, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      }
    });
  });
}
