// An IPv6 pool with vxlanMode Always, end to end through two agents (`tabby node run`) on
// an IPv6-only underlay (IP=none: no IPv4 address anywhere), one node in eBPF mode and
// one in iptables mode (the kernel's vxlan-v6.tabby). Each agent takes its IPv6 tunnel
// address from the pool and writes it with its IPv6 VTEP MAC into its Node, as
// calico-node does (allocateip: handle vxlan-v6-tunnel-addr-NODE; Felix
// felix/calc/vxlan_resolver.go vtepMACForHost: the MAC hashes NODE + "-v6"); each routes
// the other's block over IPv6 VXLAN, and workloads of the two blocks ping each other.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Address6 } from 'ip-address';
import { cidrContains } from '../../src/api/net.js';
import { vtepMac } from '../../src/dataplane/encap/vtep-mac.js';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeDump } from '../../src/native/routes.js';
import { ip, run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { TABBY, tabby } from '../helpers/cli.js';
import { nodeRouterPair, type NodeRouterPair } from '../helpers/netns.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'ping', 'sysctl', 'ip6tables', 'ipset', 'iptables'] });
const POOL6 = 'fd5e:76::/64';

interface Side {
  name: string;
  ns: string;
  ifname: string;
  dataplane: 'bpf' | 'iptables';
  stateDir: string;
  agent?: ChildProcess;
  wl?: string;
}

describe('IPv6 VXLAN pool through two agents, eBPF and kernel device, IPv6-only underlay', { skip }, () => {
  let pair: NodeRouterPair | undefined;
  let dir = '';
  const sides: Side[] = [];

  after(async () => {
    for (const s of sides) if (s.agent?.pid) await stopPid(s.agent.pid, 5000);
    for (const s of sides) if (s.wl) await ip(['netns', 'del', s.wl], undefined, { allowFail: true });
    if (pair) for (const ns of [pair.node, pair.router]) await ip(['netns', 'del', ns], undefined, { allowFail: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const log = (s: Side) => {
    try {
      return readFileSync(join(dir, `${s.name}.log`), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  };

  test('tunnel addresses and MACs in the Nodes, vxlan-v6.tabby beside eBPF, workloads ping both ways', async () => {
    pair = await nodeRouterPair('tvx6', { ipv4: false });
    dir = mkdtempSync(join(tmpdir(), 'tabby-vx6-'));
    chmodSync(dir, 0o755);
    const store = join(dir, 'store');
    sides.push(
      { name: 'n1', ns: pair.node, ifname: 'n0', dataplane: 'bpf', stateDir: join(dir, 's1') },
      { name: 'n2', ns: pair.router, ifname: 'r0', dataplane: 'iptables', stateDir: join(dir, 's2') },
    );
    const applied = tabby(store, ['apply', '-f', '-'], `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v6}
spec: {cidr: "${POOL6}", blockSize: 122, vxlanMode: Always}`);
    assert.equal(applied.code, 0, applied.stderr);
    for (const s of sides) {
      await run(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1'], { netns: s.ns });
      s.agent = startDaemon([
        process.execPath, TABBY, 'node', 'run', '--name', s.name, '--datastore', `file:${store}`, '--state-dir', s.stateDir,
        '--dataplane', s.dataplane, '--ip6-autodetection-method', `interface=${s.ifname}`,
        '--no-default-pools', '--health-port', '-1', '--metrics-port', '-1', '--secrets-dir', join(dir, 'secrets'),
      ], { netns: s.ns, logFile: join(dir, `${s.name}.log`), env: { PATH: process.env.PATH, TABBY_LOG_LEVEL: 'info', IP: 'none', IP6: 'autodetect' } });
    }

    // Each node: its block (the blackhole), its tunnel address and MAC in its Node.
    const blocks = new Map<string, string>();
    const specs = new Map<string, Record<string, string>>();
    for (const s of sides) {
      await waitFor(`${s.name} to hold its IPv6 block and tunnel address`, async () => {
        const bh = (await routeDump({ family: 6, netns: s.ns, protocol: RTPROT_TABBY })).find((r) => r.type === 'blackhole');
        const got = tabby(store, ['get', 'node', s.name, '-o', 'json']);
        const spec = got.code === 0 ? (JSON.parse(got.stdout) as { spec: Record<string, string> }).spec : {};
        if (!bh || !spec.ipv6VXLANTunnelAddr) return false;
        blocks.set(s.name, bh.dst);
        specs.set(s.name, spec);
        return true;
      }, 30_000).catch((err: Error) => assert.fail(`${err.message}\n${log(s)}`));
      const spec = specs.get(s.name)!;
      assert.ok(cidrContains(blocks.get(s.name)!, spec.ipv6VXLANTunnelAddr!), `${s.name}: tunnel address ${spec.ipv6VXLANTunnelAddr} in its block ${blocks.get(s.name)}`);
      assert.equal(spec.vxlanTunnelMACAddrV6, vtepMac(`${s.name}-v6`));
      assert.equal(spec.ipv4VXLANTunnelAddr, undefined, 'no IPv4 pool: no IPv4 tunnel address');
    }
    const [n1, n2] = sides as [Side, Side];

    // n2 (iptables): the kernel device and the route through it, gateway n1's tunnel address.
    await waitFor('n2 to route n1\'s block through vxlan-v6.tabby', async () => {
      const r = await run(['ip', '-6', 'route', 'show', blocks.get('n1')!], { netns: n2.ns, allowFail: true });
      return r.stdout.includes(`via ${specs.get('n1')!.ipv6VXLANTunnelAddr} dev vxlan-v6.tabby`);
    }, 30_000).catch((err: Error) => assert.fail(`${err.message}\n${log(n2)}`));
    const dev = (await run(['ip', '-d', 'link', 'show', 'vxlan-v6.tabby'], { netns: n2.ns })).stdout;
    assert.match(dev, new RegExp(`vxlan id 4096 local ${pair.router6} dev r0 .*dstport 4789`));
    // n1 (eBPF): no device; the route leaves through n0 towards n2 with MTU 1500 − 70.
    await waitFor('n1 to route n2\'s block out of n0', async () => {
      const r = await run(['ip', '-6', 'route', 'show', blocks.get('n2')!], { netns: n1.ns, allowFail: true });
      return r.stdout.includes(`via ${pair!.router6} dev n0`) && r.stdout.includes('mtu 1430');
    }, 30_000).catch((err: Error) => assert.fail(`${err.message}\n${log(n1)}`));
    assert.doesNotMatch((await run(['ip', 'link', 'show'], { netns: n1.ns })).stdout, /vxlan/);

    // A workload in each block (the address after the tunnel address), pinging the other.
    const addr = (s: Side) => Address6.fromBigInt(new Address6(blocks.get(s.name)!).startAddress().bigInt() + 5n).correctForm();
    for (const s of sides) {
      s.wl = `${s.ns}w`;
      await ip(['netns', 'add', s.wl]);
      await ip(['link', 'add', 'wl0', 'type', 'veth', 'peer', 'name', 'w0', 'netns', s.wl], s.ns);
      await ip(['addr', 'add', 'fe80::1/64', 'dev', 'wl0', 'nodad'], s.ns);
      await ip(['link', 'set', 'wl0', 'up'], s.ns);
      await ip(['route', 'add', `${addr(s)}/128`, 'dev', 'wl0'], s.ns);
      await ip(['link', 'set', 'lo', 'up'], s.wl);
      await ip(['addr', 'add', `${addr(s)}/128`, 'dev', 'w0', 'nodad'], s.wl);
      await ip(['link', 'set', 'w0', 'up'], s.wl);
      await ip(['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'w0'], s.wl);
    }
    for (const [from, to] of [[n1, n2], [n2, n1]] as const) {
      let out = '';
      const ok = await waitFor(`${from.name}'s workload to reach ${to.name}'s`, async () => {
        const r = await run(['ping', '-6', '-n', '-c', '2', '-i', '0.2', '-W', '1', addr(to)], { netns: from.wl!, allowFail: true });
        out = r.stdout + r.stderr;
        return r.code === 0;
      }, 10_000).then(() => true, () => false);
      assert.ok(ok, `${from.name} -> ${to.name}: ${out}\n${log(from)}`);
    }
  });
});
