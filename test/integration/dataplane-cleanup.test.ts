// `tabby node cleanup` and the mode switch at start (issue #16): a namespace gets the
// whole of one mode — eBPF programs in Tabby's tc slot with pinned maps (bpf), or nat
// and tunnel-guard chains, ipsets and vxlan.tabby (iptables), and Tabby's routes (both)
// — then the real CLI removes it and the kernel is listed: nothing of Tabby's is left.
// A Dataplane of one mode started where the other mode ran removes the other mode's
// leftovers and keeps its routes. One namespace per test, one pin root per test.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Dataplane, type DesiredDataplane } from '../../src/dataplane/dataplane.js';
import { IptablesNat } from '../../src/dataplane/nat/iptables-nat.js';
import { run as exec } from '../../src/util/exec.js';
import { TestNetns } from './netlink-netns.js';
import { TABBY } from '../helpers/cli.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'nsenter', 'tc', 'iptables-save', 'ip6tables-save', 'ipset'] });
const NODE_IP = '10.9.0.1';
const PEER_IP = '10.9.0.3';
const POOLS = [{ cidr: '10.70.0.0/16', natOutgoing: true }];

const desired: DesiredDataplane = {
  routes: [
    { kind: 'blackhole', dst: '10.70.1.0/26' },
    { kind: 'learned', dst: '10.70.2.0/26', nexthops: [{ address: PEER_IP, encap: 'none' }] },
    { kind: 'vxlan', dst: '10.70.3.0/26', vtep: { node: 'n2', nodeIP: PEER_IP, tunnelIP: '10.70.3.0', mac: '66:aa:bb:cc:dd:02', blocks: ['10.70.3.0/26'] } },
  ],
  localVtep: { tunnelIP: '10.70.1.0', mac: '66:aa:bb:cc:dd:01' },
  tunnelSources: [PEER_IP],
};

/** Everything of Tabby's the namespace holds, as text per kind (empty: nothing). */
async function leftovers(ns: TestNetns, root: string): Promise<Record<string, string>> {
  const out = async (argv: string[]) => (await exec(argv, { netns: ns.name })).stdout;
  const tc: string[] = [];
  for (const dev of ['eth0', 'peer0']) {
    for (const dir of ['ingress', 'egress']) tc.push((await exec(['tc', 'filter', 'show', 'dev', dev, dir], { netns: ns.name, allowFail: true })).stdout.trim());
  }
  return {
    tc: tc.filter(Boolean).join('\n'),
    pins: existsSync(root) ? 'pin root present' : '',
    iptables: (await out(['iptables-save'])).split('\n').filter((l) => /tabby/i.test(l)).join('\n'),
    ip6tables: (await out(['ip6tables-save'])).split('\n').filter((l) => /tabby/i.test(l)).join('\n'),
    ipsets: (await out(['ipset', 'list', '-n'])).trim(),
    links: (await out(['ip', '-o', 'link', 'show'])).split('\n').filter((l) => /vxlan(-v6)?\.tabby/.test(l)).join('\n'),
    routes: (await out(['ip', 'route', 'show', 'proto', '88'])).trim(),
  };
}

const NOTHING = { tc: '', pins: '', iptables: '', ip6tables: '', ipsets: '', links: '', routes: '' };

// nsenter, not `ip netns exec`: that one mounts a fresh /sys, hiding the host's bpffs
// (and its pins) at /sys/fs/bpf, as a DaemonSet's hostPath mount would not.
function cli(ns: TestNetns, args: string[]) {
  return exec(['nsenter', `--net=/var/run/netns/${ns.name}`, process.execPath, TABBY, ...args]);
}

function netns(): TestNetns {
  const ns = new TestNetns('tcln');
  ns.veth('eth0', 'peer0', `${NODE_IP}/24`);
  return ns;
}

async function setUp(ns: TestNetns, mode: 'bpf' | 'iptables', root: string): Promise<void> {
  const dp = new Dataplane({
    mode, netns: ns.name, nodeName: 'n1', hostIfname: 'eth0', nodeIP: NODE_IP, hostMtu: 1500, bpfPinRoot: root,
    ...(mode === 'bpf' ? { snat: { nodeIP: NODE_IP } } : {}),
  });
  await dp.start();
  const r = await dp.set(desired);
  assert.ok(r.ok, r.errors.join('; '));
  if (mode === 'bpf') {
    dp.snat!.setPools(POOLS);
    await dp.snat!.apply();
  } else {
    const nat = new IptablesNat({ netns: ns.name });
    nat.setPools(POOLS);
    await nat.apply();
    await nat.close();
  }
  // The agent stops: everything stays for its successor.
  await dp.stop();
}

describe('tabby node cleanup', { ...NEEDS, timeout: 120_000 }, () => {
  const made: TestNetns[] = [];
  const roots: string[] = [];
  const fresh = () => {
    const ns = netns();
    made.push(ns);
    const root = `/sys/fs/bpf/tabby-test-${randomBytes(4).toString('hex')}`;
    roots.push(root);
    return { ns, root };
  };
  after(async () => {
    for (const ns of made) ns.destroy();
    for (const root of roots) await exec(['rm', '-rf', root], { allowFail: true });
  });

  for (const mode of ['bpf', 'iptables'] as const) {
    test(`${mode} mode: after cleanup --dataplane ${mode} nothing of Tabby's is left`, async () => {
      const { ns, root } = fresh();
      await setUp(ns, mode, root);
      const before = await leftovers(ns, root);
      const expected = mode === 'bpf' ? ['tc', 'pins', 'routes'] : ['iptables', 'ipsets', 'links', 'routes'];
      for (const k of expected) assert.notEqual(before[k], '', `${k} programmed before cleanup`);
      const r = await cli(ns, ['node', 'cleanup', '--dataplane', mode, '--bpf-pin-root', root]);
      assert.match(r.stdout, /^removed: /);
      assert.deepEqual(await leftovers(ns, root), NOTHING);
    });
  }

  test('a mode switch at start removes the other mode and keeps the routes; cleanup --dataplane all removes the rest', async () => {
    const { ns, root } = fresh();
    await setUp(ns, 'iptables', root);
    await setUp(ns, 'bpf', root);
    let now = await leftovers(ns, root);
    assert.deepEqual([now.iptables, now.ip6tables, now.ipsets, now.links], ['', '', '', ''], 'bpf start removed the iptables mode');
    assert.ok(now.tc !== '' && now.pins !== '' && now.routes !== '', 'bpf mode in place');
    await setUp(ns, 'iptables', root);
    now = await leftovers(ns, root);
    assert.deepEqual([now.tc, now.pins], ['', ''], 'iptables start removed the bpf mode');
    assert.ok(now.iptables !== '' && now.links !== '' && now.routes !== '', 'iptables mode in place');
    await cli(ns, ['node', 'cleanup', '--bpf-pin-root', root]);
    assert.deepEqual(await leftovers(ns, root), NOTHING);
  });
});
