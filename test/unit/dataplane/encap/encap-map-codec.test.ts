// The bytes written into host.bpf.o's encap maps, and the checks on a desired entry list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { ValidationError } from '../../../../src/errors.js';
import {
  decodeEntry, decodeEntry6, decodeKey, decodeKey6, decodeRealmKey, encodeEncapState, encodeEntry, encodeKey, ENCAP_KIND, macBytes, type EncapEntry,
  type RealmEntry,
} from '../../../../src/dataplane/encap/encap-map-codec.js';
import { BPF_LAYOUTS } from '../../../../src/dataplane/bpf/layouts.js';

const LE = endianness() === 'LE';

test('encap_key: host-order prefix length, then the network address as on the wire', () => {
  const k = encodeKey(26, Buffer.from([10, 244, 3, 64]));
  assert.equal(k.length, BPF_LAYOUTS.encap_key.size);
  assert.equal(LE ? k.readUInt32LE(0) : k.readUInt32BE(0), 26);
  assert.deepEqual([...k.subarray(4)], [10, 244, 3, 64]);
});

test('encap_entry round trip', () => {
  const v = encodeEntry(Buffer.from([192, 168, 1, 7]), 'vxlan', macBytes('m', '66:07:02:c1:cc:60'));
  assert.equal(v.length, BPF_LAYOUTS.encap_entry.size);
  assert.deepEqual(decodeEntry(v), { remoteIP: '192.168.1.7', kind: 'vxlan', flags: 0, vtepMac: '66:07:02:c1:cc:60' });
  const ipip = decodeEntry(encodeEntry(Buffer.from([10, 0, 0, 1]), 'ipip'));
  assert.equal(ipip.kind, 'ipip');
  assert.equal(ipip.vtepMac, '00:00:00:00:00:00');
  assert.equal(v[BPF_LAYOUTS.encap_entry.fields.kind.offset], ENCAP_KIND.vxlan);
});

test('encodeEncapState: one route per block, peers with a bit per tunnel kind', () => {
  const s = encodeEncapState([
    { block: '10.244.1.0/26', remoteIP: '192.168.0.2', kind: 'ipip' },
    { block: '10.244.1.64/26', remoteIP: '192.168.0.2', kind: 'vxlan', vtepMac: '66:AA:bb:cc:dd:ee' },
    { block: '10.244.2.0/26', remoteIP: '192.168.0.3', kind: 'ipip' },
    // The same block declared twice, identically, is one entry.
    { block: '10.244.2.0/26', remoteIP: '192.168.0.3', kind: 'ipip' },
  ], true);
  assert.equal(s.routes.size, 3);
  assert.deepEqual([...s.peers.values()].map((p) => [[...p.key].join('.'), p.value[0]]), [
    ['192.168.0.2', (1 << ENCAP_KIND.ipip) | (1 << ENCAP_KIND.vxlan)],
    ['192.168.0.3', 1 << ENCAP_KIND.ipip],
  ]);
  assert.deepEqual(encodeEncapState([], false), { routes: new Map(), peers: new Map(), realms: new Map(), routes6: new Map(), peers6: new Map() });
});

test('encodeEncapState: every node in `sources` may send both kinds, routed to or not', () => {
  // A node with no block (control plane, route reflector, one just joining) has no
  // route here, yet Felix accepts its IPIP and VXLAN (felix/rules/static.go,
  // filterInputChain: the all-hosts set, not the routes, decides).
  const both = (1 << ENCAP_KIND.ipip) | (1 << ENCAP_KIND.vxlan);
  const s = encodeEncapState([{ block: '10.244.2.0/26', remoteIP: '192.168.0.3', kind: 'ipip' }], false, [],
    ['192.168.0.3', '192.168.0.9']);
  assert.deepEqual(new Map([...s.peers.values()].map((p) => [[...p.key].join('.'), p.value[0]])), new Map([
    ['192.168.0.3', both], ['192.168.0.9', both],
  ]));
  // An IPv6 node address goes to encap_peers6, allowed VXLAN only (no IPIP over IPv6).
  const v6 = encodeEncapState([], false, [], ['fd00::1']);
  assert.deepEqual([...v6.peers6.values()].map((p) => [p.key.toString('hex'), p.value[0]]), [['fd000000000000000000000000000001', 1 << ENCAP_KIND.vxlan]]);
  assert.equal(v6.peers.size, 0);
  assert.throws(() => encodeEncapState([], false, [], ['not-an-address']),
    (err: unknown) => err instanceof ValidationError && err.path === 'sources[0]');
});

