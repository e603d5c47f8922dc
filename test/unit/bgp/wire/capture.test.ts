// The real capture: BIRD 2.0.12 (AS 65001) and GoBGP 3.10.0 (AS 4200000002), three TCP
// connections. Every message is decoded, compared with Wireshark's decode, and
// re-encoded. Re-encoding is byte-identical except where the sender's encoding is not
// the canonical one, which happens twice here:
//  - BIRD sets the Extended Length bit on MP_REACH_NLRI even when the value is shorter
//    than 256 octets (RFC 4271 allows it); we set it only when needed.
//  - GoBGP puts MP_REACH_NLRI after ORIGIN and AS_PATH (ascending type order, RFC 4271
//    §5); we put MP_* first as RFC 7606 §5.1 asks, as BIRD does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  AttrFlag,
  AttrType,
  decodeMessage,
  encodeMessage,
  formatAsPath,
  formatCommunity,
  formatLargeCommunity,
  formatNotification,
  INITIAL_OPTIONS,
  isEndOfRib,
  MessageReader,
  negotiateOptions,
  shutdownCommunication,
  WellKnownCommunity,
  type CodecOptions,
  type DecodedMessage,
  type DecodedOpen,
  type DecodedUpdate,
} from '../../../../src/bgp/wire/index.js';
import { fixture } from './helpers.js';
import { readPcap, tcpStreams, type TcpStream } from './pcap.js';
import { parseTshark, type TsharkMessage } from './tshark.js';

interface Captured {
  direction: string;
  raw: Buffer;
  msg: DecodedMessage;
  opts: CodecOptions;
}

const streams = tcpStreams(readPcap(readFileSync(fixture('bird-gobgp.pcap'))));
const wireshark = parseTshark(readFileSync(fixture('bird-gobgp.tshark.txt'), 'utf8'));

function directionOf(s: TcpStream): string {
  return `${s.src}:${s.srcPort}>${s.dst}:${s.dstPort}`;
}

function split(data: Buffer): Buffer[] {
  // Feed the reader in odd-sized pieces, as TCP would.
  const r = new MessageReader();
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += 37) {
    r.push(data.subarray(i, i + 37));
    for (const m of r) out.push(Buffer.from(m));
  }
  assert.equal(r.bufferedLength, 0);
  return out;
}

function firstOpen(s: TcpStream | undefined): DecodedOpen | undefined {
  if (!s || s.data.length === 0) return undefined;
  const m = decodeMessage(split(s.data)[0]!, INITIAL_OPTIONS);
  return m.type === 'open' ? m.open : undefined;
}

/** Decodes both directions of every connection with what the receiver negotiated. */
function decodeAll(): Captured[] {
  const out: Captured[] = [];
  for (const s of streams) {
    const reverse = streams.find((r) => r.src === s.dst && r.srcPort === s.dstPort && r.dst === s.src && r.dstPort === s.srcPort);
    const sender = firstOpen(s);
    const receiver = firstOpen(reverse);
    const opts = sender && receiver ? negotiateOptions(receiver.capabilities, sender.capabilities) : INITIAL_OPTIONS;
    for (const raw of split(s.data)) out.push({ direction: directionOf(s), raw, msg: decodeMessage(raw, opts), opts });
  }
  return out;
}

const all = decodeAll();
const BIRD = '10.10.0.1';
const GOBGP = '10.10.0.2';
const from = (ip: string) => all.filter((c) => c.direction.startsWith(`${ip}:`));
const updates = (list: Captured[]) => list.flatMap((c) => (c.msg.type === 'update' ? [c.msg.update] : []));

test('capture: three connections, 31 messages, the same ones Wireshark saw, all decoded without error', () => {
  assert.equal(streams.length, 6);
  assert.equal(all.length, 31);
  assert.equal(wireshark.length, 31);
  const ours = new Map<string, string[]>();
  for (const c of all) ours.set(c.direction, [...(ours.get(c.direction) ?? []), `${c.msg.type}/${c.raw.length}`]);
  const theirs = new Map<string, string[]>();
  for (const t of wireshark) theirs.set(t.direction, [...(theirs.get(t.direction) ?? []), `${t.type.toLowerCase()}/${t.length}`]);
  for (const [dir, list] of theirs) assert.deepEqual(ours.get(dir), list, dir);
  for (const c of all) {
    if (c.msg.type !== 'update') continue;
    assert.equal(c.msg.update.treatAsWithdraw, undefined);
    assert.deepEqual(c.msg.update.discarded, []);
  }
});

