// Restart through pinned maps (issue #16): the host program with SNAT pins its maps
// under a pin root on bpffs; a successor of the same layout loads its programs on the
// very same maps (same map ids, nothing copied). A successor of another layout
// migrates the state once (copies it) and removes the old maps; close() unpins. The
// real agent restarted under iperf3: agent-bpf-restart.test.ts.
// Topology: nat-topology.ts; each test has its own pin root (bpffs is global).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { hostMapsVersion } from '../../src/dataplane/bpf/host-pins.js';
import { BPF_LAYOUTS } from '../../src/dataplane/bpf/layouts.js';
import { mapKeys } from '../../src/native/bpf-maps.js';
import { BpfSnat } from '../../src/dataplane/nat/bpf-snat.js';
import { buildNatTopology, destroyNatTopology, NAT_POOL, type NatTopology } from '../../src/bench/nat-topology.js';
import { run } from '../../src/util/exec.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'bpftool'] });
const RANGE = { min: 61000, max: 61999 };

/** The kernel's id of a pinned map or program (bpftool reads the pin). */
async function pinnedId(kind: 'map' | 'prog', path: string): Promise<number> {
  const r = await run(['bpftool', '-j', kind, 'show', 'pinned', path]);
  return (JSON.parse(r.stdout) as { id: number }).id;
}

/** The map ids a program uses. */
async function progMaps(id: number): Promise<number[]> {
  const r = await run(['bpftool', '-j', 'prog', 'show', 'id', String(id)]);
  return (JSON.parse(r.stdout) as { map_ids?: number[] }).map_ids ?? [];
}

describe('eBPF SNAT: restart on pinned maps', { ...NEEDS, timeout: 180_000 }, () => {
  let t: NatTopology;
  const root = `/sys/fs/bpf/tabby-test-${randomBytes(4).toString('hex')}`;
  const all: HostProgram[] = [];

  const start = async (mapsVersion?: string): Promise<{ host: HostProgram; snat: BpfSnat }> => {
    const host = new HostProgram({ netns: t.nodeA.netns, ifname: 'eth0', pinRoot: root, ...(mapsVersion ? { mapsVersion } : {}) });
    all.push(host);
    const snat = new BpfSnat(host, { nodeIP: t.nodeA.address, portRange: RANGE, checkLocalPortRange: false });
    await host.load([snat]);
    return { host, snat };
  };

  before(async () => {
    t = await buildNatTopology({ natWorkloads: 1, subnet: 5, ipv6: false });
    await run(['ip', 'route', 'add', NAT_POOL, 'via', t.nodeA.address], { netns: t.external.netns });
  });

  after(async () => {
    for (const h of all) await h.close().catch(() => undefined);
    if (t) await destroyNatTopology(t);
    rmSync(root, { recursive: true, force: true });
  });

  test('a successor of the same layout loads on the very same maps: nothing copied, the flow kept', async () => {
    const first = await start();
    first.snat.setPools(t.pools);
    await first.snat.apply();
    const ctPin = join(root, `maps-${hostMapsVersion()}`, 'snat_ct');
    const ctBefore = await pinnedId('map', ctPin);
    const progBefore = await pinnedId('prog', join(root, 'progs', 'tabby_to_dev'));
    assert.equal(progBefore, first.host.attached.egress!.progId, 'the pinned program is the attached one');
    await run(['ping', '-c', '2', '-i', '0.2', t.external.address], { netns: t.natWorkloads[0]!.netns });
    // The agent's process exits (its handle goes, the programs stay), a new one starts.
    await first.host.release();
    const next = await start();
    const a = next.snat.adopted;
    assert.ok(a && a.reused && a.ct === 0 && a.pools === 3, `adopted: ${JSON.stringify(a)}`);
    assert.equal(await pinnedId('map', ctPin), ctBefore, 'snat_ct is the same map');
    const progAfter = next.host.attached.egress!.progId;
    assert.notEqual(progAfter, progBefore, 'a new program was attached');
    assert.ok((await progMaps(progAfter)).includes(ctBefore), 'the new program uses the pinned conntrack map');
    assert.equal(await pinnedId('prog', join(root, 'progs', 'tabby_to_dev')), progAfter, 'the new program is pinned');
    const k = BPF_LAYOUTS.snat_ct_key.fields;
    const keys = await mapKeys(next.host.requireObject(), 'snat_ct');
    assert.ok(keys.some((key) => key[k.proto.offset] === 1), 'the ping\'s flow is in the reused conntrack');
    await next.host.release();
  });

  test('a new layout migrates the state once and removes the old maps; close() unpins', async () => {
    // Whatever the first test left: a program on the current layout's maps. Pretend
    // those maps are of an older layout by loading on another version directory first.
    const old = await start('e0-older');
    old.snat.setPools(t.pools);
    await old.snat.apply();
    await run(['ping', '-c', '2', '-i', '0.2', t.external.address], { netns: t.natWorkloads[0]!.netns });
    const oldDir = join(root, 'maps-e0-older');
    assert.ok(existsSync(join(oldDir, 'snat_ct')));
    await old.host.release();
    const next = await start();
    const a = next.snat.adopted;
    assert.ok(a && !a.reused && a.ct >= 2, `migrated by copy: ${JSON.stringify(a)}`);
    assert.ok(!existsSync(oldDir), 'the old layout\'s maps are unpinned');
    assert.deepEqual(readdirSync(root).sort(), [`maps-${hostMapsVersion()}`, 'progs']);
    await next.host.close();
    assert.ok(!existsSync(root), 'close() of the owner removes the pins');
  });
});
