// The Tabby speaker against BIRD 2, each in its own namespace: eBGP and iBGP with IPv4
// and IPv6 over one session both ways (with withdrawals), a 4-octet AS, a wrong AS in
// OPEN, the hold timer when BIRD goes silent, and TCP MD5 through the speaker.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { birdBase, birdBgp } from '../helpers/bird.js';
import { expectHoldTimerExpiry, expectPeerWithdrawal, learnedOnePerFamily, peerError, startBird } from '../helpers/bgp-speaker.js';
import { speakerOptions, withLab, type Lab } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });
const TABBY_ID = '10.255.0.1';

/** BIRD in spoke 0 with one static route per family, peering with Tabby. */
function exchangeConfig(lab: Lab, birdAs: number, tabbyAs: number): string {
  const s = lab.net.spokes[0]!;
  return (
    birdBase('10.255.0.11', { v4: ['198.51.100.0/24'], v6: ['2001:db8:100::/48'] }) +
    birdBgp({ name: 'tabby', local: s.addr4, localAs: birdAs, neighbor: lab.net.hubAddr4, neighborAs: tabbyAs, nextHop6: s.addr6 })
  );
}

async function exchange(lab: Lab, birdAs: number, tabbyAs: number): Promise<void> {
  const s = lab.net.spokes[0]!;
  const ibgp = birdAs === tabbyAs;
  const bird = await startBird(lab, 0, exchangeConfig(lab, birdAs, tabbyAs));
  const tabby = lab.tabby({
    speaker: speakerOptions(TABBY_ID, tabbyAs),
    peers: [{ id: 'bird', address: s.addr4, remoteAsn: birdAs, localAddress: lab.net.hubAddr4, localAddress6: lab.net.hubAddr6 }],
    localRoutes: [{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:ab::/48', communities: [(65000 << 16) | 7] }],
  });
  const up = await tabby.established('bird');
  assert.deepEqual(up.negotiated?.families, ['ipv4', 'ipv6']);
  assert.equal(up.negotiated?.fourOctetAs, true);
  assert.equal(up.type, ibgp ? 'ibgp' : 'ebgp');

  // BIRD → Tabby, both families over the one IPv4 session.
  const learned = await learnedOnePerFamily(tabby, 'routes from BIRD');
  const v4 = learned.find((r) => r.prefix === '198.51.100.0/24')!;
  assert.deepEqual(v4.nexthops, [s.addr4]);
  assert.deepEqual(v4.asPath, ibgp ? [] : [birdAs]);
  if (ibgp) assert.equal(v4.localPref, 100);
  const v6 = learned.find((r) => r.prefix === '2001:db8:100::/48')!;
  assert.deepEqual(v6.nexthops, [s.addr6]);

  // Tabby → BIRD.
  const proto = await bird.protocol('tabby');
  assert.equal(proto.bgpState, 'Established', proto.raw);
  assert.match(proto.raw, new RegExp(`Neighbor AS:\\s+${tabbyAs}\\b`));
  await tabby.until('BIRD has our routes', async () => (await bird.prefixes('protocol', 'tabby')).length === 2);
  const all4 = await bird.birdc('show', 'route', 'all', '203.0.113.0/24');
  assert.match(all4, new RegExp(`BGP.next_hop: ${lab.net.hubAddr4.replace(/\./g, '\\.')}`), all4);
  assert.match(all4, new RegExp(`BGP.as_path:${ibgp ? '\\s*\\n' : ` ${tabbyAs}\\s*\\n`}`), all4);
  // (BIRD gives eBGP routes its default LOCAL_PREF on import, so only iBGP tells.)
  if (ibgp) assert.match(all4, /BGP.local_pref: 100/);
  const all6 = await bird.birdc('show', 'route', 'all', '2001:db8:ab::/48');
  assert.match(all6, new RegExp(`BGP.next_hop: ${lab.net.hubAddr6}`), all6);
  assert.match(all6, /BGP.community: \(65000,7\)/, all6);
  const st = await tabby.peer('bird');
  assert.deepEqual(st.prefixes, { received: 2, accepted: 2, advertised: 2 });

  // Withdrawals both ways.
  await tabby.setLocalRoutes([{ prefix: '2001:db8:ab::/48' }]);
  await tabby.until('BIRD lost 203.0.113.0/24', async () => {
    const p = await bird.prefixes('protocol', 'tabby');
    return p.length === 1 && p[0] === '2001:db8:ab::/48';
  });
  await expectPeerWithdrawal(tabby, () => bird.birdc('disable', 's4'));
}

describe('Tabby speaker and BIRD 2', { skip }, () => {
  test('eBGP with a 4-octet AS: IPv4 and IPv6 over one session both ways, with withdrawals', async () => {
    await withLab('tbsb', 1, (lab) => exchange(lab, 65010, 4200000001));
  });

  test('iBGP in a 4-octet AS: the same, with LOCAL_PREF and no AS prepended', async () => {
    await withLab('tbsb', 1, (lab) => exchange(lab, 4200000001, 4200000001));
  });

  test('a wrong AS in OPEN: Bad Peer AS both ways, visible in status', async () => {
    await withLab('tbsb', 2, async (lab) => {
      const [s1, s2] = lab.net.spokes as [typeof lab.net.spokes[0], typeof lab.net.spokes[0]];
      // BIRD 1 is AS 65010 but Tabby expects 65099; BIRD 2 expects Tabby to be 65098.
      await startBird(lab, 0, birdBase('10.255.0.11') + birdBgp({ name: 'tabby', local: s1.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020 }));
      const bird2 = await startBird(lab, 1, birdBase('10.255.0.12') + birdBgp({ name: 'tabby', local: s2.addr4, localAs: 65011, neighbor: lab.net.hubAddr4, neighborAs: 65098 }));
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, 65020),
        peers: [
          { id: 'b1', address: s1.addr4, remoteAsn: 65099 },
          { id: 'b2', address: s2.addr4, remoteAsn: 65011 },
        ],
        localRoutes: [],
      });
      const b1 = await peerError(tabby, 'b1', 'Bad peer AS', 'b1 Bad peer AS');
      assert.equal(b1.lastNotification?.direction, 'sent');
      assert.equal(b1.lastNotification?.code, 2);
      assert.equal(b1.lastNotification?.subcode, 2);
      assert.match(b1.info, /^(Idle|Connect|Active|OpenSent) Bad peer AS$/);
      const b2 = await peerError(tabby, 'b2', 'Received: Bad peer AS', 'b2 Received: Bad peer AS');
      assert.equal(b2.lastNotification?.direction, 'received');
      const p2 = await bird2.protocol('tabby');
      assert.match(p2.raw, /Bad peer AS/, p2.raw);
    });
  });

  test('the hold timer expires when BIRD goes silent', async () => {
    await withLab('tbsb', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      await startBird(lab, 0, birdBase('10.255.0.11') + birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020, holdTime: 6 }));
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, 65020),
        peers: [{ id: 'bird', address: s.addr4, remoteAsn: 65010, holdTime: 6 }],
        localRoutes: [],
      });
      const up = await tabby.established('bird');
      assert.equal(up.negotiated?.holdTime, 6);
      // Everything BIRD sends to Tabby is dropped inside BIRD's namespace.
      const down = await expectHoldTimerExpiry(lab, tabby, s, 'bird');
      assert.match(down.info, /Hold timer expired$/);
    });
  });

  test('TCP MD5: the right key establishes, a wrong one never does and says so', async () => {
    await withLab('tbsb', 2, async (lab) => {
      const [s1, s2] = lab.net.spokes as [typeof lab.net.spokes[0], typeof lab.net.spokes[0]];
      const bgp = (s: typeof s1, password: string) =>
        birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 65020, extra: [`password "${password}";`] });
      const bird1 = await startBird(lab, 0, birdBase('10.255.0.11', { v4: ['198.51.100.0/24'] }) + bgp(s1, 'tabby-md5-key'));
      const bird2 = await startBird(lab, 1, birdBase('10.255.0.12', { v4: ['198.51.101.0/24'] }) + bgp(s2, 'another-key'));
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, 65020),
        peers: [
          { id: 'right', address: s1.addr4, remoteAsn: 65010, md5Key: 'tabby-md5-key' },
          { id: 'wrong', address: s2.addr4, remoteAsn: 65010, md5Key: 'tabby-md5-key' },
        ],
        localRoutes: [],
      });
      await tabby.established('right');
      assert.equal((await bird1.protocol('tabby')).bgpState, 'Established');
      await tabby.until('route over the MD5 session', async () => (await tabby.table()).counts.ipv4 === 1);
      const wrong = await peerError(tabby, 'wrong', 'Socket: Connection timed out', 'the wrong key times out');
      assert.notEqual(wrong.state, 'Established');
      assert.match(wrong.info, /Socket: Connection timed out$/);
      assert.notEqual((await bird2.protocol('tabby')).bgpState, 'Established');
      assert.equal((await tabby.route('198.51.101.0/24')), undefined);
    });
  });
});