test('capture: OPEN capabilities of both sides', () => {
  const bird = all.find((c) => c.direction.startsWith(BIRD) && c.msg.type === 'open')!.msg as { open: DecodedOpen };
  assert.deepEqual(bird.open, {
    version: 4,
    myAs: 65001,
    asn: 65001,
    holdTime: 90,
    bgpId: '10.10.0.1',
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      {
        kind: 'graceful-restart',
        restarting: false,
        notification: false,
        time: 120,
        families: [
          { afi: 1, safi: 1, forwarding: false },
          { afi: 2, safi: 1, forwarding: false },
        ],
      },
      { kind: 'four-octet-as', asn: 65001 },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: true }] },
      { kind: 'enhanced-route-refresh' },
      // BIRD's default `long lived graceful restart aware`: the capability with no families (RFC 9494 §3.1).
      { kind: 'long-lived-graceful-restart', families: [] },
    ],
  });
  const gobgp = all.find((c) => c.direction.startsWith(GOBGP) && c.msg.type === 'open')!.msg as { open: DecodedOpen };
  assert.equal(gobgp.open.myAs, 23456);
  assert.equal(gobgp.open.asn, 4200000002);
  assert.deepEqual(gobgp.open.capabilities, [
    { kind: 'route-refresh' },
    { kind: 'unknown', code: 73, value: Buffer.from([2, ...Buffer.from('vm'), 0]) }, // FQDN "vm"
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'four-octet-as', asn: 4200000002 },
    { kind: 'unknown', code: 5, value: Buffer.from('000100010002', 'hex') }, // extended next hop IPv4 over IPv6
  ]);
  // Wireshark agrees
  const t = wireshark.filter((m) => m.type === 'OPEN');
  assert.deepEqual(t.map((m) => m.fields.get('My AS')), ['65001', '23456 (AS_TRANS)', '65001', '65001', '23456 (AS_TRANS)']);
  assert.deepEqual(t[1]!.all.filter(([k]) => k === 'AS Number').map(([, v]) => v), ['4200000002']);
  assert.equal(t[0]!.fields.get('Send/Receive'), 'Receive (1)');
  assert.equal(t[0]!.fields.get('Time'), '120');
  // BIRD offers add-path receive, GoBGP does not offer send: no add-path either way.
  const opts = all.find((c) => c.direction.startsWith(GOBGP) && c.msg.type === 'update')!.opts;
  assert.equal(opts.fourOctetAs, true);
  assert.equal(opts.extendedMessage, false);
  assert.deepEqual([...opts.addPath.receive, ...opts.addPath.send], []);
});

const ORIGIN_NAMES = ['IGP', 'EGP', 'INCOMPLETE'];
const TSHARK_NAME: [keyof DecodedUpdate['attributes'], string][] = [
  ['origin', 'ORIGIN'],
  ['asPath', 'AS_PATH'],
  ['nextHop', 'NEXT_HOP'],
  ['med', 'MULTI_EXIT_DISC'],
  ['localPref', 'LOCAL_PREF'],
  ['communities', 'COMMUNITIES'],
  ['largeCommunities', 'LARGE_COMMUNITY'],
  ['mpReach', 'MP_REACH_NLRI'],
  ['mpUnreach', 'MP_UNREACH_NLRI'],
];

function compareWithWireshark(u: DecodedUpdate, t: TsharkMessage): void {
  const a = u.attributes;
  const present = TSHARK_NAME.filter(([k]) => a[k] !== undefined).map(([, n]) => n);
  assert.deepEqual(present.sort(), [...t.attributes.keys()].sort());
  const expect = (name: string, value: string | undefined) => assert.equal(value, t.attributes.get(name), name);
  if (a.origin !== undefined) expect('ORIGIN', ORIGIN_NAMES[a.origin]);
  if (a.asPath) expect('AS_PATH', formatAsPath(a.asPath));
  if (a.nextHop) expect('NEXT_HOP', a.nextHop);
  if (a.med !== undefined) expect('MULTI_EXIT_DISC', String(a.med));
  if (a.communities) expect('COMMUNITIES', a.communities.map(formatCommunity).join(' '));
  if (a.largeCommunities) expect('LARGE_COMMUNITY', a.largeCommunities.map(formatLargeCommunity).join(' '));
  if (a.mpReach) {
    const nh = a.mpReach.linkLocalNextHop ? `IPv6=${a.mpReach.nextHop} Link-local=${a.mpReach.linkLocalNextHop}` : a.mpReach.nextHop;
    assert.equal(nh, t.fields.get('Next hop'));
  }
  assert.deepEqual([...u.nlri, ...(a.mpReach?.nlri ?? [])], t.announced);
  assert.deepEqual([...u.withdrawn, ...(a.mpUnreach?.withdrawn ?? [])], t.withdrawn);
}

