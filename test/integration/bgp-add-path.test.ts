// ADD-PATH (RFC 7911) across a route reflector, with real peers. Two clients announce
// the same prefix, each with its own next hop; a third client must install an ECMP route
// over both. calico-node's BIRD has `add paths on` on every session (confd
// bird.cfg.template, bgp_template) and `merge paths on` in its kernel protocol, which is
// what makes this work behind a BIRD reflector; Tabby does the same in both roles.
//   1. Tabby reflects: a BIRD client with `add paths rx` merges both paths into one
//      multipath kernel route; a GoBGP client with add-paths receive holds both paths.
//   2. Tabby is the client behind a BIRD reflector (`add paths tx`), then a GoBGP one
//      (send-max 8): the kernel route in Tabby's namespace has both next hops.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { birdBase, birdBgp } from '../helpers/bird.js';
import { startBird } from '../helpers/bgp-speaker.js';
import { GoBgp, gobgpConfig, type GobgpNeighbor } from '../helpers/gobgp.js';
import { speakerOptions, withLab, type Lab, type SpeakerProc } from '../fixtures/bgp-speaker-harness.js';
import { ip } from '../../src/util/exec.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp'] });
const AS = 64512;
const PREFIX = '198.51.100.0/24';
const CLUSTER = '10.255.255.1';

async function startGobgp(lab: Lab, spoke: number, neighbors: GobgpNeighbor[]): Promise<GoBgp> {
  const s = lab.net.spokes[spoke]!;
  const g = new GoBgp(s.ns, lab.dir, `gobgp${spoke + 1}`);
  lab.defer(() => g.stop());
  await g.start(gobgpConfig({ asn: AS, routerId: `10.255.0.${11 + spoke}`, listen: s.addr4, neighbors }));
  return g;
}

/** A BIRD that originates PREFIX (a blackhole static) towards `neighbor`. */
function origin(lab: Lab, spoke: number, neighbor: string): Promise<unknown> {
  const s = lab.net.spokes[spoke]!;
  return startBird(lab, spoke, birdBase(`10.255.0.${11 + spoke}`, { v4: [PREFIX] }) + birdBgp({ name: 'up', local: s.addr4, localAs: AS, neighbor, neighborAs: AS, ipv6: false }));
}

/** `ip route show PREFIX` in `ns` until both next hops are in one multipath route. */
async function kernelEcmp(tabby: SpeakerProc, ns: string, hops: string[]): Promise<string> {
  return tabby.until(`a multipath kernel route in ${ns} via ${hops.join(' and ')}`, async () => {
    const out = (await ip(['route', 'show', PREFIX], ns)).stdout;
    return hops.every((h) => new RegExp(`nexthop via ${h.replace(/\./g, '\\.')} `).test(out)) ? out : undefined;
  }, 30_000);
}

