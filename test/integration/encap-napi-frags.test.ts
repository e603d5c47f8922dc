// VXLAN decapsulation of paged skbs, as NICs that leave only the headers linear
// deliver them: a tap opened with IFF_NAPI | IFF_NAPI_FRAGS (test/helpers/napi-tap.ts)
// takes each frame as a 42-byte linear part (Ethernet + IPv4 + UDP, all the flow
// dissector asks for) and page frags for the rest. The VXLAN header, the inner
// Ethernet and IPv4 headers are then in the frags, and whatever decapsulates must pull
// them (bpf_skb_pull_data; the kernel's vxlan_rcv() uses pskb_may_pull the same way).
// Run against the eBPF host programs and against the kernel VXLAN device: both must
// deliver every datagram to the workload.
//
//   injected ──> tap0 (node ns, node address) ── wl0 ──> eth0 (workload ns)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { BpfEncap } from '../../src/dataplane/encap/bpf-encap.js';
import { vtepMac } from '../../src/dataplane/encap/vtep-mac.js';
import { capture, run } from './encap-topology.js';
import { eth, ipv4, udp, vxlan } from '../helpers/frames.js';
import { NapiTap } from '../helpers/napi-tap.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'sysctl', 'tcpdump', 'tshark', 'python3'] });

const VNI = 4096;
const VXLAN_PORT = 4789;
const DPORT = 7777;
/** What the tap's NAPI_FRAGS path leaves linear: Ethernet, IPv4, UDP. */
const LINEAR = 14 + 20 + 8;
const COUNT = 20;

interface Net {
  node: string;
  wl: string;
  tap: NapiTap;
  tapMac: string;
  nodeIP: string;
  peerIP: string;
  block: string;
  workloadIP: string;
  peerBlock: string;
  peerWorkloadIP: string;
  vtepMac: string;
  peerVtepMac: string;
  ifindex: number;
}

interface Decapper {
  name: string;
  /** Sets up decapsulation on tap0; returns its eBPF feature when there is one. */
  setup(n: Net): Promise<{ close(): Promise<void>; bpf?: BpfEncap }>;
}

const ebpf: Decapper = {
  name: 'eBPF host programs',
  async setup(n) {
    const host = new HostProgram({ ifname: 'tap0', netns: n.node, ifindex: n.ifindex });
    const bpf = new BpfEncap(host, {
      nodeIP: n.nodeIP, vtepMac: n.vtepMac, realms: [],
      entries: [{ block: n.peerBlock, remoteIP: n.peerIP, kind: 'vxlan', vtepMac: n.peerVtepMac }],
    });
    await host.load([bpf]);
    return { bpf, close: () => host.close() };
  },
};

const kernel: Decapper = {
  name: 'kernel VXLAN device',
  async setup(n) {
    const ipn = (...a: string[]) => run('ip', '-n', n.node, ...a);
    ipn('link', 'add', 'vxlan.tabby', 'type', 'vxlan', 'id', String(VNI), 'dstport', String(VXLAN_PORT),
      'local', n.nodeIP, 'dev', 'tap0', 'nolearning');
    ipn('link', 'set', 'vxlan.tabby', 'address', n.vtepMac, 'up');
    ipn('route', 'replace', n.peerBlock, 'via', '169.254.1.1', 'dev', 'vxlan.tabby', 'onlink');
    return { close: async () => void run('ip', '-n', n.node, 'link', 'del', 'vxlan.tabby') };
  },
};

