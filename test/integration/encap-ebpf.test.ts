// What only the eBPF tunnel has: a map that the control plane rewrites at run time,
// drop counters by reason, and the checks on what it decapsulates. Topology: eBPF
// IPIP on both hosts (encap-topology.ts), with crafted frames sent from host B.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.js';
import { HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { BpfEncap } from '../../src/dataplane/encap/bpf-encap.js';
import {
  DROP_REASONS, ENCAP_COUNTERS, type DropReason, type EncapCounterName, type EncapEntry,
} from '../../src/dataplane/encap/encap-map-codec.js';
import { destroyTopology, ebpfIpip, SIDES, VNI, VXLAN_PORT, type Side, type Topology, type TunnelHandle } from '../../src/bench/encap-topology.js';
import { buildTopology, capture, ping, run, sendFrames } from './encap-topology.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'sysctl', 'tcpdump', 'tshark', 'bpftool', 'python3'] });


// ---- frames ----

function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ip4 = (a: string) => Buffer.from(a.split('.').map(Number));

interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  tos?: number;
  /** Flags and fragment offset as the 16-bit field. */
  frag?: number;
  ihl?: number;
  totLen?: number;
  badChecksum?: boolean;
}

function ipv4(o: Ipv4Opts): Buffer {
  const ihl = o.ihl ?? 5;
  const h = Buffer.alloc(Math.max(ihl, 5) * 4);
  h[0] = 0x40 | ihl;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totLen ?? h.length + o.payload.length, 2);
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(o.frag ?? 0x4000, 6);
  h[8] = 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  h.writeUInt16BE(inetChecksum(h) ^ (o.badChecksum ? 0x0f0f : 0), 10);
  return Buffer.concat([h, o.payload]);
}

function icmpEcho(): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 8;
  b.writeUInt16BE(0x7ab, 4);
  b.writeUInt16BE(1, 6);
  b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