test('IPv6 VXLAN: an IPv6 block goes to encap_routes6 (struct encap_key6 / encap_entry6), its node to encap_peers6', () => {
  const s = encodeEncapState([{ block: 'fd00:244:2::/122', remoteIP: 'fd00:1::2', kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:14' }], false, [], [], true);
  assert.equal(s.routes.size, 0);
  const [e] = [...s.routes6.values()];
  assert.equal(e!.key.length, BPF_LAYOUTS.encap_key6.size);
  assert.equal(LE ? e!.key.readUInt32LE(0) : e!.key.readUInt32BE(0), 122);
  assert.equal(decodeKey6(e!.key), 'fd00:244:2::/122');
  assert.equal(e!.value.length, BPF_LAYOUTS.encap_entry6.size);
  assert.deepEqual(decodeEntry6(e!.value), { remoteIP: 'fd00:1::2', kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:14' });
  assert.deepEqual([...s.peers6.values()].map((p) => [p.key.toString('hex'), p.value[0]]), [['fd000001000000000000000000000002', 1 << ENCAP_KIND.vxlan]]);
  const bad: Array<[string, EncapEntry, string, boolean]> = [
    ['IPIP over IPv6', { block: 'fd00:244:2::/122', remoteIP: 'fd00:1::2', kind: 'ipip' }, 'entries[0].kind', true],
    ['no IPv6 VTEP here', { block: 'fd00:244:2::/122', remoteIP: 'fd00:1::2', kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:14' }, 'entries[0].kind', false],
    ['IPv4 remote', { block: 'fd00:244:2::/122', remoteIP: '10.0.0.2', kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:14' }, 'entries[0].remoteIP', true],
    ['no MAC', { block: 'fd00:244:2::/122', remoteIP: 'fd00:1::2', kind: 'vxlan' }, 'entries[0].vtepMac', true],
  ];
  for (const [name, entry, path, ready] of bad) {
    assert.throws(() => encodeEncapState([entry], true, [], [], ready), (err: unknown) => err instanceof ValidationError && err.path === path, name);
  }
});

test('encodeEncapState refuses what the map cannot hold, naming the field', () => {
  const ok: EncapEntry = { block: '10.244.1.0/26', remoteIP: '192.168.0.2', kind: 'ipip' };
  const cases: Array<[string, EncapEntry[], string, boolean?]> = [
    ['host bits', [{ ...ok, block: '10.244.1.5/26' }], 'entries[0].block'],
    ['no length', [{ ...ok, block: '10.244.1.0' }], 'entries[0].block'],
    ['IPv6 IPIP', [{ ...ok, block: 'fd00::/122' }], 'entries[0].kind'],
    ['remote', [{ ...ok, remoteIP: 'fd00::1' }], 'entries[0].remoteIP'],
    ['kind', [{ ...ok, kind: 'gre' as never }], 'entries[0].kind'],
    ['vxlan without mac', [{ ...ok, kind: 'vxlan' }], 'entries[0].vtepMac'],
    ['vxlan bad mac', [{ ...ok, kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd' }], 'entries[0].vtepMac'],
    ['vxlan multicast mac', [{ ...ok, kind: 'vxlan', vtepMac: '01:aa:bb:cc:dd:ee' }], 'entries[0].vtepMac'],
    ['vxlan without local VTEP', [{ ...ok, kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:ee' }], 'entries[0].kind', false],
    ['mac on ipip', [{ ...ok, vtepMac: '66:aa:bb:cc:dd:ee' }], 'entries[0].vtepMac'],
    ['conflict', [ok, { ...ok, remoteIP: '192.168.0.9' }], 'entries[1].block'],
  ];
  for (const [name, entries, path, vxlanReady] of cases) {
    assert.throws(() => encodeEncapState(entries, vxlanReady ?? true),
      (err: unknown) => err instanceof ValidationError && err.path === path, name);
  }
});

test('encap_realms: host-order realm key, encap_entry value; kind none adds no peer', () => {
  const s = encodeEncapState([], true, [
    { realm: 7, remoteIP: '192.168.0.2', kind: 'none' },
    { realm: 8, remoteIP: '192.168.9.3', kind: 'ipip' },
    { realm: 9, remoteIP: '192.168.9.4', kind: 'vxlan', vtepMac: '66:07:02:c1:cc:60' },
  ]);
  assert.equal(s.realms.size, 3);
  const seven = [...s.realms.values()][0]!;
  assert.equal(LE ? seven.key.readUInt32LE(0) : seven.key.readUInt32BE(0), 7);
  assert.equal(decodeRealmKey(seven.key), 7);
  assert.deepEqual(decodeEntry(seven.value), { remoteIP: '192.168.0.2', kind: 'none', flags: 0, vtepMac: '00:00:00:00:00:00' });
  assert.deepEqual([...s.peers.values()].map((p) => [[...p.key].join('.'), p.value[0]]), [
    ['192.168.9.3', 1 << ENCAP_KIND.ipip],
    ['192.168.9.4', 1 << ENCAP_KIND.vxlan],
  ]);
  assert.equal(decodeKey(encodeKey(26, Buffer.from([10, 244, 3, 64]))), '10.244.3.64/26');
  const bad: Array<[string, RealmEntry[], string]> = [
    ['realm 0', [{ realm: 0, remoteIP: '192.168.0.2', kind: 'none' }], 'realms[0].realm'],
    ['realm too big', [{ realm: 65536, remoteIP: '192.168.0.2', kind: 'none' }], 'realms[0].realm'],
    ['kind', [{ realm: 1, remoteIP: '192.168.0.2', kind: 'gre' as never }], 'realms[0].kind'],
    ['mac on none', [{ realm: 1, remoteIP: '192.168.0.2', kind: 'none', vtepMac: '66:aa:bb:cc:dd:ee' }], 'realms[0].vtepMac'],
    ['conflict', [{ realm: 1, remoteIP: '192.168.0.2', kind: 'none' }, { realm: 1, remoteIP: '192.168.0.3', kind: 'none' }], 'realms[1].realm'],
  ];
  for (const [name, realms, path] of bad) {
    assert.throws(() => encodeEncapState([], true, realms), (err: unknown) => err instanceof ValidationError && err.path === path, name);
  }
});
