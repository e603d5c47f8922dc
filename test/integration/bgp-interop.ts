// The interop matrix, run once per daemon by bgp-interop-<daemon>.test.ts (one file per
// daemon so they run in parallel). Two topologies, each on a star of namespaces with the
// Tabby speaker in the hub and its learned routes in the hub's kernel:
//
// 1. Tabby as route reflector (cluster 10.255.255.1): the daemon as an eBGP peer with
//    TCP MD5 (s1), the daemon as an iBGP client (s2), ExaBGP as a second client (s3) that
//    also sends an attribute nobody knows. IPv4 and IPv6 over one session; communities,
//    large and extended communities and the unknown attribute must come out the other
//    side as they went in (RFC 1997, RFC 8092, RFC 4360, RFC 4271 §5 with the Partial
//    bit); reflection adds ORIGINATOR_ID and CLUSTER_LIST (RFC 4456 §8).
// 2. Tabby as a client of the daemon as route reflector (cluster 10.255.255.2) with an
//    ExaBGP client behind it, then graceful restart (RFC 4724) both ways: Tabby crashes
//    and comes back restarting — the daemon must not lose Tabby's routes from what it
//    forwards on; the daemon crashes and comes back — Tabby's kernel must not lose the
//    daemon's routes. Both sampled every 50 ms.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { routeDump } from '../../src/native/routes.js';
import { speakerOptions, withLab, type Lab, type RunConfig, type SpeakerProc } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';
import { TOOLS, kernelPrefixes, makeDaemon, restartDaemon, sampler, type DaemonKind, type DaemonSpec, type InteropDaemon, type WatchResult } from '../helpers/interop.js';

const AS = 64512;
const EBGP_AS = 65101;
const TABBY_ID = '10.255.0.1';
const MD5 = 'interop-md5';
const RESTART_TIME = 60;
/** RFC 4360 §3.1: two-octet AS specific, route target; 65101:1 → 00 02 fe4d 00000001. */
const RT_65101_1 = '0002fe4d00000001';
const UNKNOWN = { type: 0xf0, flags: 0xc0, hex: 'deadbeef' };

/** What the matrix needs for `kind` (ExaBGP and BIRD take part in every run). */
export function requirement(kind: DaemonKind): string | false {
  return needs({ root: true, tools: ['ip', ...new Set([...TOOLS[kind], ...TOOLS.exabgp, ...TOOLS.bird])] }).skip;
}

function comm(s: string): number {
  const [a, b] = s.split(':').map(Number);
  return ((a! << 16) >>> 0) + b!;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000, every = 200, context?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await check().catch((err: unknown) => ((last = err), undefined));
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Peers (state, prefix counts, refusals) and learned prefixes in a few lines, for failures. */
export async function summary(tabby: SpeakerProc): Promise<string> {
  const peers = (await tabby.status()).map((p) => `${p.id} ${p.state} ${JSON.stringify(p.prefixes)} ${p.importRejected ? JSON.stringify(p.importRejected) : ''} ${p.lastError ?? ''}`);
  const t = await tabby.table();
  return [...peers, ...t.routes.map((r) => `${r.prefix} via ${r.nexthops.join(',')} from ${r.peerId}`)].join('\n');
}

function checkWatch(r: WatchResult, what: string, context: () => string): void {
  if (!r.continuous) assert.ok(r.samples >= 20, `sampled only ${r.samples} times`);
  assert.deepEqual(r.missing, [], `${what}${r.missing.length > 0 ? context() : ''}`);
}

function startDaemon(lab: Lab, kind: DaemonKind, spoke: number, name: string): InteropDaemon {
  const d = makeDaemon(kind, lab.net.spokes[spoke]!.ns, lab.dir, name);
  lab.defer(() => d.stop());
  return d;
}

async function hubRoutes(lab: Lab): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const family of [4, 6] as const) {
    for (const r of await routeDump({ family, netns: lab.net.hub, protocol: 88 })) {
      out.set(r.dst, r.gateway ? [r.gateway] : (r.nexthops ?? []).map((n) => n.gateway!).filter(Boolean));
    }
  }
  return out;
}

