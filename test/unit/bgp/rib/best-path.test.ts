import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Origin, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import { DECISION_STEPS, comparePaths, selectBest, type Path, type PeerDescriptor } from '../../../../src/bgp/rib/index.js';
import { CONFED_SEQ, LOCAL, SEQ, SET, announce, attrs, ebgpPeer, nextHops, path, peer, ribWith, seq } from './helpers.js';

interface Side {
  /** 'local' for a locally originated path. */
  src: PeerDescriptor | 'local';
  a: PathAttributes;
  pathId?: number;
}

interface Case {
  name: string;
  /** The step that must decide. */
  step: string;
  winner: Side;
  loser: Side;
}

const P2 = peer(2);
const P3 = peer(3);
const E4 = ebgpPeer(4);
const E5 = ebgpPeer(5, { asn: 65004 }); // same neighbour AS as E4

/** RFC 9494 §3.2: LLGR_STALE is 65535:6. */
const LLGR_STALE = 0xffff0006;

const CASES: Case[] = [
  // RFC 9494 §4.4: a long-lived stale path is least preferred, whatever else it has going for it.
  {
    name: 'a fresh path beats an LLGR_STALE one with higher LOCAL_PREF and a shorter AS_PATH',
    step: 'llgr-stale',
    winner: { src: P3, a: attrs('10.0.0.3', { localPref: 100, asPath: seq(65001, 65002, 65003) }) },
    loser: { src: P2, a: attrs('10.0.0.2', { localPref: 500, asPath: seq(65001), communities: [LLGR_STALE] }) },
  },
  {
    name: 'a fresh iBGP path beats an LLGR_STALE eBGP path with a shorter AS_PATH',
    step: 'llgr-stale',
    winner: { src: P2, a: attrs('10.0.0.2', { asPath: seq(65001, 65002) }) },
    loser: { src: E4, a: attrs('10.0.0.4', { asPath: seq(65004), communities: [100, LLGR_STALE] }) },
  },
  { name: 'local route beats a higher LOCAL_PREF', step: 'local-origin', winner: { src: 'local', a: attrs('10.0.0.1') }, loser: { src: P2, a: attrs('10.0.0.2', { localPref: 500 }) } },
  { name: 'higher LOCAL_PREF', step: 'local-pref', winner: { src: P3, a: attrs('10.0.0.3', { localPref: 200 }) }, loser: { src: P2, a: attrs('10.0.0.2', { localPref: 100 }) } },
  { name: 'missing LOCAL_PREF counts 100', step: 'local-pref', winner: { src: P3, a: attrs('10.0.0.3', { localPref: 101 }) }, loser: { src: P2, a: attrs('10.0.0.2') } },
  {
    name: 'LOCAL_PREF sent by an eBGP peer is ignored (default 100)',
    step: 'local-pref',
    winner: { src: P3, a: attrs('10.0.0.3', { localPref: 150 }) },
    loser: { src: E4, a: attrs('10.0.0.4', { localPref: 1000, asPath: seq(65004) }) },
  },
  { name: 'shorter AS_PATH', step: 'as-path-length', winner: { src: P3, a: attrs('10.0.0.3', { asPath: seq(65001, 65002) }) }, loser: { src: P2, a: attrs('10.0.0.2', { asPath: seq(65001, 65002, 65003) }) } },
  {
    name: 'an AS_SET counts 1',
    step: 'as-path-length',
    winner: { src: P3, a: attrs('10.0.0.3', { asPath: [{ type: SEQ, asns: [65001] }, { type: SET, asns: [1, 2, 3, 4] }] }) },
    loser: { src: P2, a: attrs('10.0.0.2', { asPath: seq(65001, 65002, 65003) }) },
  },
  {
    name: 'confederation segments count 0',
    step: 'as-path-length',
    winner: { src: P3, a: attrs('10.0.0.3', { asPath: [{ type: CONFED_SEQ, asns: [7, 8, 9] }, { type: SEQ, asns: [65001] }] }) },
    loser: { src: P2, a: attrs('10.0.0.2', { asPath: seq(65001, 65002) }) },
  },
  { name: 'lower ORIGIN (IGP < INCOMPLETE)', step: 'origin', winner: { src: P3, a: attrs('10.0.0.3', { origin: Origin.IGP }) }, loser: { src: P2, a: attrs('10.0.0.2', { origin: Origin.INCOMPLETE }) } },
  { name: 'lower ORIGIN (EGP < INCOMPLETE)', step: 'origin', winner: { src: P3, a: attrs('10.0.0.3', { origin: Origin.EGP }) }, loser: { src: P2, a: attrs('10.0.0.2', { origin: Origin.INCOMPLETE }) } },
  {
    name: 'lower MED from the same neighbour AS',
    step: 'med',
    winner: { src: E5, a: attrs('10.0.0.5', { asPath: seq(65004), med: 10 }) },
    loser: { src: E4, a: attrs('10.0.0.4', { asPath: seq(65004), med: 20 }) },
  },
  {
    name: 'missing MED counts 0',
    step: 'med',
    winner: { src: P3, a: attrs('10.0.0.3', { asPath: seq(65001) }) },
    loser: { src: P2, a: attrs('10.0.0.2', { asPath: seq(65001), med: 5 }) },
  },
  { name: 'eBGP over iBGP', step: 'ebgp-over-ibgp', winner: { src: E4, a: attrs('10.0.0.4', { asPath: seq(65004) }) }, loser: { src: P2, a: attrs('10.0.0.2', { asPath: seq(65004) }) } },
  { name: 'lower router id', step: 'router-id', winner: { src: P2, a: attrs('10.0.0.2') }, loser: { src: P3, a: attrs('10.0.0.3') } },
  {
    name: 'ORIGINATOR_ID stands in for the router id',
    step: 'router-id',
    winner: { src: P3, a: attrs('10.0.0.3', { originatorId: '1.0.0.9', clusterList: ['2.2.2.2'] }) },
    loser: { src: P2, a: attrs('10.0.0.2') },
  },
  {
    name: 'shorter CLUSTER_LIST',
    step: 'cluster-list-length',
    winner: { src: P3, a: attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['2.2.2.2'] }) },
    loser: { src: P2, a: attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['3.3.3.3', '2.2.2.2'] }) },
  },
  {
    name: 'lower peer address',
    step: 'peer-address',
    winner: { src: P2, a: attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['2.2.2.2'] }) },
    loser: { src: P3, a: attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['3.3.3.3'] }) },
  },
  { name: 'lower add-path id from one peer', step: 'path-id', winner: { src: P2, a: attrs('10.0.0.8'), pathId: 1 }, loser: { src: P2, a: attrs('10.0.0.9'), pathId: 2 } },
];

