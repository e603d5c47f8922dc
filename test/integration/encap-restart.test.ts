// Lossless restart of the eBPF tunnel: a second HostProgram with the encap step takes
// over what the running one holds, loads a fresh object with it and replaces the
// filters at Tabby's fixed tc slot while workloads ping every 10 ms: no packet lost,
// never two filters. So does switching the SNAT step on at run time. release() leaves
// programs attached (agent shutdown), close() of a superseded instance leaves its
// successor alone. Topology: eBPF IPIP on both hosts (encap-topology.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mapKeys, mapUpdate } from '../../src/native/bpf-maps.js';
import { encodeEntry, encodeKey } from '../../src/dataplane/encap/encap-map-codec.js';
import { HOST_TC_HANDLE, HOST_TC_PRIORITY, HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { BpfEncap, type BpfEncapOptions } from '../../src/dataplane/encap/bpf-encap.js';
import { BpfSnat } from '../../src/dataplane/nat/bpf-snat.js';
import { destroyTopology, ebpfIpip, SIDES, type Side, type Topology, type TunnelHandle } from '../../src/bench/encap-topology.js';
import { buildTopology, ping, run } from './encap-topology.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'sysctl'] });


/** The tc filters on eth0 in one direction: [pref, handle, program id]. */
function filters(ns: string, direction: 'ingress' | 'egress'): Array<[number, number, number]> {
  const out = run('tc', '-n', ns, 'filter', 'show', 'dev', 'eth0', direction);
  return [...out.matchAll(/pref (\d+) bpf chain \d+ handle (0x[0-9a-f]+) .* id (\d+)/g)]
    .map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
}

/** `ping -i 0.01 -c COUNT` from `ns`, resolved with its summary once it ends (bounded). */
function floodPing(ns: string, addr: string, count: number): Promise<{ sent: number; received: number; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-q', '-i', '0.01', '-W', '1', '-c', String(count), addr], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), count * 10 + 20_000);
    p.on('exit', () => {
      clearTimeout(timer);
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) reject(new Error(`ping gave no summary: ${out}`));
      else resolve({ sent: Number(m[1]), received: Number(m[2]), output: out });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('eBPF encap: takeover by a new instance without losing a packet', NEEDS, () => {
  let t: Topology;
  const tunnels: Partial<Record<Side, TunnelHandle>> = {};
  const extra: HostProgram[] = [];
  let current: { host: HostProgram; bpf: BpfEncap };

  const targetA = () => ({ ifname: 'eth0', netns: t.hosts.a.ns, ifindex: t.hosts.a.ifindex });
  /** A new agent on A: takes over what the slot holds unless given entries. */
  const start = async (opts: Partial<BpfEncapOptions> = {}): Promise<{ host: HostProgram; bpf: BpfEncap }> => {
    const host = new HostProgram(targetA());
    extra.push(host);
    const bpf = new BpfEncap(host, { nodeIP: t.hosts.a.underlayIP, vtepMac: t.hosts.a.vtepMac, ...opts });
    await host.load([bpf]);
    return { host, bpf };
  };

  before(async () => {
    t = await buildTopology('rst');
    tunnels.a = await ebpfIpip.setup(t, 'a');
    tunnels.b = await ebpfIpip.setup(t, 'b');
    current = { host: tunnels.a.host!, bpf: tunnels.a.bpf! };
  });

  after(async () => {
    for (const h of extra) await h.close().catch(() => undefined);
    for (const s of SIDES) await tunnels[s]?.close().catch(() => undefined);
    if (t) await destroyTopology(t);
  });

  test('one filter per hook at Tabby\'s priority and handle; mapKeys lists the real map', async () => {
    const { a } = t.hosts;
    for (const dir of ['ingress', 'egress'] as const) {
      const f = filters(a.ns, dir);
      assert.deepStrictEqual(f.map(([p, h]) => [p, h]), [[HOST_TC_PRIORITY, HOST_TC_HANDLE]], dir);
      assert.equal(f[0]![2], current.host.attached[dir]?.progId);
    }
    const prev = await BpfEncap.previous({ ifname: 'eth0', netns: a.ns });
    assert.deepStrictEqual(prev?.entries, [{ block: t.hosts.b.block, remoteIP: t.hosts.b.underlayIP, kind: 'ipip' }]);
    assert.equal(prev?.progId, current.host.attached.egress?.progId);
  });

  test('a continuous ping loses nothing while new instances take over three times', async () => {
    const { a, b } = t.hosts;
    const started = performance.now();
    const pinging = floodPing(a.wl, b.workloadIP, 500);
    await sleep(600);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      assert.ok(await BpfEncap.previous({ ifname: 'eth0', netns: a.ns }), 'the running program is found');
      const next = await start();
      assert.deepStrictEqual(next.bpf.declared.entries, current.bpf.declared.entries, 'taken over from the slot');
      // The old agent's process would just exit; here it lets go of its handle.
      await current.host.release();
      current = next;
      ids.push(next.host.attached.egress!.progId);
      await sleep(800);
    }
    const r = await pinging;
    const ms = performance.now() - started;
    assert.equal(r.sent, 500, r.output);
    assert.equal(r.received, 500, `lost ${r.sent - r.received} of ${r.sent} during takeover:\n${r.output}`);
    assert.equal(new Set(ids).size, 3, 'each takeover attached a new program');
    for (const dir of ['ingress', 'egress'] as const) {
      const f = filters(a.ns, dir);
      assert.equal(f.length, 1, `${dir}: ${JSON.stringify(f)}`);
      assert.equal(f[0]![2], current.host.attached[dir]!.progId);
    }
    // The successor encapsulates: its own counters moved.
    assert.ok((await current.bpf.counters()).encapIpip.packets > 0n);
    assert.ok(ms < 20_000);
  });

  test('switching the SNAT step on, and a load-time change, take over in place without losing a packet', async () => {
    const { a, b } = t.hosts;
    const pinging = floodPing(a.wl, b.workloadIP, 300);
    await sleep(500);
    const before = current.host.attached.egress!.progId;
    const snat = new BpfSnat(current.host, { nodeIP: a.underlayIP });
    await current.host.add(snat);
    assert.deepEqual(current.host.features, [current.bpf, snat]);
    const withSnat = current.host.attached.egress!.progId;
    await sleep(500);
    current.bpf.configure({ checkPeers: false });
    await current.host.reload();
    const r = await pinging;
    assert.equal(r.received, r.sent, `lost ${r.sent - r.received} of ${r.sent}:\n${r.output}`);
    assert.equal(new Set([before, withSnat, current.host.attached.egress!.progId]).size, 3, 'two new programs');
    for (const dir of ['ingress', 'egress'] as const) assert.equal(filters(a.ns, dir).length, 1, dir);
    assert.deepStrictEqual((await BpfEncap.previous({ ifname: 'eth0', netns: a.ns }))?.entries, current.bpf.declared.entries);
    assert.equal((await BpfSnat.previous({ ifname: 'eth0', netns: a.ns }))?.config?.nodeIP, a.underlayIP);
    assert.ok(ping(a.wl, b.workloadIP).ok);
    assert.ok((await current.bpf.counters()).encapIpip.packets > 0n, 'the encap step runs with SNAT on');
  });

  test('setEntries diffs against the kernel map, not a copy in memory', async () => {
    const { b } = t.hosts;
    const entry = { block: b.block, remoteIP: b.underlayIP, kind: 'ipip' as const };
    assert.deepStrictEqual(await current.bpf.setEntries([entry]), { added: 0, updated: 0, removed: 0 }, 'taken over as it was');
    // A key written behind its back (as by bpftool) is found in the map and removed.
    const handle = current.host.requireObject();
    await mapUpdate(handle, 'encap_routes', encodeKey(24, Buffer.from([10, 254, 0, 0])),
      encodeEntry(Buffer.from(b.underlayIP.split('.').map(Number)), 'ipip'));
    assert.deepStrictEqual(await current.bpf.setEntries([entry]), { added: 0, updated: 0, removed: 1 });
    assert.equal((await mapKeys(handle, 'encap_routes')).length, 1);
  });

  test('close() of a superseded instance leaves its successor attached; release() leaves programs working', async () => {
    const { a, b } = t.hosts;
    const stale = await start({ entries: current.bpf.declared.entries });
    const successor = await start({ entries: current.bpf.declared.entries });
    await current.host.release();
    current = successor;
    await stale.host.close();
    assert.equal(filters(a.ns, 'egress')[0]?.[2], successor.host.attached.egress!.progId, 'still the successor');
    assert.ok(ping(a.wl, b.workloadIP).ok);

    // Agent shutdown: handles go, programs and maps stay and keep working.
    await successor.host.release();
    assert.equal(successor.host.loaded, false);
    assert.equal(filters(a.ns, 'egress').length, 1);
    assert.ok(ping(a.wl, b.workloadIP).ok);
    const prev = await BpfEncap.previous({ ifname: 'eth0', netns: a.ns });
    assert.equal(prev?.entries.length, 1);

    // Cleanup by someone who never attached it: Tabby's slot is emptied on both hooks.
    assert.equal(await HostProgram.detach({ ifname: 'eth0', netns: a.ns }), 2);
    assert.deepStrictEqual([filters(a.ns, 'ingress'), filters(a.ns, 'egress')], [[], []]);
    assert.equal(await BpfEncap.previous({ ifname: 'eth0', netns: a.ns }), null);
    assert.equal(await HostProgram.detach({ ifname: 'eth0', netns: a.ns }), 0, 'idempotent');
  });

  test('mapKeys on an object handle', async () => {
    const probe = await start({ entries: [
      { block: '10.254.1.0/24', remoteIP: '10.250.0.7', kind: 'ipip' },
      { block: '10.254.2.0/24', remoteIP: '10.250.0.8', kind: 'ipip' },
    ], realms: [{ realm: 9, remoteIP: '10.250.0.8', kind: 'none' }] });
    const handle = probe.host.requireObject();
    assert.equal((await mapKeys(handle, 'encap_routes')).length, 2);
    assert.equal((await mapKeys(handle, 'encap_realms')).length, 1);
    assert.equal((await mapKeys(handle, 'encap_peers')).length, 2);
    await probe.host.close();
    assert.deepStrictEqual(filters(t.hosts.a.ns, 'egress'), []);
  });
});
