// Semantic checks on import (RFC 4271 §6.3, RFC 5065 §5, RFC 7606 §7.2/§7.3): a path that
// fails one is treated as withdrawn, so a peer's earlier path for the prefix goes too.
// Then a property: whatever UPDATEs arrive, no best path has a martian or own next hop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeUpdate, encodeUpdate, INITIAL_OPTIONS, routeChanges, type CodecOptions, type PathAttributes, type Update } from '../../../../src/bgp/wire/index.js';
import { martianNextHop, type ImportRejection } from '../../../../src/bgp/rib/index.js';
import { CONFED_SEQ, SET, announce, attrs, ebgpPeer, peer, ribWith, seq } from './helpers.js';

const PFX = '192.168.1.0/26';
const PFX6 = 'fd00:1::/64';

/** IPv6 as the session delivers it: the family's next hop from MP_REACH_NLRI beside the attributes. */
function announce6(rib: ReturnType<typeof ribWith>, nextHop: string, cb?: (r: ImportRejection) => void) {
  return rib.update('peer2', { family: 'ipv6', announced: [PFX6], withdrawn: [], attributes: attrs('10.0.0.2'), nextHop }, cb);
}

function rejections() {
  const seen: ImportRejection[] = [];
  return { seen, cb: (r: ImportRejection) => seen.push(r) };
}

// IPv4 next hops that are no host address: RFC 4271 §6.3, RFC 1122 §3.2.1.3, RFC 5771 (multicast).
const MARTIAN_V4 = ['0.0.0.0', '0.1.2.3', '127.0.0.1', '127.255.255.254', '224.0.0.1', '239.1.1.1', '240.0.0.1', '255.255.255.255'];
// IPv6: unspecified and loopback (RFC 4291 §2.5.2, §2.5.3), multicast ff00::/8 (§2.7).
const MARTIAN_V6 = ['::', '::1', 'ff02::1', 'ff0e::1234'];

test('bug: martian NEXT_HOPs (0.0.0.0, 127/8, 224/4, 255.255.255.255) became best paths — now treat-as-withdraw (RFC 4271 §6.3, RFC 7606 §7.3)', () => {
  for (const nh of MARTIAN_V4) {
    const rib = ribWith([peer(2)]);
    announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
    const r = rejections();
    const diff = rib.update('peer2', { family: 'ipv4', announced: [PFX], withdrawn: [], attributes: attrs(nh) }, r.cb);
    assert.deepEqual(r.seen, ['next-hop'], nh);
    assert.equal(rib.best('ipv4', PFX), undefined, `${nh}: the earlier path is withdrawn`);
    assert.equal(diff.length, 1);
    assert.equal(diff[0]!.best, null);
  }
});

test('bug: IPv6 martian next hops (::, ::1, ff00::/8) became best paths (RFC 7606 §7.11 via §7.3)', () => {
  for (const nh of MARTIAN_V6) {
    const rib = ribWith([peer(2)]);
    announce6(rib, 'fd00::2');
    assert.equal(rib.best('ipv6', PFX6)?.attributes.nextHop, 'fd00::2');
    announce6(rib, nh);
    assert.equal(rib.best('ipv6', PFX6), undefined, nh);
  }
});

test('bug: our own address as NEXT_HOP became a best path (RFC 4271 §6.3: not the receiving speaker\'s address)', () => {
  // peer() says our address on the session is 10.0.0.1 / fd00::1.
  const rib = ribWith([peer(2)]);
  const r = rejections();
  rib.update('peer2', { family: 'ipv4', announced: [PFX], withdrawn: [], attributes: attrs('10.0.0.1') }, r.cb);
  announce6(rib, 'fd00::1', r.cb);
  assert.deepEqual(r.seen, ['next-hop', 'next-hop']);
  assert.equal(rib.best('ipv4', PFX), undefined);
  assert.equal(rib.best('ipv6', PFX6), undefined);
});

test('usable next hops pass: ordinary unicast, RFC 1918, link-local IPv6, IPv4-mapped IPv6', () => {
  for (const nh of ['10.0.0.2', '1.1.1.1', '223.255.255.254', '169.254.1.1']) assert.equal(martianNextHop(nh), false, nh);
  for (const nh of ['fd00::2', '2001:db8::1', 'fe80::1', '::ffff:192.168.0.10', 'fe00::1']) assert.equal(martianNextHop(nh), false, nh);
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
  assert.equal(rib.best('ipv4', PFX)?.attributes.nextHop, '10.0.0.2');
});

