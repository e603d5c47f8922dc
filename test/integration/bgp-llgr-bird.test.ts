// Long-lived graceful restart (RFC 9494) between the Tabby speaker and BIRD 2, both roles.
// Tabby as the receiving speaker: BIRD ("r", `long lived graceful restart on`) is killed;
// past its restart time its routes stay in Tabby's table and the kernel as LLGR-stale
// (traffic keeps flowing), are least preferred against a fresh path from a second BIRD
// ("f") even with a longer AS_PATH, are withdrawn from "f" (which does not speak LLGR), are
// swept at End-of-RIB when "r" comes back, and go when the long-lived stale time runs out.
// Tabby as the restarting speaker (restartMode LongLivedGracefulRestart): BIRD keeps its
// routes past the restart time (0, as Calico renders it) with LLGR_STALE (65535, 6).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bird, birdBase, birdBgp } from '../helpers/bird.js';
import { ip, run } from '../../src/util/exec.js';
import { speakerOptions, withLab } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc', 'ping'] });

/** RFC 9494 §3.2: LLGR_STALE is 65535:6. */
const LLGR_STALE = 0xffff0006;
const TABBY_AS = 65020;
/** Only "r" has it: the address pinged through the route learned from "r". */
const ONLY_R = '198.51.100.0/24';
const TARGET = '198.51.100.1';
/** Both have it; "f" sends it with a longer AS_PATH. */
const BOTH = '198.51.110.0/24';
/** "r" has it in its first life only: swept at its End-of-RIB. */
const GONE = '198.51.120.0/24';
const GR_TIME = 2;
const LL_STALE = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ping = async (ns: string, addr: string): Promise<boolean> => (await run(['ping', '-c', '1', '-W', '1', addr], { netns: ns, allowFail: true })).code === 0;
const kernelVia = async (ns: string, prefix: string): Promise<string | undefined> => {
  const out = (await ip(['-j', 'route', 'show', prefix], ns)).stdout;
  const routes = JSON.parse(out || '[]') as Array<{ gateway?: string }>;
  return routes[0]?.gateway;
};