test('capture: every UPDATE agrees with Wireshark attribute by attribute', () => {
  const ours = all.filter((c) => c.msg.type === 'update');
  const theirs = wireshark.filter((m) => m.type === 'UPDATE');
  for (const dir of new Set(ours.map((c) => c.direction))) {
    const u = updates(ours.filter((c) => c.direction === dir));
    const t = theirs.filter((m) => m.direction === dir);
    assert.equal(u.length, t.length, dir);
    u.forEach((x, i) => compareWithWireshark(x, t[i]!));
  }
});

test('capture: BIRD communities (NO_EXPORT), large community, IPv6 next hop, End-of-RIB', () => {
  const bird = updates(from(BIRD));
  const first = bird[0]!;
  assert.deepEqual(first.nlri, ['198.51.100.0/24']);
  assert.deepEqual(first.attributes.communities!.map(formatCommunity), ['65001:100']);
  assert.deepEqual(first.attributes.largeCommunities, [[65001, 1, 2]]);
  const noExport = bird.find((u) => u.nlri.includes('192.168.10.0/26'))!;
  assert.deepEqual(noExport.attributes.communities, [WellKnownCommunity.NO_EXPORT]);
  assert.equal(WellKnownCommunity.NO_EXPORT, (65535 * 65536 + 65281) >>> 0);
  assert.equal(formatCommunity(noExport.attributes.communities![0]!), 'NO_EXPORT');
  const v6 = bird.filter((u) => u.attributes.mpReach);
  assert.deepEqual(
    v6.map((u) => [u.attributes.mpReach!.nextHop, u.attributes.mpReach!.linkLocalNextHop, ...u.attributes.mpReach!.nlri]),
    [
      ['fd00:10::1', 'fe80::6038:d9ff:fef7:5c14', '2001:db8:100::/48'],
      ['fd00:10::1', 'fe80::6038:d9ff:fef7:5c14', '2001:db8:200::/64'],
      ['fd00:10::1', 'fe80::6038:d9ff:fef7:5c14', '2001:db8:100::/48'],
      ['fd00:10::1', 'fe80::6038:d9ff:fef7:5c14', '2001:db8:200::/64'],
    ],
  );
  assert.deepEqual(v6[0]!.attributes.communities!.map(formatCommunity), ['65001:200']);
  // End-of-RIB for IPv4 then IPv6, in each of the two established sessions; GoBGP sent none.
  assert.deepEqual(bird.map(isEndOfRib).filter(Boolean), ['ipv4', 'ipv6', 'ipv4', 'ipv6']);
  assert.deepEqual(updates(from(GOBGP)).map(isEndOfRib).filter(Boolean), []);
});

test("capture: GoBGP's 4-octet AS_PATHs, MED, withdrawal, IPv4-mapped IPv6 next hop", () => {
  const gobgp = updates(from(GOBGP));
  assert.deepEqual(
    gobgp.map((u) => (u.attributes.asPath ? formatAsPath(u.attributes.asPath) : '')),
    ['4200000002', '4200000002 4200000002 65100', '4200000002', '', '4200000002', '4200000002', '4200000002 65100 65200'],
  );
  const first = gobgp[0]!;
  assert.equal(first.attributes.med, 10);
  assert.equal(first.attributes.origin, 2);
  assert.deepEqual(first.attributes.communities!.map(formatCommunity), ['64512:10']);
  assert.deepEqual(first.attributes.largeCommunities!.map(formatLargeCommunity), ['4200000002:5:6']);
  assert.deepEqual(first.nlri, ['10.244.1.0/26']);
  assert.deepEqual(gobgp[2]!.attributes.mpReach, { family: 'ipv6', nextHop: '::ffff:10.10.0.2', nlri: ['fd00:244:1::/64'] });
  assert.deepEqual(gobgp[3], { withdrawn: ['10.244.2.0/26'], attributes: {}, nlri: [], discarded: [] });
});