test('bug: no first-AS check — an eBGP peer\'s AS_PATH must start with its AS (RFC 4271 §6.3; RFC 7606 §7.2 treat-as-withdraw)', () => {
  const rib = ribWith([ebgpPeer(3, { asn: 65010 })]);
  announce(rib, 'peer3', [PFX], attrs('10.0.0.3', { asPath: seq(65010, 65020) }));
  assert.equal(rib.best('ipv4', PFX)?.peer.id, 'peer3');
  for (const asPath of [seq(65020, 65010), [], [{ type: SET, asns: [65010] }]]) {
    const r = rejections();
    rib.update('peer3', { family: 'ipv4', announced: [PFX], withdrawn: [], attributes: attrs('10.0.0.3', { asPath }) }, r.cb);
    assert.deepEqual(r.seen, ['first-as'], JSON.stringify(asPath));
    assert.equal(rib.best('ipv4', PFX), undefined);
    announce(rib, 'peer3', [PFX], attrs('10.0.0.3', { asPath: seq(65010) }));
  }
  // iBGP peers are not checked: an iBGP path starts with whatever AS the route entered by.
  const ibgp = ribWith([peer(2)]);
  announce(ibgp, 'peer2', [PFX], attrs('10.0.0.2', { asPath: seq(65099) }));
  assert.equal(ibgp.best('ipv4', PFX)?.peer.id, 'peer2');
});

test('bug: AS_CONFED segments from an eBGP peer were accepted (RFC 5065 §5: a malformed AS_PATH)', () => {
  const rib = ribWith([ebgpPeer(3, { asn: 65010 }), peer(2)]);
  const confed = [...seq(65010), { type: CONFED_SEQ, asns: [64600] }];
  const r = rejections();
  rib.update('peer3', { family: 'ipv4', announced: [PFX], withdrawn: [], attributes: attrs('10.0.0.3', { asPath: confed }) }, r.cb);
  assert.deepEqual(r.seen, ['confed-segment']);
  assert.equal(rib.best('ipv4', PFX), undefined);
  // From inside our AS (iBGP) they are not ours to judge here.
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2', { asPath: [{ type: CONFED_SEQ, asns: [64600] }] }));
  assert.equal(rib.best('ipv4', PFX)?.peer.id, 'peer2');
});

// ---- the property ----

const OWN4 = '10.0.0.1';
const OWN6 = 'fd00::1';
const v4nh = fc.oneof(
  fc.constantFrom(...MARTIAN_V4, OWN4),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `${a}.${b}.0.2`),
  fc.constantFrom('10.0.0.2', '10.0.0.3', '192.0.2.7'),
);
const v6nh = fc.oneof(fc.constantFrom(...MARTIAN_V6, OWN6), fc.constantFrom('fd00::2', '2001:db8::9', 'fe80::1'), fc.integer({ min: 0, max: 0xffff }).map((g) => `${g.toString(16)}::1`));
const v4pfx = fc.constantFrom('192.168.1.0/26', '192.168.2.0/24', '10.9.0.0/16', '0.0.0.0/0');
const v6pfx = fc.constantFrom('fd00:1::/64', '2001:db8:5::/48', '::/0');

/** One UPDATE from one of three peers (two iBGP, one eBGP AS 65003). */
const step = fc.record({
  from: fc.constantFrom('peer2', 'peer3', 'peer4'),
  v4: fc.array(v4pfx, { maxLength: 3 }),
  v6: fc.array(v6pfx, { maxLength: 3 }),
  withdraw4: fc.array(v4pfx, { maxLength: 2 }),
  nh4: v4nh,
  nh6: v6nh,
  firstAs: fc.constantFrom(65003, 65009),
});

const OPTS: CodecOptions = { ...INITIAL_OPTIONS, fourOctetAs: true };

test('property: random UPDATE sequences never leave a best path with a martian or own next hop', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => {
      const rib = ribWith([peer(2), ebgpPeer(3), peer(4)]);
      for (const s of steps) {
        const a: PathAttributes = { origin: 0, asPath: seq(s.firstAs), nextHop: s.nh4 };
        if (s.v6.length > 0) a.mpReach = { family: 'ipv6', nextHop: s.nh6, nlri: [...new Set(s.v6)] };
        const u: Partial<Update> = { withdrawn: [...new Set(s.withdraw4)], attributes: a, nlri: [...new Set(s.v4)] };
        // Through the codec, as the session delivers it.
        const decoded = decodeUpdate(encodeUpdate(u, OPTS), OPTS);
        for (const c of routeChanges(decoded)) {
          rib.update(s.from, { ...c, attributes: decoded.attributes });
        }
        for (const family of ['ipv4', 'ipv6'] as const) {
          for (const [prefix, paths] of rib.multipaths(family)) {
            for (const p of paths) {
              const nh = p.attributes.nextHop!;
              if (martianNextHop(nh) || nh === OWN4 || nh === OWN6) throw new Error(`${family} ${prefix}: best path via ${nh}`);
            }
          }
        }
      }
    }),
    { numRuns: 400 },
  );
});

test('property check can fail: valid next hops do become best paths', () => {
  const rib = ribWith([peer(2)]);
  const decoded = decodeUpdate(encodeUpdate({ withdrawn: [], attributes: { origin: 0, asPath: [], nextHop: '10.0.0.2' }, nlri: [PFX] }, OPTS), OPTS);
  for (const c of routeChanges(decoded)) rib.update('peer2', { ...c, attributes: decoded.attributes });
  assert.equal(rib.best('ipv4', PFX)?.attributes.nextHop, '10.0.0.2');
});