describe('long-lived graceful restart with BIRD 2', { skip }, () => {
  test('BIRD stopped past its restart time: its routes stay LLGR-stale in the kernel and carry traffic, least preferred, withdrawn from a peer without LLGR, swept at End-of-RIB, gone after the stale time', async () => {
    await withLab('tbll', 2, async (lab) => {
      const [s1, s2] = [lab.net.spokes[0]!, lab.net.spokes[1]!];
      const hub = lab.net.hub;
      await ip(['addr', 'add', `${TARGET}/32`, 'dev', 'lo'], s1.ns);
      const r = new Bird(s1.ns, lab.dir, 'r');
      const f = new Bird(s2.ns, lab.dir, 'f');
      lab.defer(() => r.stop({ kill: true }));
      lab.defer(() => f.stop({ kill: true }));
      const rConfig = (v4: string[]) =>
        birdBase('10.255.0.11', { v4 }) +
        birdBgp({
          name: 'tabby', local: s1.addr4, localAs: 65011, neighbor: lab.net.hubAddr4, neighborAs: TABBY_AS, ipv6: false,
          extra: ['graceful restart on;', `graceful restart time ${GR_TIME};`, 'long lived graceful restart on;', `long lived stale time ${LL_STALE};`],
        });
      await r.start(rConfig([ONLY_R, BOTH, GONE]));
      // "f": no LLGR at all (BIRD's default would be "aware"), and a longer AS_PATH for BOTH.
      await f.start(
        birdBase('10.255.0.12', { v4: [BOTH] }) +
          birdBgp({ name: 'tabby', local: s2.addr4, localAs: 65012, neighbor: lab.net.hubAddr4, neighborAs: TABBY_AS, ipv6: false, extra: ['long lived graceful restart off;'] }).replace(
            'import all; export all;',
            'import all; export filter { if net = ' + BOTH + ' then { bgp_path.prepend(65012); bgp_path.prepend(65012); } accept; };',
          ),
      );
      const tabby = lab.tabby({
        speaker: speakerOptions('10.255.0.1', TABBY_AS),
        peers: [
          // restartMode LongLivedGracefulRestart on r's BGPPeer (RFC 9494 §5: never on by default).
          { id: 'r', address: s1.addr4, remoteAsn: 65011, families: ['ipv4'], longLivedStaleTime: 3600 },
          { id: 'f', address: s2.addr4, remoteAsn: 65012, families: ['ipv4'] },
        ],
        kernel: true,
      });
      const ctx = () => `\nr log:\n${r.log()}\nf log:\n${f.log()}\ntabby stderr:\n${tabby.stderr.slice(-3000)}`;
      await tabby.established('r');
      await tabby.established('f');
      const caps = await tabby.peer('r');
      assert.deepEqual(caps.negotiated?.gracefulRestart?.longLived, [{ family: 'ipv4', forwarding: false, staleTime: LL_STALE }], JSON.stringify(caps.negotiated));
      await tabby.until('both BIRDs\' routes, the shorter AS_PATH of BOTH from r', async () => {
        const both = await tabby.route(BOTH);
        return (await tabby.route(ONLY_R)) && (await tabby.route(GONE)) && both?.peerId === 'r';
      });
      assert.equal(await kernelVia(hub, ONLY_R), s1.addr4);
      assert.ok(await ping(hub, TARGET), 'ping through the route learned from r');
      // (birdc fails on `show route PREFIX` for a prefix it lacks: ask for the protocol's routes.)
      const fromTabby = () => f.prefixes('protocol', 'tabby');
      await tabby.until('f has our copy of ONLY_R', async () => (await fromTabby()).includes(ONLY_R), 15_000);

      // r dies without a word (kill -9): the graceful restart time, then the long-lived period.
      await r.stop({ kill: true });
      const stale = await tabby.until('r\'s routes LLGR-stale', async () => {
        const p = await tabby.route(ONLY_R);
        return p?.communities?.includes(LLGR_STALE) ? p : undefined;
      }, (GR_TIME + 5) * 1000);
      assert.equal(stale.peerId, 'r');
      assert.deepEqual((await tabby.peer('r')).gracefulRestart, { staleFamilies: ['ipv4'], longLivedFamilies: ['ipv4'] });
      assert.equal(await kernelVia(hub, ONLY_R), s1.addr4, 'still in the kernel');
      assert.ok(await ping(hub, TARGET), 'traffic keeps flowing on the LLGR-stale route');
      // RFC 9494 §4.4: the fresh path from f wins although its AS_PATH is longer.
      const both = await tabby.until('BOTH moved to f', async () => {
        const p = await tabby.route(BOTH);
        return p?.peerId === 'f' ? p : undefined;
      });
      assert.deepEqual(both.asPath, [65012, 65012, 65012]);
      assert.equal(await kernelVia(hub, BOTH), s2.addr4);
      // f does not speak LLGR: Tabby withdrew ONLY_R from it instead of sending it stale.
      await tabby.until('ONLY_R withdrawn from f', async () => !(await fromTabby()).includes(ONLY_R), 10_000).catch((e: Error) => assert.fail(e.message + ctx()));

      // r comes back (recovery) without GONE: its End-of-RIB sweeps GONE, the rest is fresh again.
      await r.start(rConfig([ONLY_R, BOTH]), { recover: true });
      await tabby.established('r', 20_000);
      await tabby.until('GONE swept at End-of-RIB, the others fresh', async () => {
        const p = await tabby.peer('r');
        const only = await tabby.route(ONLY_R);
        return p.gracefulRestart === undefined && !(await tabby.route(GONE)) && only?.communities === undefined && (await tabby.route(BOTH))?.peerId === 'r';
      }, 20_000);
      assert.ok(await ping(hub, TARGET));

      // r dies again and stays away: past the long-lived stale time its routes leave the kernel.
      await r.stop({ kill: true });
      await tabby.until('LLGR-stale again', async () => (await tabby.route(ONLY_R))?.communities?.includes(LLGR_STALE), (GR_TIME + 5) * 1000);
      await sleep((LL_STALE - 2) * 1000);
      assert.equal(await kernelVia(hub, ONLY_R), s1.addr4, 'kept until the long-lived stale time ends');
      await tabby.until('ONLY_R gone from Tabby and the kernel', async () => !(await tabby.route(ONLY_R)) && (await kernelVia(hub, ONLY_R)) === undefined, 8_000);
      assert.equal((await tabby.route(BOTH))?.peerId, 'f');
      assert.equal((await tabby.peer('r')).gracefulRestart, undefined);
      await tabby.stop();
    });
  });

  test('Tabby killed with restartMode LongLivedGracefulRestart: BIRD keeps its routes past the restart time with LLGR_STALE (65535, 6)', async () => {
    await withLab('tbll', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      const bird = new Bird(s.ns, lab.dir, 'bird');
      lab.defer(() => bird.stop({ kill: true }));
      await bird.start(
        birdBase('10.255.0.11') +
          birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: TABBY_AS, ipv6: false, extra: ['graceful restart on;', 'long lived graceful restart on;'] }),
      );
      // What calc makes of restartMode LongLivedGracefulRestart with maxRestartTime 60s.
      const config = (restarting: boolean) => ({
        speaker: speakerOptions('10.255.0.1', TABBY_AS, { gracefulRestart: { restartTime: 120, restarting } }),
        peers: [{ id: 'bird', address: s.addr4, remoteAsn: 65010, families: ['ipv4' as const], longLivedStaleTime: 60 }],
        localRoutes: [{ prefix: '203.0.113.0/24' }],
      });
      const first = lab.tabby(config(false));
      await first.established('bird');
      await first.until('BIRD has our route', async () => (await bird.prefixes('protocol', 'tabby')).length === 1);
      const caps = (await bird.protocol('tabby')).raw;
      assert.match(caps, /Neighbor capabilities[\s\S]*Graceful restart[\s\S]*Restart time: 0[\s\S]*Long-lived graceful restart[\s\S]*LL stale time: 60/, caps);

      await first.kill('SIGKILL');
      await first.until('BIRD keeps the route LLGR-stale', async () => {
        const all = await bird.birdc('show', 'route', 'all', '203.0.113.0/24');
        return /\(65535,\s*6\)/.test(all) ? all : undefined;
      }, 10_000);
      assert.match((await bird.protocol('tabby')).raw, /Neighbor graceful restart active|LLGR/, 'BIRD is helping');
      await sleep(3000);
      assert.deepEqual(await bird.prefixes('protocol', 'tabby'), ['203.0.113.0/24'], 'still there past the restart time');

      // Back, restarting: BIRD takes the route fresh again (no LLGR_STALE) after our End-of-RIB.
      const second = lab.tabby(config(true));
      await second.established('bird');
      await second.until('fresh at BIRD again', async () => {
        const all = await bird.birdc('show', 'route', 'all', '203.0.113.0/24');
        return all.includes('203.0.113.0/24') && !/\(65535,\s*6\)/.test(all);
      }, 15_000);
      await second.stop();
    });
  });
});