test('capture: Cease/Administrative Shutdown with "maintenance window"', () => {
  const n = all.filter((c) => c.msg.type === 'notification');
  assert.equal(n.length, 1);
  assert.ok(n[0]!.direction.startsWith(GOBGP));
  const msg = n[0]!.msg;
  assert.ok(msg.type === 'notification');
  assert.equal(formatNotification(msg.notification), 'Cease/Administrative Shutdown');
  assert.equal(shutdownCommunication(msg.notification), 'maintenance window');
  const t = wireshark.find((m) => m.type === 'NOTIFICATION')!;
  assert.equal(t.fields.get('Shutdown Communication'), 'maintenance window');
  assert.equal(t.fields.get('Major error Code'), 'Cease (6)');
});

/** The sender's attributes rewritten the way we encode: MP_* first, ascending, Extended Length only when needed. */
function canonicalUpdate(msg: Buffer): Buffer {
  const wLen = msg.readUInt16BE(19);
  const aStart = 23 + wLen;
  const aEnd = aStart + msg.readUInt16BE(21 + wLen);
  const attrs: { type: number; bytes: Buffer }[] = [];
  for (let p = aStart; p < aEnd; ) {
    const flags = msg[p]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const len = ext ? msg.readUInt16BE(p + 2) : msg[p + 2]!;
    const value = msg.subarray(p + (ext ? 4 : 3), p + (ext ? 4 : 3) + len);
    p += (ext ? 4 : 3) + len;
    const header = len > 255 ? Buffer.from([flags | AttrFlag.EXTENDED_LENGTH, msg[p - len - (ext ? 4 : 3) + 1]!, len >> 8, len & 255]) : Buffer.from([flags & ~AttrFlag.EXTENDED_LENGTH, msg[p - len - (ext ? 4 : 3) + 1]!, len]);
    attrs.push({ type: header[1]!, bytes: Buffer.concat([header, value]) });
  }
  const rank = (t: number) => (t === AttrType.MP_REACH_NLRI ? -2 : t === AttrType.MP_UNREACH_NLRI ? -1 : t);
  attrs.sort((x, y) => rank(x.type) - rank(y.type));
  const a = Buffer.concat(attrs.map((x) => x.bytes));
  const body = Buffer.concat([msg.subarray(19, 21 + wLen), Buffer.from([a.length >> 8, a.length & 255]), a, msg.subarray(aEnd)]);
  const out = Buffer.concat([msg.subarray(0, 19), body]);
  out.writeUInt16BE(out.length, 16);
  return out;
}

test('capture: re-encoding gives the same bytes, except the two non-canonical encodings', () => {
  const differ: string[] = [];
  for (const c of all) {
    const again = encodeMessage(c.msg, c.opts);
    if (again.equals(c.raw)) continue;
    assert.equal(c.msg.type, 'update', 'only UPDATEs may differ');
    // ... and only by attribute order and the Extended Length bit.
    assert.deepEqual(again, canonicalUpdate(c.raw));
    const u = (c.msg as { update: DecodedUpdate }).update;
    const firstType = c.raw[23 + c.raw.readUInt16BE(19) + 1];
    const why = c.raw[23 + c.raw.readUInt16BE(19)]! & AttrFlag.EXTENDED_LENGTH ? 'extended length' : `order (first attribute ${firstType})`;
    differ.push(`${c.direction.split(':')[0]} ${u.attributes.mpReach?.nlri.join(',')} ${why}`);
  }
  assert.deepEqual(differ, [
    '10.10.0.1 2001:db8:100::/48 extended length',
    '10.10.0.1 2001:db8:200::/64 extended length',
    '10.10.0.2 fd00:244:1::/64 order (first attribute 1)',
    '10.10.0.1 2001:db8:100::/48 extended length',
    '10.10.0.1 2001:db8:200::/64 extended length',
    '10.10.0.2 fd00:244:1::/64 order (first attribute 1)',
  ]);
});