function literal(s: Side): Path {
  return path(s.src === 'local' ? LOCAL : s.src, s.a, s.pathId ?? 0);
}

function decidingStep(a: Path, b: Path): string | undefined {
  for (const step of DECISION_STEPS) {
    if (step.group && step.group(a) !== step.group(b)) continue;
    if (step.compare(a, b) !== 0) return step.name;
  }
  return undefined;
}

test('every decision step has a case', () => {
  const covered = new Set(CASES.map((c) => c.step));
  for (const step of DECISION_STEPS) if (step.name !== 'peer-id') assert.ok(covered.has(step.name), step.name);
});

for (const c of CASES) {
  test(`best path: ${c.name}`, () => {
    const w = literal(c.winner);
    const l = literal(c.loser);
    assert.equal(decidingStep(w, l), c.step);
    assert.ok(comparePaths(w, l) < 0);
    assert.ok(comparePaths(l, w) > 0);
    assert.equal(selectBest([l, w]).best, w);
    assert.equal(selectBest([w, l]).best, w);
  });

  test(`best path through the RIB: ${c.name}`, () => {
    const peers = [c.winner.src, c.loser.src].filter((s): s is PeerDescriptor => s !== 'local');
    const rib = ribWith([...new Map(peers.map((p) => [p.id, p])).values()]);
    for (const order of [
      [c.loser, c.winner],
      [c.winner, c.loser],
    ]) {
      for (const s of order) {
        if (s.src === 'local') rib.originate('ipv4', ['192.168.0.0/26'], s.a);
        else announce(rib, s.src.id, ['192.168.0.0/26'], s.a, s.pathId === undefined ? undefined : [s.pathId]);
      }
      const best = rib.best('ipv4', '192.168.0.0/26')!;
      assert.equal(best.peer.id, c.winner.src === 'local' ? 'local' : c.winner.src.id);
      assert.equal(best.attributes.nextHop, c.winner.a.nextHop);
    }
  });
}

test('MED is compared only between paths from the same neighbour AS', () => {
  const a = path(ebgpPeer(2), attrs('10.0.0.2', { asPath: seq(65001), med: 50 }));
  const b = path(ebgpPeer(3), attrs('10.0.0.3', { asPath: seq(65002), med: 10 }));
  // Different neighbour AS: MED skipped, the router id decides.
  assert.equal(selectBest([a, b]).best, a);
  assert.equal(decidingStep(a, b), 'router-id');
});

