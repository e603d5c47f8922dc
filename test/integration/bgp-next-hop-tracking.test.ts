// Next-hop tracking with real peers: Tabby learns one prefix from two BIRD peers, each
// with its own next hop on its own subnet (BIRD 2 `next hop address`), the first
// preferred by a lower MED. Deleting the kernel route to the first next hop in Tabby's
// namespace must move the best path — and the kernel route — to the second within one
// second (RFC 4271 §9.1.2: a route whose NEXT_HOP is not resolvable is excluded from
// selection; §9.1.2.1: the routing table decides), with no session going down; putting
// the route back moves it back.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { birdBgp } from '../helpers/bird.js';
import { startBird } from '../helpers/bgp-speaker.js';
import { speakerOptions, withLab, type PrintedPath } from '../fixtures/bgp-speaker-harness.js';
import { ip } from '../../src/util/exec.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });
const AS = 64512;
const PREFIX = '198.51.100.0/24';

describe('next-hop tracking against the kernel table', { skip }, () => {
  test('the route to the best next hop goes: best path and kernel route move to the other next hop within 1 s, no session change; and back', async (t) => {
    await withLab('tbnh', 2, async (lab) => {
      const hub = lab.net.hub;
      // Each peer's next hop on a subnet of its own, shared with the hub only.
      const hops = ['10.77.1.2', '10.77.2.2'];
      for (const [i, s] of lab.net.spokes.entries()) {
        await ip(['addr', 'add', `10.77.${i + 1}.1/24`, 'dev', 'br0'], hub);
        await ip(['addr', 'add', `${hops[i]}/24`, 'dev', 'eth0'], s.ns);
        const conf = `router id 10.255.0.${11 + i};
log stderr all;
protocol device { scan time 10; }
protocol static s4 { ipv4; route ${PREFIX} blackhole { bgp_med = ${10 * (i + 1)}; }; }
${birdBgp({ name: 'up', local: s.addr4, localAs: AS, neighbor: lab.net.hubAddr4, neighborAs: AS, ipv6: false, channel4: [`next hop address ${hops[i]};`] })}`;
        await startBird(lab, i, conf);
      }
      const tabby = lab.tabby({
        speaker: speakerOptions('10.255.0.1', AS),
        peers: lab.net.spokes.map((s, i) => ({ id: `p${i + 1}`, address: s.addr4, remoteAsn: AS, families: ['ipv4' as const] })),
        localRoutes: [],
        kernel: true,
        nextHopTracking: true,
      });
      const via = async (hop: string, what: string): Promise<void> => {
        await tabby.until(what, async () => (await tabby.route(PREFIX))?.nexthops.join() === hop);
        await tabby.until(`${what}: kernel route`, async () => (await ip(['route', 'show', PREFIX], hub)).stdout.includes(`via ${hop} `));
      };
      await via(hops[0]!, 'the lower MED first (RFC 4271 §9.1.2.2 c)');
      const before = await tabby.until('both paths held', async () => {
        const st = await tabby.status();
        return st.every((p) => p.state === 'Established' && p.prefixes.accepted === 1) ? st : undefined;
      });

      // Within a second of the route going, from the kernel event (no polling).
      const moved = async (hop: string, change: () => Promise<unknown>): Promise<number> => {
        const from = tabby.events.length;
        const t0 = Date.now();
        await change();
        const ev = await tabby.waitFor(
          (e) => e.event === 'best' && ((e.changes as PrintedPath[] | undefined) ?? []).some((c) => c.prefix === PREFIX && c.nexthops.join() === hop),
          5000,
          from,
        );
        assert.ok(ev, `best path via ${hop}`);
        return ev.at - t0;
      };
      const away = await moved(hops[1]!, () => ip(['route', 'del', '10.77.1.0/24', 'dev', 'br0'], hub));
      assert.ok(away < 1000, `moved in ${away} ms`);
      await via(hops[1]!, 'the other next hop');

      const back = await moved(hops[0]!, () => ip(['route', 'add', '10.77.1.0/24', 'dev', 'br0', 'proto', 'kernel', 'scope', 'link', 'src', '10.77.1.1'], hub));
      assert.ok(back < 1000, `moved back in ${back} ms`);
      await via(hops[0]!, 'back to the first next hop');

      const after = await tabby.status();
      for (const p of after) {
        const b = before.find((x) => x.id === p.id)!;
        assert.equal(p.state, 'Established');
        assert.equal(p.counters.established, b.counters.established, `${p.id}: no session change`);
        assert.equal(String(p.since), String(b.since), `${p.id}: same session`);
        assert.equal(p.prefixes.accepted, 1, `${p.id}: its path stays held`);
      }
      t.diagnostic(`next-hop tracking: moved away in ${away} ms, back in ${back} ms`);
    });
  });
});