function udp(dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(40000, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

function vxlan(vni: number, payload: Buffer, flags = 0x08): Buffer {
  const h = Buffer.alloc(8);
  h[0] = flags;
  h.writeUInt32BE(vni << 8, 4);
  return Buffer.concat([h, payload]);
}

const mac = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

function eth(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  mac(dst).copy(h, 0);
  mac(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

/** The counters a frame must change, and no others: `drop:REASON` or `counter:NAME`. */
type Outcome = Array<`drop:${DropReason}` | `counter:${EncapCounterName}`>;

describe('eBPF encap: run-time map changes and what decapsulation refuses', NEEDS, () => {
  let t: Topology;
  const tunnels: Partial<Record<Side, TunnelHandle>> = {};
  const bpfA = (): BpfEncap => tunnels.a!.bpf!;
  const entryToB = (): EncapEntry => ({ block: t.hosts.b.block, remoteIP: t.hosts.b.underlayIP, kind: 'ipip' });

  before(async () => {
    t = await buildTopology('ebpf');
    tunnels.a = await ebpfIpip.setup(t, 'a');
    tunnels.b = await ebpfIpip.setup(t, 'b');
  });

  after(async () => {
    for (const s of SIDES) await tunnels[s]?.close().catch(() => undefined);
    if (t) await destroyTopology(t);
  });

  test('removing the entry stops encapsulation; declaring it again restores it', async () => {
    const { a, b } = t.hosts;
    assert.ok(ping(a.wl, b.workloadIP).ok);
    assert.deepEqual(await bpfA().setEntries([]), { added: 0, updated: 0, removed: 1 });
    const enc0 = (await bpfA().counters()).encapIpip;
    const pkts = await capture(b.ns, 'eth0', `icmp or ip proto 4`, 4, () => {
      // The requests now leave A unencapsulated; B's encapsulated replies are refused,
      // since B is no longer A's peer.
      assert.equal(ping(a.wl, b.workloadIP, { count: 2 }).ok, false);
    });
    assert.equal((await bpfA().counters()).encapIpip.packets, enc0.packets, 'A still encapsulates');
    assert.ok(pkts.some((p) => p.ipSrc[0] === a.workloadIP && p.ipProto[0] === '1'), JSON.stringify(pkts));
    assert.ok(!pkts.some((p) => p.ipSrc[0] === a.underlayIP), JSON.stringify(pkts));
    assert.ok((await bpfA().drops()).unknownPeer.packets > 0n);

    assert.deepEqual(await bpfA().setEntries([entryToB()]), { added: 1, updated: 0, removed: 0 });
    assert.ok(ping(a.wl, b.workloadIP).ok);
    assert.ok((await bpfA().counters()).encapIpip.packets > enc0.packets);
    // Declaring the same set again changes nothing.
    assert.deepEqual(await bpfA().setEntries([entryToB()]), { added: 0, updated: 0, removed: 0 });
  });

  test('apply() restores an entry deleted behind its back', async () => {
    const { a, b } = t.hosts;
    // Find the live encap_routes map through the attached program, and delete B's block.
    const filters = run('tc', '-n', a.ns, 'filter', 'show', 'dev', 'eth0', 'egress');
    const progId = /tabby_to_dev.* id (\d+)/.exec(filters)?.[1];
    assert.ok(progId, filters);
    const prog = JSON.parse(run('bpftool', '-j', 'prog', 'show', 'id', progId)) as { map_ids: number[] };
    const mapId = prog.map_ids.find((id) =>
      (JSON.parse(run('bpftool', '-j', 'map', 'show', 'id', String(id))) as { name: string }).name === 'encap_routes');
    assert.ok(mapId !== undefined);
    const [net, len] = b.block.split('/') as [string, string];
    const key = [...Buffer.from([Number(len), 0, 0, 0]), ...ip4(net)].map(String);
    run('bpftool', 'map', 'delete', 'id', String(mapId), 'key', ...key);

    const enc0 = (await bpfA().counters()).encapIpip;
    ping(a.wl, b.workloadIP, { count: 1 });
    assert.equal((await bpfA().counters()).encapIpip.packets, enc0.packets, 'entry was not deleted');
    assert.deepEqual(await bpfA().apply(), { added: 1, updated: 0, removed: 0 });
    assert.ok(ping(a.wl, b.workloadIP).ok);
    assert.ok((await bpfA().counters()).encapIpip.packets > enc0.packets);
  });

  test('an invalid entry list is refused whole and the map keeps its entries', async () => {
    const { a, b } = t.hosts;
    const bad: Array<[string, EncapEntry[]]> = [
      ['host bits', [{ ...entryToB(), block: `${b.workloadIP}/26` }]],
      ['IPv6 block', [{ ...entryToB(), block: 'fd00::/122' }]],
      ['bad remote', [{ ...entryToB(), remoteIP: '10.0.0.300' }]],
      ['vxlan without MAC', [{ ...entryToB(), kind: 'vxlan' }]],
      ['multicast MAC', [{ ...entryToB(), kind: 'vxlan', vtepMac: '01:00:5e:00:00:01' }]],
      ['conflicting duplicate', [entryToB(), { ...entryToB(), remoteIP: '10.250.0.9' }]],
    ];
    for (const [name, entries] of bad) {
      await assert.rejects(bpfA().setEntries(entries), ValidationError, name);
    }
    const enc0 = (await bpfA().counters()).encapIpip;
    assert.ok(ping(a.wl, b.workloadIP).ok);
    assert.ok((await bpfA().counters()).encapIpip.packets > enc0.packets);
  });

  test('malformed and foreign tunnel packets are counted and not decapsulated', async () => {
    const { a, b } = t.hosts;
    const inner = (tos = 0) => ipv4({ src: b.workloadIP, dst: a.workloadIP, proto: 1, payload: icmpEcho(), tos });
    const ipip = (o: Partial<Ipv4Opts> = {}) =>
      eth(a.mac, b.mac, 0x0800, ipv4({ src: b.underlayIP, dst: a.underlayIP, proto: 4, payload: inner(), ...o }));
    const vx = (innerMac: string, type: number, o: { vni?: number; flags?: number; cut?: number } = {}) => {
      const l2 = eth(innerMac, b.vtepMac, type, type === 0x0800 ? inner() : Buffer.alloc(28));
      const payload = vxlan(o.vni ?? VNI, l2, o.flags);
      return eth(a.mac, b.mac, 0x0800, ipv4({
        src: b.underlayIP, dst: a.underlayIP, proto: 17,
        payload: udp(VXLAN_PORT, o.cut === undefined ? payload : payload.subarray(0, o.cut)),
      }));
    };
    const x = a.underlayIP.split('.').slice(0, 3).join('.');
    const cases: Array<[string, Buffer, Outcome]> = [
      // A decapsulates the echo request and encapsulates wa's reply.
      ['valid IPIP (control)', ipip(), ['counter:encapIpip', 'counter:decapIpip']],
      ['IPIP with a wrong outer checksum', ipip({ badChecksum: true }), ['drop:badIpCsum']],
      ['IPIP with an outer header length below 20', ipip({ ihl: 4 }), ['drop:malformedIp']],
      ['IPIP longer than its frame', ipip({ totLen: 200 }), ['drop:malformedIp']],
      ['IPIP fragment', ipip({ frag: 0x2000 }), ['drop:fragment']],
      ['IPIP whose inner header is cut short', ipip({ payload: Buffer.alloc(8, 0x45) }), ['drop:innerMalformed']],
      ['IPIP whose inner packet is not IPv4', ipip({ payload: Buffer.alloc(40, 0x60) }), ['drop:innerMalformed']],
      ['IPIP from an address that is not a peer', ipip({ src: `${x}.77` }), ['drop:unknownPeer']],
      ['IPIP for another address', ipip({ dst: `${x}.99` }), ['counter:tunnelNotLocal']],
      ['IPIP marked CE around a not-ECT packet', ipip({ tos: 3, payload: inner(0) }), ['drop:ecn']],
      ['VXLAN to another VTEP MAC', vx('66:01:02:03:04:05', 0x0800), ['drop:vxlanInnerMac']],
      ['VXLAN carrying ARP', vx(a.vtepMac, 0x0806), ['drop:vxlanInnerProto']],
      ['VXLAN without the I flag', vx(a.vtepMac, 0x0800, { flags: 0 }), ['drop:vxlanMalformed']],
      ['VXLAN cut after its header', vx(a.vtepMac, 0x0800, { cut: 12 }), ['drop:vxlanMalformed']],
      ['VXLAN with another VNI', vx(a.vtepMac, 0x0800, { vni: VNI + 1 }), ['counter:vxlanOtherVni']],
      ['VXLAN from a node that is only an IPIP peer', vx(a.vtepMac, 0x0800), ['drop:unknownPeer']],
    ];
    for (const [name, frame, want] of cases) {
      const c0 = await bpfA().counters();
      const d0 = await bpfA().drops();
      const changed = async (): Promise<string[]> => {
        const c1 = await bpfA().counters();
        const d1 = await bpfA().drops();
        return [
          ...ENCAP_COUNTERS.filter((k) => c1[k].packets !== c0[k].packets).map((k) => `counter:${k}`),
          ...DROP_REASONS.filter((k) => d1[k].packets !== d0[k].packets).map((k) => `drop:${k}`),
        ];
      };
      sendFrames(b.ns, 'eth0', [frame]);
      // The receiving side runs in a softirq, possibly on the other CPU: poll briefly.
      let got = await changed();
      for (let i = 0; i < 20 && got.length < want.length; i++) {
        await new Promise((r) => setTimeout(r, 50));
        got = await changed();
      }
      // And nothing else a moment later.
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await changed(), want, name);
    }
  });

  test('a wrong ifindex is refused at load and leaves nothing attached', async () => {
    const { a } = t.hosts;
    const before = run('tc', '-n', a.ns, 'filter', 'show', 'dev', 'eth0', 'ingress');
    const extra = new HostProgram({ ifname: 'eth0', netns: a.ns, ifindex: a.ifindex + 100 });
    await assert.rejects(extra.load([new BpfEncap(extra, { nodeIP: a.underlayIP })]), ValidationError);
    assert.equal(extra.loaded, false);
    assert.equal(run('tc', '-n', a.ns, 'filter', 'show', 'dev', 'eth0', 'ingress'), before);
  });

  test('close() detaches both programs and is idempotent', async () => {
    const { a } = t.hosts;
    await tunnels.a!.host!.close();
    for (const dir of ['ingress', 'egress']) {
      assert.doesNotMatch(run('tc', '-n', a.ns, 'filter', 'show', 'dev', 'eth0', dir), /tabby_/);
    }
    await assert.rejects(bpfA().counters(), ValidationError);
    await tunnels.a!.host!.close();
  });
});