test('MED elimination is per neighbour AS, whatever the arrival order (deterministic MED)', () => {
  // Pairwise these form a cycle: C beats B (router id), A beats C (MED), B beats A (router id).
  const A = { p: ebgpPeer(3, { asn: 65001 }), a: attrs('10.0.0.3', { asPath: seq(65001), med: 10 }) };
  const B = { p: ebgpPeer(2, { asn: 65002 }), a: attrs('10.0.0.2', { asPath: seq(65002), med: 0 }) };
  const C = { p: ebgpPeer(1, { asn: 65001 }), a: attrs('10.0.0.1', { asPath: seq(65001), med: 20 }) };
  const perms = [
    [A, B, C],
    [A, C, B],
    [B, A, C],
    [B, C, A],
    [C, A, B],
    [C, B, A],
  ];
  for (const order of perms) {
    const rib = ribWith(order.map((x) => x.p));
    for (const x of order) announce(rib, x.p.id, ['192.168.0.0/26'], x.a);
    assert.equal(rib.best('ipv4', '192.168.0.0/26')!.peer.id, B.p.id);
    // A and B are equal-cost (different neighbour AS, MED not compared); C lost on MED.
    assert.deepEqual(nextHops(rib.multipath('ipv4', '192.168.0.0/26')), ['10.0.0.2', '10.0.0.3']);
  }
});

test('property: the final best path does not depend on arrival order', () => {
  const spec = fc.record({
    localPref: fc.constantFrom(undefined, 100, 200),
    pathLen: fc.integer({ min: 0, max: 3 }),
    firstAs: fc.constantFrom(65001, 65002),
    origin: fc.constantFrom(Origin.IGP, Origin.INCOMPLETE),
    med: fc.constantFrom(undefined, 0, 10, 20),
    ebgp: fc.boolean(),
    routerId: fc.integer({ min: 1, max: 4 }),
    nextHop: fc.integer({ min: 1, max: 3 }),
    clusterLen: fc.integer({ min: 0, max: 2 }),
  });
  fc.assert(
    fc.property(
      fc.array(spec, { minLength: 1, maxLength: 7 }),
      fc.array(fc.nat(), { minLength: 7, maxLength: 7 }),
      (specs, shuffle) => {
        const sources = specs.map((s, i) => {
          const n = i + 2;
          const p = s.ebgp ? ebgpPeer(n, { asn: s.firstAs, routerId: `9.9.9.${s.routerId}` }) : peer(n, { routerId: `9.9.9.${s.routerId}` });
          const asPath = s.pathLen === 0 && !s.ebgp ? [] : seq(s.firstAs, ...Array.from({ length: Math.max(0, s.pathLen - 1) }, () => 65100));
          const a = attrs(`172.16.0.${s.nextHop}`, {
            asPath,
            origin: s.origin,
            ...(s.localPref !== undefined ? { localPref: s.localPref } : {}),
            ...(s.med !== undefined ? { med: s.med } : {}),
            ...(s.clusterLen > 0 && !s.ebgp ? { clusterList: Array.from({ length: s.clusterLen }, (_, k) => `3.3.3.${k}`) } : {}),
          });
          return { p, a };
        });
        const outcome = (order: typeof sources) => {
          const rib = ribWith(order.map((x) => x.p));
          // A throw-away announcement first, replaced later, so replacement is exercised too.
          for (const x of order) announce(rib, x.p.id, ['10.1.0.0/24'], attrs('192.0.2.1', { localPref: 1 }));
          for (const x of order) announce(rib, x.p.id, ['10.1.0.0/24'], x.a);
          const best = rib.best('ipv4', '10.1.0.0/24')!;
          return { best: best.peer.id, multipath: nextHops(rib.multipath('ipv4', '10.1.0.0/24')) };
        };
        const base = outcome(sources);
        const shuffled = sources.map((x, i) => ({ x, k: shuffle[i]! })).sort((a, b) => a.k - b.k).map((e) => e.x);
        const reversed = [...sources].reverse();
        assert.deepEqual(outcome(shuffled), base);
        assert.deepEqual(outcome(reversed), base);
        // The pure selection agrees with the RIB.
        const literal = sources.map((x) => path(x.p, x.a));
        assert.equal(selectBest(literal).best.peer.id, base.best);
        assert.equal(selectBest([...literal].reverse()).best.peer.id, base.best);
      },
    ),
    { numRuns: 300 },
  );
});
