// Route reflection with BIRD 2: the Tabby speaker reflecting between two BIRD clients
// (each sees the other's routes with ORIGINATOR_ID and CLUSTER_LIST), and Tabby as a
// client of a BIRD reflector.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { birdBase, birdBgp } from '../helpers/bird.js';
import { startBird } from '../helpers/bgp-speaker.js';
import { speakerOptions, withLab } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });
const AS = 64512;
const TABBY_ID = '10.255.0.1';

describe('route reflection with BIRD 2', { skip }, () => {
  test('Tabby reflects between two BIRD clients: ORIGINATOR_ID and CLUSTER_LIST on both sides', async () => {
    await withLab('tbsr', 2, async (lab) => {
      const [s1, s2] = [lab.net.spokes[0]!, lab.net.spokes[1]!];
      const client = (s: typeof s1, id: string, v4: string, v6: string) =>
        birdBase(id, { v4: [v4], v6: [v6] }) + birdBgp({ name: 'refl', local: s.addr4, localAs: AS, neighbor: lab.net.hubAddr4, neighborAs: AS, nextHop6: s.addr6 });
      const b1 = await startBird(lab, 0, client(s1, '10.255.0.11', '198.51.100.0/24', '2001:db8:100::/48'));
      const b2 = await startBird(lab, 1, client(s2, '10.255.0.12', '198.51.101.0/24', '2001:db8:101::/48'));
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, AS, { clusterId: '10.255.255.1' }),
        peers: [
          { id: 'c1', address: s1.addr4, remoteAsn: AS, rrClient: true, localAddress6: lab.net.hubAddr6 },
          { id: 'c2', address: s2.addr4, remoteAsn: AS, rrClient: true, localAddress6: lab.net.hubAddr6 },
        ],
        localRoutes: [{ prefix: '203.0.113.0/24' }],
      });
      await tabby.established('c1');
      await tabby.established('c2');
      for (const [bird, other, otherId] of [
        [b2, '198.51.100.0/24', '10.255.0.11'],
        [b1, '198.51.101.0/24', '10.255.0.12'],
      ] as const) {
        const show = await tabby.until(`${other} reflected`, async () => {
          const out = await bird.birdc('show', 'route', 'all', other);
          return out.includes('BGP.cluster_list') ? out : undefined;
        });
        assert.match(show, new RegExp(`BGP.originator_id: ${otherId.replace(/\./g, '\\.')}`), show);
        assert.match(show, /BGP.cluster_list: 10\.255\.255\.1/, show);
        // Next hop unchanged: the originating client, not the reflector.
        const nh = other === '198.51.100.0/24' ? s1.addr4 : s2.addr4;
        assert.match(show, new RegExp(`BGP.next_hop: ${nh.replace(/\./g, '\\.')}`), show);
      }
      const v6 = await tabby.until('IPv6 reflected', async () => {
        const out = await b1.birdc('show', 'route', 'all', '2001:db8:101::/48');
        return out.includes('BGP.cluster_list') ? out : undefined;
      });
      assert.match(v6, /BGP.originator_id: 10\.255\.0\.12/, v6);
      // Our own route reaches both, as plain iBGP (no reflection attributes).
      const own = await b1.birdc('show', 'route', 'all', '203.0.113.0/24');
      assert.match(own, /BGP.local_pref: 100/, own);
      assert.doesNotMatch(own, /BGP.cluster_list/, own);
      assert.equal((await tabby.table()).counts.ipv4, 2);
    });
  });

  test('Tabby as a client of a BIRD reflector', async () => {
    await withLab('tbsr', 2, async (lab) => {
      const [s1, s2] = [lab.net.spokes[0]!, lab.net.spokes[1]!];
      const rr =
        birdBase('10.255.0.11') +
        birdBgp({ name: 'tabby', local: s1.addr4, localAs: AS, neighbor: lab.net.hubAddr4, neighborAs: AS, nextHop6: s1.addr6, extra: ['rr client;', 'rr cluster id 10.255.255.2;'] }) +
        birdBgp({ name: 'client2', local: s1.addr4, localAs: AS, neighbor: s2.addr4, neighborAs: AS, nextHop6: s1.addr6, extra: ['rr client;', 'rr cluster id 10.255.255.2;'] });
      await startBird(lab, 0, rr);
      const other = await startBird(
        lab,
        1,
        birdBase('10.255.0.12', { v4: ['198.51.102.0/24'] }) + birdBgp({ name: 'refl', local: s2.addr4, localAs: AS, neighbor: s1.addr4, neighborAs: AS, nextHop6: s2.addr6 }),
      );
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, AS),
        peers: [{ id: 'rr', address: s1.addr4, remoteAsn: AS, localAddress6: lab.net.hubAddr6 }],
        localRoutes: [{ prefix: '203.0.113.0/24' }],
      });
      await tabby.established('rr');
      const got = await tabby.until('the other client\'s route via the reflector', () => tabby.route('198.51.102.0/24'));
      assert.equal(got.peerId, 'rr');
      assert.deepEqual(got.nexthops, [s2.addr4]);
      assert.equal(got.originatorId, '10.255.0.12');
      assert.deepEqual(got.clusterList, ['10.255.255.2']);
      assert.equal(got.localPref, 100);
      const show = await tabby.until('our route at the other client', async () => {
        const out = await other.birdc('show', 'route', 'all', '203.0.113.0/24');
        return out.includes('BGP.originator_id') ? out : undefined;
      });
      assert.match(show, /BGP.originator_id: 10\.255\.0\.1\b/, show);
      assert.match(show, /BGP.cluster_list: 10\.255\.255\.2/, show);
    });
  });
});
