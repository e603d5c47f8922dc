// IPv6 VXLAN between two nodes whose underlay is IPv6 only (no IPv4 address on it), as
// Calico's vxlanModeV6: vxlan-v6.calico, VNI 4096, UDP 4789, the outer header IPv6
// (felix/dataplane/linux/vxlan_mgr.go with ipVersion 6; dataplanedefs VXLANIfaceNameV6).
// Each node runs Tabby's Dataplane in its own mode; the pairings are the kernel device
// on both ends, and (once eBPF carries IPv6 VXLAN) eBPF against the kernel device and
// eBPF on both ends. Workload namespaces with pool addresses ping each other and move
// data over TCP; a capture on the underlay shows outer IPv6, UDP 4789, VNI 4096 between
// the node addresses, and with checksum offloads off every outer UDP checksum verified
// by tshark (IPv6 UDP needs one: a kernel VXLAN device without udp6zerocsumrx drops a
// zero checksum, RFC 8200 §8.1).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Dataplane } from '../../src/dataplane/dataplane.js';
import type { DataplaneMode } from '../../src/dataplane/dataplane-plan.js';
import { capture, ping6, tcpTransfer } from './encap-topology.js';
import { run } from './netlink-netns.js';
import { buildNodes, destroyNodes, inNs, startPlanes, type Node6 } from './vxlan-v6-nodes.js';
import { needs } from '../helpers/require.js';

const VNI = 4096;
const PORT = 4789;

const PAIRS: Array<{ a: DataplaneMode; b: DataplaneMode; offloadsOff?: boolean }> = [
  { a: 'iptables', b: 'iptables' },
  { a: 'bpf', b: 'iptables' },
  { a: 'bpf', b: 'bpf' },
  { a: 'iptables', b: 'iptables', offloadsOff: true },
  { a: 'bpf', b: 'iptables', offloadsOff: true },
];

const modeName = (m: DataplaneMode) => (m === 'bpf' ? 'eBPF' : 'kernel vxlan-v6.tabby');

