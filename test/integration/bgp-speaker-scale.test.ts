// 100k IPv4 prefixes from BIRD 2 (a generated static protocol) reach the Tabby speaker's
// Loc-RIB over one session without errors. Asserts the count; prints the time.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bird, birdBase, birdBgp } from '../helpers/bird.js';
import { speakerOptions, withLab } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });
const COUNT = 100_000;

describe('a large table from BIRD 2', { skip }, () => {
  test(`${COUNT} IPv4 prefixes reach the Loc-RIB in one session`, async () => {
    await withLab('tbss', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      const routes: string[] = [];
      for (let i = 0; i < COUNT; i++) routes.push(`route 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 blackhole;`);
      const config =
        birdBase('10.255.0.11') +
        `protocol static big { ipv4;\n${routes.join('\n')}\n}\n` +
        birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020, ipv6: false });
      const bird = new Bird(s.ns, lab.dir, 'bird');
      lab.defer(() => bird.stop({ kill: true }));
      await bird.start(config);
      const tabby = lab.tabby({
        speaker: speakerOptions('10.255.0.1', 65020),
        peers: [{ id: 'bird', address: s.addr4, remoteAsn: 65010, families: ['ipv4'] }],
        localRoutes: [],
      });
      const full = await tabby.waitFor((e) => e.event === 'best' && e.ipv4 === COUNT, 60_000);
      assert.ok(full, `only ${(await tabby.table(false)).counts.ipv4} prefixes arrived`);
      // From the first learned route to the last, as the runner stamped them.
      const first = tabby.events.find((e) => e.event === 'best')!;
      const ready = tabby.events.find((e) => e.event === 'ready')!;
      const ms = full.at - first.at;
      const st = await tabby.peer('bird');
      console.log(
        `${COUNT} prefixes from BIRD: ${ms} ms from the first to the last (${Math.round((COUNT / Math.max(ms, 1)) * 1000)} prefixes/s), ` +
          `${full.at - ready.at} ms after the speaker started; ${st.counters.messagesIn.update} UPDATEs`,
      );
      assert.equal(st.state, 'Established');
      assert.equal(st.prefixes.received, COUNT);
      assert.equal(st.prefixes.accepted, COUNT);
      assert.equal(st.counters.treatAsWithdraw, 0);
      assert.equal(st.counters.attributesDiscarded, 0);
      assert.equal(st.counters.notificationsIn[3] ?? 0, 0);
      assert.equal(st.negotiated?.families.join(), 'ipv4');
      const table = await tabby.table(false);
      assert.equal(table.counts.ipv4, COUNT);
    });
  });
});