describe('ADD-PATH (RFC 7911) through a route reflector', { skip }, () => {
  test('Tabby reflects every path: a BIRD client (add paths rx) and a GoBGP client (add-paths receive) both get ECMP over two next hops', async () => {
    await withLab('tbap', 4, async (lab) => {
      const [s1, s2, s3, s4] = lab.net.spokes as [typeof lab.net.spokes[0], typeof lab.net.spokes[0], typeof lab.net.spokes[0], typeof lab.net.spokes[0]];
      const hub = lab.net.hubAddr4;
      const tabby = lab.tabby({
        speaker: speakerOptions('10.255.0.1', AS, { clusterId: CLUSTER }),
        peers: [s1, s2, s3, s4].map((s, i) => ({ id: `c${i + 1}`, address: s.addr4, remoteAsn: AS, rrClient: true, families: ['ipv4' as const] })),
        localRoutes: [],
      });
      await origin(lab, 0, hub);
      await origin(lab, 1, hub);
      // BIRD 2 doc, BGP: "add paths rx" receives several paths; the kernel protocol's
      // "merge paths" exports equal ones as one multipath route (calico-node's kernel protocol).
      const bird = await startBird(
        lab,
        2,
        `${birdBase('10.255.0.13')}protocol kernel { ipv4 { import none; export all; }; merge paths on; }\n` +
          birdBgp({ name: 'refl', local: s3.addr4, localAs: AS, neighbor: hub, neighborAs: AS, ipv6: false, channel4: ['add paths rx;'] }),
      );
      const gobgp = await startGobgp(lab, 3, [{ address: hub, peerAs: AS, families: ['ipv4'], addPaths: { receive: true } }]);
      for (const id of ['c1', 'c2', 'c3', 'c4']) await tabby.established(id);
      const c3 = await tabby.peer('c3');
      assert.deepEqual(c3.negotiated?.addPath, { receive: [], send: ['ipv4'] }, 'RFC 7911 §4: BIRD receives, so we send');

      const show = await tabby.until('both paths at the BIRD client', async () => {
        const out = await bird.birdc('show', 'route', PREFIX);
        return out.includes(s1.addr4) && out.includes(s2.addr4) ? out : undefined;
      });
      assert.match(show, new RegExp(`via ${s1.addr4.replace(/\./g, '\\.')}`), show);
      await kernelEcmp(tabby, s3.ns, [s1.addr4, s2.addr4]);

      const paths = await tabby.until('both paths at the GoBGP client', async () => {
        const p = await gobgp.paths('ipv4', PREFIX);
        return p.length === 2 ? p : undefined;
      });
      const hops = paths.map((p) => JSON.stringify(p.attrs)).join(' ');
      assert.ok(hops.includes(s1.addr4) && hops.includes(s2.addr4), hops);
      assert.equal((await tabby.peer('c4')).prefixes.advertised, 2, 'two paths advertised to the add-path client');
      // The origins negotiated no add-path: only the best path goes (c1's, lowest
      // ORIGINATOR_ID, RFC 4456 §9), and never back to where it came from.
      assert.equal((await tabby.peer('c1')).prefixes.advertised, 0);
      assert.equal((await tabby.peer('c2')).prefixes.advertised, 1);
    });
  });

  for (const rr of ['BIRD', 'GoBGP'] as const) {
    test(`Tabby behind a ${rr} reflector sending every path: the kernel route has a next hop via each client`, async () => {
      await withLab('tbap', 3, async (lab) => {
        const [s1, s2, s3] = lab.net.spokes as [typeof lab.net.spokes[0], typeof lab.net.spokes[0], typeof lab.net.spokes[0]];
        const hub = lab.net.hubAddr4;
        if (rr === 'BIRD') {
          // BIRD 2 doc: "add paths tx" sends every path accepted by export; `rr client` reflects.
          const client = (name: string, neighbor: string, tx: boolean) =>
            birdBgp({ name, local: s1.addr4, localAs: AS, neighbor, neighborAs: AS, ipv6: false, extra: ['rr client;', `rr cluster id ${CLUSTER};`], channel4: tx ? ['add paths tx;'] : [] });
          await startBird(lab, 0, birdBase('10.255.0.11') + client('tabby', hub, true) + client('o2', s2.addr4, false) + client('o3', s3.addr4, false));
        } else {
          await startGobgp(lab, 0, [
            { address: hub, peerAs: AS, families: ['ipv4'], rrClusterId: CLUSTER, addPaths: { sendMax: 8 } },
            { address: s2.addr4, peerAs: AS, families: ['ipv4'], rrClusterId: CLUSTER },
            { address: s3.addr4, peerAs: AS, families: ['ipv4'], rrClusterId: CLUSTER },
          ]);
        }
        await origin(lab, 1, s1.addr4);
        await origin(lab, 2, s1.addr4);
        const tabby = lab.tabby({
          speaker: speakerOptions('10.255.0.1', AS),
          peers: [{ id: 'rr', address: s1.addr4, remoteAsn: AS, families: ['ipv4'] }],
          localRoutes: [],
          kernel: true,
        });
        const up = await tabby.established('rr');
        assert.deepEqual(up.negotiated?.addPath.receive, ['ipv4'], 'RFC 7911 §4: the reflector sends, we receive');
        const got = await tabby.until('both paths as one ECMP best path', async () => {
          const r = await tabby.route(PREFIX);
          return r && r.nexthops.length === 2 ? r : undefined;
        });
        assert.deepEqual([...got.nexthops].sort(), [s2.addr4, s3.addr4].sort());
        await kernelEcmp(tabby, lab.net.hub, [s2.addr4, s3.addr4]);
      });
    });
  }
});