async function buildNet(): Promise<Net> {
  const tag = randomBytes(3).toString('hex');
  const x = randomInt(1, 250);
  const y = randomInt(1, 250);
  const node = `tbt-napi-${tag}-h`;
  const wl = `tbt-napi-${tag}-w`;
  run('ip', 'netns', 'add', node);
  try {
    run('ip', 'netns', 'add', wl);
    const tap = await NapiTap.open(node, 'tap0');
    const n: Net = {
      node, wl, tap, tapMac: '02:00:0a:fa:00:02', nodeIP: `10.250.${x}.2`, peerIP: `10.250.${x}.1`,
      block: `10.251.${y}.0/26`, workloadIP: `10.251.${y}.2`, peerBlock: `10.251.${y}.64/26`,
      peerWorkloadIP: `10.251.${y}.66`, vtepMac: vtepMac(`napi-${tag}`), peerVtepMac: vtepMac(`napi-peer-${tag}`), ifindex: 0,
    };
    const ipn = (ns: string, ...a: string[]) => run('ip', '-n', ns, ...a);
    ipn(node, 'link', 'set', 'tap0', 'address', n.tapMac, 'up');
    ipn(node, 'addr', 'add', `${n.nodeIP}/24`, 'dev', 'tap0');
    ipn(node, 'link', 'add', 'wl0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wl);
    ipn(node, 'addr', 'add', `10.251.${y}.1/26`, 'dev', 'wl0');
    ipn(wl, 'addr', 'add', `${n.workloadIP}/26`, 'dev', 'eth0');
    for (const [ns, dev] of [[node, 'lo'], [node, 'wl0'], [wl, 'lo'], [wl, 'eth0']] as const) ipn(ns, 'link', 'set', dev, 'up');
    ipn(wl, 'route', 'add', 'default', 'via', `10.251.${y}.1`);
    // The way back to the sender's block, so strict reverse-path filtering passes.
    ipn(node, 'route', 'add', n.peerBlock, 'via', n.peerIP, 'dev', 'tap0', 'onlink');
    run('ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=1');
    n.ifindex = (JSON.parse(ipn(node, '-j', 'link', 'show', 'dev', 'tap0')) as Array<{ ifindex: number }>)[0]!.ifindex;
    return n;
  } catch (err) {
    await destroyNet({ node, wl });
    throw err;
  }
}

async function destroyNet(n: { node: string; wl: string; tap?: NapiTap }): Promise<void> {
  await n.tap?.close().catch(() => undefined);
  for (const ns of [n.wl, n.node]) {
    try {
      run('ip', 'netns', 'del', ns);
    } catch {
      /* not created */
    }
  }
}

/** A VXLAN frame from the peer node carrying UDP from the peer's workload to ours. */
function vxlanFrame(n: Net, seq: number, payloadLen: number): Buffer {
  const payload = Buffer.alloc(payloadLen, seq & 0xff);
  const inner = eth(n.vtepMac, n.peerVtepMac, 0x0800,
    ipv4({ src: n.peerWorkloadIP, dst: n.workloadIP, proto: 17, payload: udp(DPORT, payload) }));
  return eth(n.tapMac, '02:00:0a:fa:00:01', 0x0800,
    ipv4({ src: n.peerIP, dst: n.nodeIP, proto: 17, payload: udp(VXLAN_PORT, vxlan(VNI, inner)) }));
}

/** Cuts a frame into a LINEAR-byte head and `frags` roughly equal page frags. */
function split(frame: Buffer, frags: number): Buffer[] {
  const out = [frame.subarray(0, LINEAR)];
  const rest = frame.length - LINEAR;
  const step = Math.ceil(rest / frags);
  for (let off = LINEAR; off < frame.length; off += step) out.push(frame.subarray(off, Math.min(off + step, frame.length)));
  return out;
}

for (const d of [ebpf, kernel]) {
  describe(`VXLAN decapsulation of paged skbs (IFF_NAPI_FRAGS, ${LINEAR} linear bytes): ${d.name}`, NEEDS, () => {
    let n: Net | undefined;
    let handle: Awaited<ReturnType<Decapper['setup']>> | undefined;

    before(async () => {
      n = await buildNet();
      handle = await d.setup(n);
    });

    after(async () => {
      await handle?.close().catch(() => undefined);
      if (n) await destroyNet(n);
    });

    for (const [payloadLen, frags] of [[64, 1], [1200, 3]] as const) {
      test(`${COUNT} datagrams of ${payloadLen} bytes, headers in ${frags} frag(s), all reach the workload`, async (ctx) => {
        const net = n!;
        const dec0 = handle?.bpf ? (await handle.bpf.counters()).decapVxlan.packets : 0n;
        const pkts = await capture(net.wl, 'eth0', `udp dst port ${DPORT}`, COUNT, async () => {
          for (let i = 0; i < COUNT; i++) {
            const frame = vxlanFrame(net, i, payloadLen);
            assert.equal(await net.tap.write(split(frame, frags)), frame.length);
          }
        });
        assert.equal(pkts.length, COUNT, `delivered ${pkts.length} of ${COUNT}`);
        for (const p of pkts) {
          assert.deepEqual([p.ipSrc, p.ipDst], [[net.peerWorkloadIP], [net.workloadIP]]);
          assert.equal(p.frameLen, 14 + 20 + 8 + payloadLen);
        }
        if (handle?.bpf) {
          const dec = (await handle.bpf.counters()).decapVxlan.packets - dec0;
          ctx.diagnostic(`decapsulated by eBPF: ${dec}`);
          assert.equal(dec, BigInt(COUNT));
          const drops = Object.entries(await handle.bpf.drops()).filter(([, c]) => c.packets > 0n).map(([k]) => k);
          assert.deepEqual(drops, []);
        }
      });
    }
  });
}
