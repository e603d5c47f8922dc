// Restart through pinned maps (issue #16): the host program with SNAT pins its maps
// under a pin root on bpffs; a successor of the same layout loads its programs on the
// very same maps (same map ids, nothing copied) while an iperf3 TCP run goes through
// SNAT, and the run ends without a single TCP reset. A successor of another layout
// migrates the state once (copies it) and removes the old maps. The agent's Dataplane
// builds exactly this HostProgram with its --bpf-pin-root (src/dataplane/dataplane.ts).
// Topology: nat-topology.ts; each test has its own pin root (bpffs is global).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { hostMapsVersion } from '../../src/dataplane/bpf/host-pins.js';
import { BPF_LAYOUTS } from '../../src/dataplane/bpf/layouts.js';
import { mapKeys } from '../../src/native/bpf-maps.js';
import { BpfSnat } from '../../src/dataplane/nat/bpf-snat.js';
import { buildNatTopology, destroyNatTopology, NAT_POOL, type NatTopology } from '../../src/bench/nat-topology.js';
import { run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'iperf3', 'tcpdump', 'bpftool', 'ss'] });
const PORT = 5201;
const RANGE = { min: 61000, max: 61999 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-pin-'));
  const root = `/sys/fs/bpf/tabby-test-${randomBytes(4).toString('hex')}`;
  const pids: number[] = [];
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
    for (const pid of pids) await stopPid(pid);
    if (t) await destroyNatTopology(t);
    rmSync(root, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('an iperf3 TCP run through SNAT survives a restart with no reset, and the conntrack map is the same map', async (ctx) => {
    const first = await start();
    first.snat.setPools(t.pools);
    await first.snat.apply();
    const mapsDir = join(root, `maps-${hostMapsVersion()}`);
    const ctPin = join(mapsDir, 'snat_ct');
    const ctBefore = await pinnedId('map', ctPin);
    const progBefore = await pinnedId('prog', join(root, 'progs', 'tabby_to_dev'));
    assert.equal(progBefore, first.host.attached.egress!.progId, 'the pinned program is the attached one');

    const ext = t.external;
    const w0 = t.natWorkloads[0]!;
    const server = startDaemon(['iperf3', '-s', '-1', '-B', ext.address, '-p', String(PORT)], { netns: ext.netns, logFile: join(dir, 'iperf3-s.log') });
    pids.push(server.pid!);
    await waitFor('iperf3 server', async () => (await run(['ss', '-Hltn', `sport = :${PORT}`], { netns: ext.netns, allowFail: true })).stdout.trim() !== '', 10_000, 50);
    // Every RST either side sees, on the external host's interface (after SNAT).
    const pcap = join(dir, 'rst.pcap');
    const dump = startDaemon(['tcpdump', '-i', 'eth0', '-nn', '-U', '-w', pcap, 'tcp[tcpflags] & tcp-rst != 0'], { netns: ext.netns, logFile: join(dir, 'tcpdump.log') });
    pids.push(dump.pid!);
    await waitFor('tcpdump', () => readFileSync(join(dir, 'tcpdump.log'), 'utf8').includes('listening'), 10_000, 50);

    // iperf3 itself ends with an RST (its server closes a data socket with bytes
    // unread), so the capture stops while the transfer still runs: it covers the
    // takeover and 1 s of traffic after it. A reset during the run would also end
    // iperf3 with an error.
    let clientDone = false;
    const client = run(['iperf3', '-c', ext.address, '-p', String(PORT), '-t', '14', '-J'], { netns: w0.netns, timeoutMs: 60_000, allowFail: true })
      .finally(() => (clientDone = true));
    await sleep(2000);
    // The agent's process exits (its handle goes, the programs stay), a new one starts.
    await first.host.release();
    const t0 = performance.now();
    const next = await start();
    ctx.diagnostic(`takeover: ${(performance.now() - t0).toFixed(0)} ms`);
    await sleep(1000);
    assert.ok(!clientDone, 'iperf3 still running when the capture stops (the takeover took too long to judge)');
    await stopPid(dump.pid!);
    const r = await client;
    const j = JSON.parse(r.stdout || '{}') as { error?: string; end?: { sum_received?: { bytes: number }; sum_sent?: { retransmits?: number } } };
    assert.equal(j.error, undefined, `iperf3: ${j.error}`);
    assert.ok((j.end?.sum_received?.bytes ?? 0) > 0, 'iperf3 completed with data received');
    ctx.diagnostic(`retransmits: ${j.end?.sum_sent?.retransmits}`);
    const resets = await run(['tcpdump', '-nn', '-r', pcap], { allowFail: true });
    assert.equal(resets.stdout.trim(), '', `TCP resets seen:\n${resets.stdout}`);

    // The same maps, not a copy: same ids, used by the new program, nothing copied.
    const a = next.snat.adopted;
    assert.ok(a && a.reused && a.ct === 0 && a.pools === 3, `adopted: ${JSON.stringify(a)}`);
    assert.equal(await pinnedId('map', ctPin), ctBefore, 'snat_ct is the same map');
    const progAfter = next.host.attached.egress!.progId;
    assert.notEqual(progAfter, progBefore, 'a new program was attached');
    assert.ok((await progMaps(progAfter)).includes(ctBefore), 'the new program uses the pinned conntrack map');
    assert.equal(await pinnedId('prog', join(root, 'progs', 'tabby_to_dev')), progAfter, 'the new program is pinned');
    const k = BPF_LAYOUTS.snat_ct_key.fields;
    const keys = await mapKeys(next.host.requireObject(), 'snat_ct');
    assert.ok(keys.some((key) => key[k.proto.offset] === 6 && key.readUInt16BE(k.dport.offset) === PORT), 'the iperf3 flows are in the reused conntrack');
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
