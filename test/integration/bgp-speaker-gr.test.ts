// Graceful restart between the Tabby speaker and BIRD 2, both roles: when the Tabby
// process is SIGKILLed, BIRD keeps its routes until Tabby is back and sends End-of-RIB;
// when BIRD is killed and restarts in recovery (-R), Tabby keeps BIRD's routes (no
// withdrawals reach the dataplane) and sweeps only what BIRD did not send again.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bird, birdBase, birdBgp } from '../helpers/bird.js';
import { run } from '../../src/util/exec.js';
import { speakerOptions, withLab, type RunConfig } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('graceful restart with BIRD 2', { skip }, () => {
  test('Tabby killed: BIRD keeps its routes, stale, until Tabby is back and sends End-of-RIB', async () => {
    await withLab('tbsg', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      const bird = new Bird(s.ns, lab.dir, 'bird');
      lab.defer(() => bird.stop({ kill: true }));
      await bird.start(
        birdBase('10.255.0.11') +
          birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020, nextHop6: s.addr6, extra: ['graceful restart on;'] }),
      );
      const config = (restarting: boolean, routes: string[]): RunConfig => ({
        speaker: speakerOptions('10.255.0.1', 65020, { gracefulRestart: { restartTime: 60, restarting } }),
        peers: [{ id: 'bird', address: s.addr4, remoteAsn: 65010, localAddress6: lab.net.hubAddr6 }],
        localRoutes: routes.map((prefix) => ({ prefix })),
      });
      const first = lab.tabby(config(false, ['203.0.113.0/24', '203.0.114.0/24', '2001:db8:ab::/48']));
      await first.established('bird');
      await first.until('BIRD has our three routes', async () => (await bird.prefixes('protocol', 'tabby')).length === 3);
      const caps = (await bird.protocol('tabby')).raw;
      assert.match(caps, /Neighbor capabilities[\s\S]*Graceful restart\s+Restart time: 60/, caps);

      await first.kill('SIGKILL');
      // Kept across the gap (BIRD's restart timer is ours: 60 s).
      await sleep(1500);
      const during = await bird.protocol('tabby');
      assert.notEqual(during.bgpState, 'Established');
      assert.match(during.raw, /Neighbor graceful restart active/, during.raw);
      assert.deepEqual((await bird.prefixes('protocol', 'tabby')).sort(), ['2001:db8:ab::/48', '203.0.113.0/24', '203.0.114.0/24']);

      // Back, restarting, with one IPv4 route less: after its End-of-RIB BIRD drops just that one.
      const second = lab.tabby(config(true, ['203.0.113.0/24', '2001:db8:ab::/48']));
      const up = await second.established('bird');
      assert.equal(up.counters.established, 1);
      await second.until('BIRD swept the route we did not send again', async () => {
        const p = (await bird.prefixes('protocol', 'tabby')).sort();
        return p.length === 2 && p[0] === '2001:db8:ab::/48' && p[1] === '203.0.113.0/24';
      });
      const after = await bird.protocol('tabby');
      assert.doesNotMatch(after.raw, /Neighbor graceful restart active/);
      await second.stop();
    });
  });

  test('BIRD killed and restarted: Tabby keeps its routes meanwhile and updates after its End-of-RIB', async () => {
    await withLab('tbsg', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      const bird = new Bird(s.ns, lab.dir, 'bird');
      lab.defer(() => bird.stop({ kill: true }));
      const birdConfig = (v4: string[]) =>
        birdBase('10.255.0.11', { v4, v6: ['2001:db8:100::/48'] }) +
        birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020, nextHop6: s.addr6, extra: ['graceful restart on;'] });
      await bird.start(birdConfig(['198.51.100.0/24', '198.51.101.0/24']));
      const tabby = lab.tabby({
        speaker: speakerOptions('10.255.0.1', 65020),
        peers: [{ id: 'bird', address: s.addr4, remoteAsn: 65010, localAddress6: lab.net.hubAddr6 }],
        localRoutes: [{ prefix: '203.0.113.0/24' }],
      });
      await tabby.established('bird');
      const before = await tabby.until('three routes from BIRD', async () => {
        const t = await tabby.table();
        return t.routes.length === 3 ? t.routes : undefined;
      });

      const mark = tabby.events.length;
      await bird.stop({ kill: true });
      const helping = await tabby.until('Tabby helping BIRD restart', async () => {
        const p = await tabby.peer('bird');
        return p.gracefulRestart ? p : undefined;
      });
      assert.notEqual(helping.state, 'Established');
      assert.deepEqual(helping.gracefulRestart?.staleFamilies, ['ipv4', 'ipv6']);
      await sleep(1000);
      assert.deepEqual((await tabby.table()).routes, before, 'bestPaths unchanged while BIRD is away');

      // BIRD comes back in recovery mode without 198.51.101.0/24.
      await bird.start(birdConfig(['198.51.100.0/24']), { recover: true });
      const back = await tabby.established('bird', 20_000);
      assert.equal(back.negotiated?.gracefulRestart?.restarting, true, 'BIRD set the R bit');
      await tabby.until('the route BIRD no longer has is swept after its End-of-RIB', async () => {
        const p = await tabby.peer('bird');
        return p.gracefulRestart === undefined && (await tabby.table()).routes.length === 2;
      }, 30_000);
      const changes = tabby.events.slice(mark).flatMap((e) => (e.event === 'best' ? ((e.changes as Array<{ prefix: string; peerId: string | null }>) ?? []) : []));
      // One withdrawal and nothing flapped. (The IPv6 route may come back changed: BIRD adds
      // the link-local next hop once the fresh interface has one.)
      assert.deepEqual(changes.filter((c) => c.peerId === null), [{ family: 'ipv4', prefix: '198.51.101.0/24', nexthops: [], peerId: null }]);
      assert.equal(changes.filter((c) => c.prefix === '198.51.100.0/24').length, 0, 'the route BIRD sent again is no change');
      assert.deepEqual(
        (await tabby.table()).routes.map((r) => r.prefix).sort(),
        ['198.51.100.0/24', '2001:db8:100::/48'],
      );
      await tabby.stop();
    });
  });

  test('BIRD vanishes without a word and comes back: its new connection is taken as its restart, not refused until the hold timer (RFC 4724 §4.2)', async () => {
    await withLab('tbsg', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      const bird = new Bird(s.ns, lab.dir, 'bird');
      lab.defer(() => bird.stop({ kill: true }));
      const birdConfig = birdBase('10.255.0.11', { v4: ['198.51.100.0/24'] }) +
        birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020, nextHop6: s.addr6, holdTime: 60, extra: ['graceful restart on;'] });
      await bird.start(birdConfig);
      const tabby = lab.tabby({
        speaker: speakerOptions('10.255.0.1', 65020),
        peers: [{ id: 'bird', address: s.addr4, remoteAsn: 65010, localAddress6: lab.net.hubAddr6, holdTime: 60 }],
        localRoutes: [{ prefix: '203.0.113.0/24' }],
      });
      await tabby.established('bird');
      await tabby.until('BIRD\'s route', () => tabby.route('198.51.100.0/24'));
      const mark = tabby.events.length;
      // The old connection dies without a word: BIRD's host sends no RST, not when BIRD
      // dies and not in answer to our keepalives (the rule stays in the test's namespace).
      await run(['iptables', '-I', 'OUTPUT', '-p', 'tcp', '--tcp-flags', 'RST', 'RST', '-d', lab.net.hubAddr4, '-j', 'DROP'], { netns: s.ns });
      await run(['iptables', '-I', 'OUTPUT', '-p', 'tcp', '--tcp-flags', 'FIN', 'FIN', '-d', lab.net.hubAddr4, '-j', 'DROP'], { netns: s.ns });
      await bird.stop({ kill: true });
      assert.equal((await tabby.peer('bird')).state, 'Established', 'the old session still looks up (hold time 60 s)');
      const t0 = Date.now();
      await bird.start(birdConfig, { recover: true });
      const back = await tabby.until('Tabby took the new connection', async () => {
        const p = await tabby.peer('bird');
        return p.state === 'Established' && p.counters.established === 2 ? p : undefined;
      }, 20_000);
      assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms: far less than the 60 s hold time`);
      assert.equal(back.negotiated?.gracefulRestart?.restarting, true);
      assert.equal(back.counters.connectionsRejected, 0, `no Cease / Connection Rejected\n${tabby.stderr.slice(-4000)}`);
      await tabby.until('stale routes swept after End-of-RIB', async () => (await tabby.peer('bird')).gracefulRestart === undefined);
      const withdrawn = tabby.events.slice(mark).flatMap((e) => (e.event === 'best' ? ((e.changes as Array<{ prefix: string; peerId: string | null }>) ?? []) : [])).filter((c) => c.peerId === null);
      assert.deepEqual(withdrawn, [], 'BIRD\'s route was kept across its restart');
      await tabby.stop();
    });
  });
});