export function interopSuite(kind: DaemonKind): void {
  const skip = requirement(kind);

  describe(`interop with ${kind}`, { skip }, () => {
    test(`${kind}: eBGP with MD5 and iBGP, IPv4 and IPv6, communities and unknown attributes passed on, Tabby as route reflector`, async () => {
      await withLab(`tbi${kind.slice(0, 2)}`, 3, async (lab) => {
        const [s1, s2, s3] = lab.net.spokes as [typeof lab.net.spokes[0], typeof lab.net.spokes[0], typeof lab.net.spokes[0]];
        const hub4 = lab.net.hubAddr4;
        const hub6 = lab.net.hubAddr6;
        const ebgp = startDaemon(lab, kind, 0, `${kind}-ebgp`);
        const client = startDaemon(lab, kind, 1, `${kind}-client`);
        const exa = startDaemon(lab, 'exabgp', 2, 'exa-client');
        const tabby = lab.tabby({
          speaker: speakerOptions(TABBY_ID, AS, { clusterId: '10.255.255.1' }),
          peers: [
            { id: 'ebgp', address: s1.addr4, remoteAsn: EBGP_AS, md5Key: MD5, localAddress6: hub6 },
            { id: 'client', address: s2.addr4, remoteAsn: AS, rrClient: true, localAddress6: hub6 },
            { id: 'exa', address: s3.addr4, remoteAsn: AS, rrClient: true, passive: true, localAddress6: hub6 },
          ],
          localRoutes: [{ prefix: '10.200.0.0/24', communities: [comm('64512:100')] }, { prefix: '2001:db8:aa::/48' }],
          kernel: true,
        });
        const attrs = (asn: number, n: number) => ({ communities: [`${asn}:${n}`], large: [`${asn}:${n}:${n}`], rt: [`${asn}:${n}`] });
        await ebgp.start({
          routerId: '10.255.0.11', asn: EBGP_AS, local4: s1.addr4, local6: s1.addr6,
          neighbors: [{ address: hub4, asn: AS, md5: MD5 }],
          routes: [
            { prefix: '198.51.100.0/24', nextHop: s1.addr4, ...attrs(EBGP_AS, 1) },
            { prefix: '2001:db8:d1::/48', nextHop: s1.addr6, ...attrs(EBGP_AS, 1) },
          ],
        });
        await client.start({
          routerId: '10.255.0.12', asn: AS, local4: s2.addr4, local6: s2.addr6,
          neighbors: [{ address: hub4, asn: AS }],
          routes: [
            { prefix: '198.51.102.0/24', nextHop: s2.addr4, communities: ['64512:2'] },
            { prefix: '2001:db8:d2::/48', nextHop: s2.addr6, communities: ['64512:2'] },
          ],
        });
        await exa.start({
          routerId: '10.255.0.13', asn: AS, local4: s3.addr4, local6: s3.addr6,
          neighbors: [{ address: hub4, asn: AS }],
          routes: [
            { prefix: '203.0.113.0/24', nextHop: s3.addr4, ...attrs(AS, 3), raw: UNKNOWN },
            { prefix: '2001:db8:e3::/48', nextHop: s3.addr6, ...attrs(AS, 3) },
          ],
        });
        const ctx = () => `\n${kind} ebgp log:\n${ebgp.log()}\nclient log:\n${client.log()}\nexa log:\n${exa.log()}\ntabby stderr:\n${tabby.stderr.slice(-3000)}`;
        for (const id of ['ebgp', 'client', 'exa']) await until(`${id} Established`, async () => (await tabby.peer(id)).state === 'Established', 30_000, 200, ctx);
        let summaryNow = '';
        const summarize = setInterval(() => {
          void summary(tabby).then((t) => (summaryNow = t), () => {});
        }, 1000);
        lab.defer(() => clearInterval(summarize));

        // What Tabby learned: every attribute as sent (RFC 4271 §9.1.2 keeps them as received).
        const routes = await until('six learned routes', async () => {
          const t = await tabby.table();
          return t.routes.length === 6 ? t.routes : undefined;
        }, 20_000, 200, () => `${ctx()}\n${summaryNow}`);
        const by = new Map(routes.map((r) => [r.prefix, r]));
        const d1 = by.get('198.51.100.0/24')!;
        assert.deepEqual(d1.nexthops, [s1.addr4]);
        assert.deepEqual(d1.asPath, [EBGP_AS], 'the eBGP peer prepended its AS (RFC 4271 §5.1.2)');
        assert.deepEqual(d1.communities, [comm('65101:1')]);
        assert.deepEqual(d1.largeCommunities, [[65101, 1, 1]]);
        assert.deepEqual(d1.extendedCommunities, [RT_65101_1]);
        assert.deepEqual(by.get('2001:db8:d1::/48')?.nexthops, [s1.addr6]);
        assert.deepEqual(by.get('198.51.102.0/24')?.nexthops, [s2.addr4]);
        assert.deepEqual(by.get('2001:db8:d2::/48')?.nexthops, [s2.addr6]);
        assert.deepEqual(by.get('203.0.113.0/24')?.unknown, [{ type: 0xf0, flags: 0xc0, value: 'deadbeef' }]);
        // ... and put in the hub's kernel.
        const kernel = await until('learned routes in the hub kernel', async () => {
          const k = await hubRoutes(lab);
          return k.size === 6 ? k : undefined;
        });
        assert.deepEqual(kernel.get('198.51.100.0/24'), [s1.addr4]);
        assert.deepEqual(kernel.get('2001:db8:d1::/48'), [s1.addr6]);
        assert.deepEqual(kernel.get('203.0.113.0/24'), [s3.addr4]);

        // eBGP out: our AS prepended, next hop self, every community and the unknown attribute passed on.
        const atEbgp = await until(`${kind} (eBGP) has ExaBGP's route`, () => ebgp.route('203.0.113.0/24'), 20_000, 200, ctx);
        assert.deepEqual(atEbgp.asPath, [AS]);
        assert.equal(atEbgp.nextHop, hub4);
        assert.ok(atEbgp.communities.includes('64512:3'), JSON.stringify(atEbgp));
        assert.deepEqual(atEbgp.large, ['64512:3:3']);
        assert.deepEqual(atEbgp.ext, ['rt:64512:3']);
        if (ebgp.showsUnknown) assert.deepEqual(atEbgp.unknown, [0xf0], `${kind} got the unknown attribute: ${JSON.stringify(atEbgp)}`);
        const ownAtEbgp = await until(`${kind} (eBGP) has our route`, () => ebgp.route('10.200.0.0/24'));
        assert.deepEqual(ownAtEbgp.asPath, [AS]);
        assert.deepEqual(ownAtEbgp.communities, ['64512:100']);
        assert.ok(await until(`${kind} (eBGP) has our IPv6 route`, () => ebgp.route('2001:db8:aa::/48')));

        // Reflected to the daemon as client: next hop unchanged, ORIGINATOR_ID and CLUSTER_LIST added.
        const atClient = await until(`${kind} (client) has ExaBGP's route reflected`, () => client.route('203.0.113.0/24'), 20_000, 200, ctx);
        assert.equal(atClient.nextHop, s3.addr4);
        assert.equal(atClient.originatorId, '10.255.0.13');
        assert.deepEqual(atClient.clusterList, ['10.255.255.1']);
        assert.deepEqual(atClient.large, ['64512:3:3']);
        assert.deepEqual(atClient.ext, ['rt:64512:3']);
        if (client.showsUnknown) assert.deepEqual(atClient.unknown, [0xf0]);
        const ebgpAtClient = await until(`${kind} (client) has the eBGP route`, () => client.route('198.51.100.0/24'));
        assert.equal(ebgpAtClient.nextHop, s1.addr4, 'iBGP keeps the eBGP next hop');
        assert.deepEqual(ebgpAtClient.asPath, [EBGP_AS]);
        assert.deepEqual([ebgpAtClient.communities, ebgpAtClient.large, ebgpAtClient.ext], [['65101:1'], ['65101:1:1'], ['rt:65101:1']]);
        assert.ok(await until(`${kind} (client) has the eBGP IPv6 route`, () => client.route('2001:db8:d1::/48')));

        // ExaBGP, the other client, sees the daemon's routes as sent, and the client's reflected.
        const reflected = await until('ExaBGP has the client route reflected', () => exa.route('198.51.102.0/24'));
        assert.equal(reflected.originatorId, '10.255.0.12');
        assert.deepEqual(reflected.clusterList, ['10.255.255.1']);
        const fromEbgp = await until('ExaBGP has the eBGP route', () => exa.route('198.51.100.0/24'));
        assert.deepEqual([fromEbgp.communities, fromEbgp.large, fromEbgp.ext], [['65101:1'], ['65101:1:1'], ['rt:65101:1']]);
        const v6 = await until('ExaBGP has the eBGP IPv6 route', () => exa.route('2001:db8:d1::/48'));
        assert.equal(v6.nextHop, s1.addr6);
        await tabby.stop();
      });
    });

    test(`${kind}: Tabby as route-reflector client; graceful restart of Tabby and of ${kind} loses no route from the survivor`, async () => {
      await withLab(`tbg${kind.slice(0, 2)}`, 2, async (lab) => {
        const [s1, s2] = lab.net.spokes as [typeof lab.net.spokes[0], typeof lab.net.spokes[0]];
        const hub4 = lab.net.hubAddr4;
        const hub6 = lab.net.hubAddr6;
        const rr = startDaemon(lab, kind, 0, `${kind}-rr`);
        // The other client is BIRD: a restarting reflector waits only for clients that are
        // not restarting themselves (RFC 4724 §4.1), and ExaBGP sets the R bit on every
        // session, FRR for 120 s after it starts.
        const other = kind === 'exabgp' ? undefined : startDaemon(lab, 'bird', 1, 'bird-client');
        const tabbyConfig = (restarting: boolean): RunConfig => ({
          speaker: speakerOptions(TABBY_ID, AS, { gracefulRestart: { restartTime: RESTART_TIME, restarting } }),
          peers: [{ id: 'rr', address: s1.addr4, remoteAsn: AS, localAddress6: hub6, gracefulRestartTime: RESTART_TIME }],
          localRoutes: [{ prefix: '10.201.0.0/24' }, { prefix: '2001:db8:ab::/48' }],
          kernel: true,
        });
        let tabby: SpeakerProc = lab.tabby(tabbyConfig(false));
        // ExaBGP cannot reflect: in its place it sends what a reflector would (RFC 4456 §8),
        // one route with our own ORIGINATOR_ID, which we must drop as a loop.
        const rrSpec: DaemonSpec =
          kind === 'exabgp'
            ? {
                routerId: '10.255.0.11', asn: AS, local4: s1.addr4, local6: s1.addr6, restartTime: RESTART_TIME,
                neighbors: [{ address: hub4, asn: AS }],
                routes: [
                  { prefix: '198.51.110.0/24', nextHop: s1.addr4 },
                  { prefix: '2001:db8:d5::/48', nextHop: s1.addr6 },
                  { prefix: '198.51.111.0/24', nextHop: s2.addr4, originatorId: '10.255.0.12', clusterList: ['10.255.255.2'] },
                  { prefix: '198.51.112.0/24', nextHop: s2.addr4, originatorId: TABBY_ID, clusterList: ['10.255.255.2'] },
                ],
              }
            : {
                routerId: '10.255.0.11', asn: AS, local4: s1.addr4, local6: s1.addr6, restartTime: RESTART_TIME, clusterId: '10.255.255.2',
                neighbors: [{ address: hub4, asn: AS, rrClient: true }, { address: s2.addr4, asn: AS, rrClient: true }],
                // GoBGP takes routes over its API after it started, too late for the table a
                // restarting GoBGP sends before its End-of-RIB: it only reflects, here.
                routes: kind === 'gobgp' ? [] : [
                  { prefix: '198.51.110.0/24', nextHop: s1.addr4 },
                  { prefix: '2001:db8:d5::/48', nextHop: s1.addr6 },
                ],
              };
        await rr.start(rrSpec);
        await other?.start({
          routerId: '10.255.0.12', asn: AS, local4: s2.addr4, local6: s2.addr6, restartTime: RESTART_TIME,
          neighbors: [{ address: s1.addr4, asn: AS }],
          routes: [{ prefix: '198.51.111.0/24', nextHop: s2.addr4 }, { prefix: '2001:db8:e5::/48', nextHop: s2.addr6 }],
        });
        const ctx = () => `\n${kind} log:\n${rr.log()}\ntabby stderr:\n${tabby.stderr.slice(-3000)}`;
        await until('Tabby Established with the reflector', async () => (await tabby.peer('rr')).state === 'Established', 30_000, 200, ctx);

        // Tabby as client: the other client's route, reflected, next hop unchanged.
        const learned = [
          ...rrSpec.routes.filter((r) => r.originatorId !== TABBY_ID).map((r) => r.prefix),
          ...(other ? ['198.51.111.0/24', '2001:db8:e5::/48'] : []),
        ];
        const got = await tabby.until('the reflected route', () => tabby.route('198.51.111.0/24'), 30_000);
        assert.deepEqual(got.nexthops, [s2.addr4]);
        assert.equal(got.originatorId, '10.255.0.12');
        assert.deepEqual(got.clusterList, ['10.255.255.2']);
        if (kind === 'exabgp') {
          assert.equal(await tabby.route('198.51.112.0/24'), undefined, 'our own ORIGINATOR_ID: a loop, dropped (RFC 4456 §8)');
        } else {
          const ours = await until('the other client has our route, reflected', () => other!.route('10.201.0.0/24'), 20_000, 200, ctx);
          assert.equal(ours.originatorId, TABBY_ID);
          assert.deepEqual(ours.clusterList, ['10.255.255.2']);
          assert.equal(ours.nextHop, hub4);
        }
        await until('the learned routes in the hub kernel', async () => {
          const k = await kernelPrefixes(lab.net.hub);
          return learned.every((p) => k.has(p));
        });
        const ours = ['10.201.0.0/24', '2001:db8:ab::/48'];
        await until(`${kind} forwards on our routes`, async () => {
          const f = await rr.fib();
          return ours.every((p) => f.has(p));
        }, 20_000, 200, ctx);

        // 1. Tabby crashes and comes back restarting: the reflector keeps our routes throughout.
        const atRr = await rr.watch(ours);
        lab.defer(() => atRr.stop().catch(() => undefined));
        await tabby.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 1500));
        tabby = lab.tabby(tabbyConfig(true));
        await until('Tabby back and out of restart recovery', async () => {
          const st = await tabby.request({ cmd: 'status' });
          return st.status?.[0]?.state === 'Established' && (st as { recovering?: boolean }).recovering === false;
        }, 30_000, 200, ctx);
        // Settled: the reflector had our End-of-RIB and swept nothing of ours.
        await new Promise((r) => setTimeout(r, 1500));
        const r1 = await atRr.stop();
        checkWatch(r1, `${kind} lost routes of the restarting Tabby`, ctx);
        const after = await rr.fib();
        assert.ok(ours.every((p) => after.has(p)), `${kind} has our routes after the restart`);

        // 2. The daemon crashes and comes back: Tabby's kernel keeps its routes throughout.
        //    FRR 8.4 sends End-of-RIB for a family as its selection deferral ends, ahead of
        //    the UPDATE for a route selected at that moment (its log shows "send End-of-RIB"
        //    before "send UPDATE" of the other client's route); RFC 4724 §4.2 has us drop
        //    stale routes at End-of-RIB, so those may blink. On a loaded machine the same
        //    holds for its own `network` routes: its End-of-RIB came 4 ms after Established,
        //    before any UPDATE (CI log, 2026-12-07). So for FRR its routes are sampled while
        //    it is down (kept as stale), and checked again once it is back.
        const continuous = kind === 'frr' ? rrSpec.routes.map((r) => r.prefix) : learned;
        const atHub = await sampler(() => kernelPrefixes(lab.net.hub), continuous);
        lab.defer(() => atHub.stop().catch(() => undefined));
        await rr.crash();
        const helping = await tabby.until('Tabby helping the restart', async () => {
          const p = await tabby.peer('rr');
          return p.gracefulRestart ? p : undefined;
        }, 20_000);
        assert.deepEqual(helping.gracefulRestart?.staleFamilies, ['ipv4', 'ipv6']);
        await new Promise((r) => setTimeout(r, 1000));
        if (kind === 'frr') checkWatch(await atHub.stop(), `Tabby's kernel lost routes of the crashed ${kind}`, ctx);
        await restartDaemon(rr, rrSpec);
        await until(`${kind} back and its End-of-RIB in`, async () => {
          const p = await tabby.peer('rr');
          return p.state === 'Established' && p.gracefulRestart === undefined;
        }, 60_000, 200, ctx);
        await tabby.until('the reflected route back', () => tabby.route('198.51.111.0/24'), 30_000);
        await until('every learned route in the hub kernel again', async () => {
          const k = await kernelPrefixes(lab.net.hub);
          return learned.every((p) => k.has(p));
        });
        if (kind !== 'frr') checkWatch(await atHub.stop(), `Tabby's kernel lost routes of the restarting ${kind}`, ctx);
        await tabby.stop();
      });
    });
  });
}