for (const pair of PAIRS) {
  const tools = ['ip', 'tc', 'ping', 'sysctl', 'tcpdump', 'tshark', 'ipset', 'ip6tables', 'iptables', ...(pair.offloadsOff ? ['ethtool'] : [])];
  describe(`IPv6 VXLAN on an IPv6-only underlay: ${modeName(pair.a)} (A) ↔ ${modeName(pair.b)} (B)${pair.offloadsOff ? ', offloads off' : ''}`, needs({ root: true, tools }), () => {
    const tag = randomBytes(3).toString('hex');
    const x = 0x100 + (parseInt(tag, 16) % 0xe00);
    let nodes: Node6[] = [];
    const planes: Dataplane[] = [];

    before(async () => {
      nodes = buildNodes(tag, x);
      if (pair.offloadsOff) {
        for (const n of nodes) {
          inNs(n.ns, 'ethtool', '-K', 'eth0', 'tx-checksum-ip-generic', 'off', 'tx-udp_tnl-segmentation', 'off');
          inNs(n.wl, 'ethtool', '-K', 'eth0', 'tx-checksum-ip-generic', 'off', 'tso', 'off');
        }
      }
      await startPlanes(nodes, [pair.a, pair.b], planes);
    });

    after(async () => {
      for (const dp of planes) await dp.cleanup().catch(() => undefined);
      // cleanup() takes the programs off eth0; the namespaces go with everything else.
      destroyNodes(nodes);
    });

    test('the underlay has no IPv4 address: the tunnel can only ride IPv6', () => {
      for (const n of nodes) assert.equal(run('ip', '-n', n.ns, '-4', 'addr', 'show', 'dev', 'eth0').trim(), '', n.name);
    });

    // Each of the next two applies to one kind of node; it is registered for that pairing alone.
    if (pair.a === 'iptables') test('the kernel device is Calico\'s vxlan-v6.calico under Tabby\'s name: VNI 4096, port 4789, local = node IPv6, MTU 1500 − 70', () => {
      const a = nodes[0]!;
      const d = run('ip', '-n', a.ns, '-d', 'link', 'show', 'vxlan-v6.tabby');
      assert.match(d, /mtu 1430 /);
      assert.match(d, new RegExp(`vxlan id ${VNI} local ${a.nodeIP} dev eth0 .*dstport ${PORT} nolearning`));
      // IPv6 UDP checksums sent (the kernel's default, noudp6zerocsumtx); zero ones taken
      // (udp6zerocsumrx, RFC 6935), which eBPF sends for GSO packets.
      assert.match(d, / noudp6zerocsumtx udp6zerocsumrx/);
      assert.match(run('ip', '-n', a.ns, '-6', 'route', 'show', nodes[1]!.block), new RegExp(`via ${nodes[1]!.tunnelIP} dev vxlan-v6.tabby .*onlink`));
      assert.match(run('ip', 'netns', 'exec', a.ns, 'ipset', 'list', 'tabby-all-hosts-v6'), new RegExp(`^${nodes[1]!.nodeIP}$`, 'm'));
    });

    if (pair.a === 'bpf') test('an eBPF node tunnels with no device: no vxlan-v6.tabby, Tabby\'s filter on eth0 both ways', () => {
      const a = nodes[0]!;
      assert.doesNotMatch(run('ip', '-n', a.ns, 'link', 'show'), /vxlan/);
      for (const dir of ['ingress', 'egress']) {
        assert.match(run('tc', '-n', a.ns, 'filter', 'show', 'dev', 'eth0', dir), /handle 0x7ab .*tabby_/, dir);
      }
    });

    test('workloads ping each other both ways', () => {
      const [a, b] = nodes as [Node6, Node6];
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const r = ping6(from.wl, to.workloadIP);
        assert.ok(r.ok, `${from.name} -> ${to.name}: ${r.output}`);
      }
    });

    test('a ping larger than the tunnel MTU: Packet Too Big, then fragments from the workload, all through the tunnel', () => {
      const [a, b] = nodes as [Node6, Node6];
      // The first try learns the path MTU (1430) from the node's ICMPv6 Packet Too Big.
      ping6(a.wl, b.workloadIP, { count: 1, size: 2000 });
      const r = ping6(a.wl, b.workloadIP, { count: 2, size: 2000 });
      assert.ok(r.ok, r.output);
    });

    test('TCP between the workloads: 4 MiB arrive intact; a zero UDP checksum only on GSO packets', async (t) => {
      const [a, b] = nodes as [Node6, Node6];
      let r: Awaited<ReturnType<typeof tcpTransfer>> | undefined;
      const pkts = await capture(b.ns, 'eth0', `ip6 src ${a.nodeIP} and udp port ${PORT}`, 300, async () => {
        r = await tcpTransfer(a.wl, b.wl, b.workloadIP, 4 << 20);
      });
      assert.equal(r!.receivedBytes, r!.sentBytes);
      assert.equal(r!.receivedSha256, r!.sentSha256);
      // eBPF cannot checksum a GSO packet's segments (they are cut after tc): those, and
      // only those, carry zero (RFC 6935), which the receiver here takes (udp6zerocsumrx).
      const zero = pkts.filter((p) => p.udpChecksum[0] === '0x0000');
      assert.ok(zero.every((p) => p.frameLen > 1500), `zero checksum on a packet that fits the MTU: ${JSON.stringify(zero.find((p) => p.frameLen <= 1500))}`);
      if (pair.a === 'iptables') assert.equal(zero.length, 0, 'the kernel device always sends a checksum');
      t.diagnostic(`${pkts.length} tunnel packets from A captured, ${zero.length} of them GSO with a zero checksum`);
    });

    test(`the underlay carries IPv6 UDP ${PORT}, VNI ${VNI}, between the node addresses, fragments too${pair.offloadsOff ? ', every UDP checksum right' : ''}`, async () => {
      const [a, b] = nodes as [Node6, Node6];
      // Two small pings, and one large enough to go as two fragments each way (the path
      // MTU was learned above): a fragment is summed byte by byte, so it has a checksum too.
      const pkts = await capture(b.ns, 'eth0', `ip6 and udp port ${PORT}`, 8, () => {
        const r = ping6(a.wl, b.workloadIP, { count: 2 });
        assert.ok(r.ok, r.output);
        const big = ping6(a.wl, b.workloadIP, { count: 1, size: 2000 });
        assert.ok(big.ok, big.output);
      });
      assert.ok(pkts.length >= 8, `captured ${pkts.length} tunnel packets`);
      assert.ok(pkts.filter((p) => p.frameLen > 1400).length >= 2, 'the large ping went as full-size fragments');
      for (const p of pkts) {
        const fromA = p.ip6Src[0] === a.nodeIP;
        assert.deepStrictEqual([p.ip6Src[0], p.ip6Dst[0]], fromA ? [a.nodeIP, b.nodeIP] : [b.nodeIP, a.nodeIP], JSON.stringify(p));
        assert.equal(p.ipSrc.length, 0, 'no IPv4 header anywhere');
        assert.equal(p.udpDstPort[0], String(PORT));
        assert.equal(p.vni[0], String(VNI));
        // The inner frame: from the sender's VTEP MAC to the receiver's, carrying the workloads' IPv6 packet.
        assert.deepStrictEqual([p.ethSrc[1], p.ethDst[1]], fromA ? [a.mac, b.mac] : [b.mac, a.mac]);
        assert.deepStrictEqual([p.ip6Src[1], p.ip6Dst[1]], fromA ? [a.workloadIP, b.workloadIP] : [b.workloadIP, a.workloadIP]);
        assert.notEqual(p.udpChecksum[0], '0x0000', 'IPv6 UDP carries a checksum');
        // Offloads on, a checksum may be left to a NIC that a veth never is: judged only when off.
        if (pair.offloadsOff) assert.equal(p.udpChecksumStatus[0], '1', `tshark: outer UDP checksum good: ${JSON.stringify(p)}`);
      }
    });
  });
}
