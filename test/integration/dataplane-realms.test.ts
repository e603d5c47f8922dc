// Route realms of the bpf dataplane through the Dataplane facade: a learned route never
// names a realm the eBPF encap_realms map lacks (its realm is written first), a resync
// that retranslates every route (the underlay changed) keeps each node's realm, so the
// map never holds two realms for one node, and a restarted agent seeds the same numbers:
// no kernel route changes. (The lab's "restart keeps routes" failed on all three.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { LearnedNexthop } from '../../src/calc/routes.js';
import { Dataplane, type DataplaneConfig } from '../../src/dataplane/dataplane.js';
import { BpfEncap } from '../../src/dataplane/encap/bpf-encap.js';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeDump } from '../../src/native/routes.js';
import { TestNetns, waitFor } from './netlink-netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'tc'] });

describe('bpf dataplane: route realms', NEEDS, () => {
  let ns: TestNetns;
  const x = randomInt(1, 250);
  const nodeIP = `10.${x}.0.1`;
  const remotes = [`10.${x}.0.2`, `10.${x}.0.3`];
  const blocks = [`10.${x}.1.0/26`, `10.${x}.2.0/26`];
  const planes: Dataplane[] = [];

  before(() => {
    ns = new TestNetns('tbt-realms');
    try {
      ns.veth('eth0', 'peer0', `${nodeIP}/24`);
    } catch (err) {
      ns.destroy();
      throw err;
    }
  });

  after(async () => {
    for (const dp of planes) await dp.cleanup().catch(() => undefined);
    ns?.destroy();
  });

  const config = (): DataplaneConfig => ({ mode: 'bpf', netns: ns.name, nodeName: 'realms', hostIfname: 'eth0', nodeIP, resyncIntervalMs: 400 });
  const hopsOf = (i: number): readonly LearnedNexthop[] => [{ address: remotes[i]!, encap: 'ipip' }];

  /** An agent's dataplane: what it learned (none, or all on a restart) before its first declaration. */
  async function startPlane(learned: number[]): Promise<Dataplane> {
    const dp = new Dataplane(config());
    planes.push(dp);
    await dp.start();
    for (const i of learned) learn(dp, i);
    assert.deepEqual((await dp.setResources({ routes: [{ kind: 'blackhole', dst: `10.${x}.3.0/26` }] })).errors, []);
    return dp;
  }

  /** Learns block i via remote i (a fresh next-hop list, as after a session flap). */
  function learn(dp: Dataplane, i: number): void {
    dp.updateLearned([{ dst: blocks[i]!, intent: { kind: 'learned', dst: blocks[i]!, nexthops: hopsOf(i) } }]);
  }

  /** Realm of each of our learned routes, by gateway. */
  async function routeRealms(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of await routeDump({ netns: ns.name, protocol: RTPROT_TABBY })) {
      if (r.realm !== undefined && r.gateway) out.set(r.gateway, r.realm);
    }
    return out;
  }

  /** The encap_realms map of the program in Tabby's slot: realm → remote node. */
  async function mapRealms(): Promise<Map<number, string>> {
    const prev = await BpfEncap.previous({ ifname: 'eth0', netns: ns.name });
    return new Map((prev?.realms ?? []).map((r) => [r.realm, r.remoteIP]));
  }

  /** Every route's realm is in the map, naming its next hop; no node has two realms. */
  async function assertConsistent(what: string): Promise<void> {
    const routes = await routeRealms();
    const map = await mapRealms();
    for (const [gw, realm] of routes) assert.equal(map.get(realm), gw, `${what}: realm ${realm} of the route via ${gw} in the map ${JSON.stringify([...map])}`);
    const remotesInMap = [...map.values()];
    assert.equal(new Set(remotesInMap).size, remotesInMap.length, `${what}: one realm per node: ${JSON.stringify([...map])}`);
  }

  test('a learned route\'s realm is in the map before the route; a resync keeps the numbers; a restart changes no route', async () => {
    const dp = await startPlane([]);
    for (const i of [0, 1]) {
      learn(dp, i);
      // Checked the moment the route shows up: its realm must already be there.
      assert.ok(await waitFor(async () => (await routeRealms()).has(remotes[i]!), 5000, 2), `route via ${remotes[i]}`);
      await assertConsistent(`learned via ${remotes[i]}`);
    }
    const first = await routeRealms();

    // The underlay changes: the next resync translates every route again.
    ns.ip('route', 'add', `10.${x}.200.0/24`, 'dev', 'eth0');
    await new Promise((r) => setTimeout(r, 1500));
    await assertConsistent('after the retranslating resync');
    // Sessions flap: the routes come back with new next-hop lists, on the same realms.
    for (const i of [0, 1]) dp.updateLearned([{ dst: blocks[i]! }]);
    assert.ok(await waitFor(async () => (await routeRealms()).size === 0, 5000, 10), 'withdrawn');
    for (const i of [0, 1]) learn(dp, i);
    assert.ok(await waitFor(async () => (await routeRealms()).size === 2, 5000, 10), 'learned again');
    await new Promise((r) => setTimeout(r, 1000));
    await assertConsistent('after the flap');
    assert.deepEqual(await routeRealms(), first, 'each node keeps its realm');

    // Restart: a new agent takes over the program and its maps, learns the same routes.
    const before = ns.ip('route', 'show');
    await dp.stop();
    await startPlane([0, 1]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(ns.ip('route', 'show'), before, 'kernel routes unchanged by the restart');
    await assertConsistent('after the restart');
  });
});
