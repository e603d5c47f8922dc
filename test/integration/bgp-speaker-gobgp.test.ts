// The Tabby speaker against GoBGP, each in its own namespace: eBGP (GoBGP in a 4-octet
// AS) and iBGP with IPv4 and IPv6 over one session both ways with withdrawals, a wrong
// AS in OPEN both ways, and the hold timer when GoBGP goes silent.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GoBgp, gobgpConfig, type GobgpNeighbor } from '../helpers/gobgp.js';
import { expectHoldTimerExpiry, expectPeerWithdrawal, learnedOnePerFamily, peerError } from '../helpers/bgp-speaker.js';
import { speakerOptions, withLab, type Lab, type PrintedPath } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'gobgpd', 'gobgp'] });
const TABBY_ID = '10.255.0.1';

async function startGobgp(lab: Lab, spoke: number, asn: number, neighbors: GobgpNeighbor[]): Promise<GoBgp> {
  const s = lab.net.spokes[spoke]!;
  const g = new GoBgp(s.ns, lab.dir, `gobgp${spoke + 1}`);
  lab.defer(() => g.stop());
  await g.start(gobgpConfig({ asn, routerId: `10.255.0.${11 + spoke}`, listen: s.addr4, neighbors }));
  return g;
}

async function exchange(lab: Lab, gobgpAs: number, tabbyAs: number): Promise<void> {
  const s = lab.net.spokes[0]!;
  const ibgp = gobgpAs === tabbyAs;
  const g = await startGobgp(lab, 0, gobgpAs, [{ address: lab.net.hubAddr4, peerAs: tabbyAs }]);
  await g.addRoute('ipv4', '198.51.100.0/24', s.addr4);
  await g.addRoute('ipv6', '2001:db8:100::/48', s.addr6);
  const tabby = lab.tabby({
    speaker: speakerOptions(TABBY_ID, tabbyAs),
    peers: [{ id: 'gobgp', address: s.addr4, remoteAsn: gobgpAs, localAddress: lab.net.hubAddr4, localAddress6: lab.net.hubAddr6 }],
    localRoutes: [{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:ab::/48' }],
  });
  const up = await tabby.established('gobgp');
  assert.deepEqual(up.negotiated?.families, ['ipv4', 'ipv6']);
  assert.equal(up.negotiated?.peerAs, gobgpAs);
  assert.equal((await g.neighbor(lab.net.hubAddr4)).state, 'established');

  const learned = await learnedOnePerFamily(tabby, 'routes from GoBGP');
  const byPrefix = (p: string): PrintedPath => learned.find((r) => r.prefix === p)!;
  assert.deepEqual(byPrefix('198.51.100.0/24').nexthops, [s.addr4]);
  assert.deepEqual(byPrefix('198.51.100.0/24').asPath, ibgp ? [] : [gobgpAs]);
  assert.deepEqual(byPrefix('2001:db8:100::/48').nexthops, [s.addr6]);

  await tabby.until('GoBGP has our routes', async () => {
    const v4 = await g.prefixes('ipv4');
    const v6 = await g.prefixes('ipv6');
    return v4.includes('203.0.113.0/24') && v6.includes('2001:db8:ab::/48');
  });
  const [ours] = await g.paths('ipv4', '203.0.113.0/24');
  const attrs = JSON.stringify(ours?.attrs);
  assert.match(attrs, new RegExp(`"nexthop":"${lab.net.hubAddr4}"`), attrs);
  if (ibgp) assert.match(attrs, /"type":5,"value":100/, attrs); // LOCAL_PREF
  else assert.match(attrs, new RegExp(`"asns":\\[${tabbyAs}\\]`), attrs);
  const [ours6] = await g.paths('ipv6', '2001:db8:ab::/48');
  assert.match(JSON.stringify(ours6?.attrs), new RegExp(`"nexthop":"${lab.net.hubAddr6}"`));

  // Withdrawals both ways.
  await tabby.setLocalRoutes([{ prefix: '203.0.113.0/24' }]);
  await tabby.until('GoBGP lost our IPv6 route', async () => !(await g.prefixes('ipv6')).includes('2001:db8:ab::/48'));
  await expectPeerWithdrawal(tabby, () => g.delRoute('ipv4', '198.51.100.0/24'));
}

describe('Tabby speaker and GoBGP', { skip }, () => {
  test('eBGP with GoBGP in a 4-octet AS: IPv4 and IPv6 over one session both ways, with withdrawals', async () => {
    await withLab('tbsp', 1, (lab) => exchange(lab, 4200000002, 65020));
  });

  test('iBGP: the same, with LOCAL_PREF and no AS prepended', async () => {
    await withLab('tbsp', 1, (lab) => exchange(lab, 64512, 64512));
  });

  test('a wrong AS in OPEN: Bad Peer AS both ways, visible in status', async () => {
    await withLab('tbsp', 2, async (lab) => {
      const [s1, s2] = [lab.net.spokes[0]!, lab.net.spokes[1]!];
      // GoBGP 1 is AS 65010 but Tabby expects 65099; GoBGP 2 expects Tabby to be 65098.
      await startGobgp(lab, 0, 65010, [{ address: lab.net.hubAddr4, peerAs: 65020 }]);
      await startGobgp(lab, 1, 65011, [{ address: lab.net.hubAddr4, peerAs: 65098 }]);
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, 65020),
        peers: [
          { id: 'g1', address: s1.addr4, remoteAsn: 65099 },
          { id: 'g2', address: s2.addr4, remoteAsn: 65011 },
        ],
        localRoutes: [],
      });
      const g1 = await peerError(tabby, 'g1', 'Bad peer AS', 'g1: Bad peer AS (sent)');
      assert.deepEqual([g1.lastNotification?.direction, g1.lastNotification?.code, g1.lastNotification?.subcode], ['sent', 2, 2]);
      const g2 = await peerError(tabby, 'g2', 'Received: Bad peer AS', 'g2: Bad peer AS (received)');
      assert.deepEqual([g2.lastNotification?.direction, g2.lastNotification?.code, g2.lastNotification?.subcode], ['received', 2, 2]);
      assert.match(g2.info, /Received: Bad peer AS$/);
    });
  });

  test('the hold timer expires when GoBGP goes silent', async () => {
    await withLab('tbsp', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      await startGobgp(lab, 0, 65010, [{ address: lab.net.hubAddr4, peerAs: 65020, holdTime: 6 }]);
      const tabby = lab.tabby({
        speaker: speakerOptions(TABBY_ID, 65020),
        peers: [{ id: 'gobgp', address: s.addr4, remoteAsn: 65010, holdTime: 6 }],
        localRoutes: [],
      });
      const up = await tabby.established('gobgp');
      assert.equal(up.negotiated?.holdTime, 6);
      await expectHoldTimerExpiry(lab, tabby, s, 'gobgp');
    });
  });
});
