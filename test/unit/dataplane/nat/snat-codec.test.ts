// The bytes of host.bpf.o's SNAT maps and the model of its NAT port choice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { ValidationError } from '../../../../src/errors.js';
import { natSets } from '../../../../src/dataplane/nat/nat-pools.js';
import {
  checkPortRange, decodeConfig, decodeCtEntry, DEFAULT_NAT_PORT_RANGE, DEFAULT_SNAT_TIMEOUTS, encodeConfig, encodeLpmKey,
  encodePoolMaps, IPPROTO, origKey, overlapsLocalRange, passKey, portCandidates, replyKey, SNAT_DIR, SNAT_MAPS, snatFlowHash,
} from '../../../../src/dataplane/nat/snat-codec.js';
import { BPF_LAYOUTS } from '../../../../src/dataplane/bpf/layouts.js';

const LE = endianness() === 'LE';
const u32 = (b: Buffer, o: number) => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));
const u16 = (b: Buffer, o: number) => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));

test('snat_config: addresses as on the wire, range and timeouts in host order', () => {
  const f = BPF_LAYOUTS.snat_config.fields;
  const v = encodeConfig({ nodeIP: '10.254.1.1', nodeIP6: 'fd00::1', portRange: { min: 61000, max: 62000 }, timeouts: { udp: 5 } });
  assert.equal(v.length, BPF_LAYOUTS.snat_config.size);
  assert.deepEqual([...v.subarray(0, 4)], [10, 254, 1, 1]);
  assert.equal(v.subarray(f.node_ip6.offset, f.node_ip6.offset + 16).toString('hex'), 'fd000000000000000000000000000001');
  assert.deepEqual([u16(v, f.port_min.offset), u16(v, f.port_max.offset)], [61000, 62000]);
  assert.deepEqual([u32(v, f.udp_timeout.offset), u32(v, f.tcp_est_timeout.offset), u32(v, f.tcp_close_timeout.offset)], [5, 7200, 10]);
  assert.deepEqual([...encodeConfig({ nodeIP6: 'fd00::1' }).subarray(0, 4)], [0, 0, 0, 0], 'no IPv4 node address: zero');
  for (const bad of [{ nodeIP: 'fd00::1' }, { nodeIP: '0.0.0.0' }, { portRange: { min: 80, max: 90 } }, { timeouts: { udp: 0 } }]) {
    assert.throws(() => encodeConfig(bad), ValidationError, JSON.stringify(bad));
  }
});

test('snat_config: the hash seed, and decoding what a previous program holds', () => {
  const f = BPF_LAYOUTS.snat_config.fields;
  const c = { nodeIP: '10.254.1.1', nodeIP6: 'fd00::1', portRange: { min: 62000, max: 62999 }, timeouts: { udp: 5 }, hashSeed: 0xdeadbeef };
  const v = encodeConfig(c);
  assert.equal(u32(v, f.hash_seed.offset), 0xdeadbeef);
  assert.deepEqual(decodeConfig(v), { ...c, timeouts: { ...DEFAULT_SNAT_TIMEOUTS, udp: 5 } });
  assert.deepEqual(decodeConfig(encodeConfig({ nodeIP6: 'fd00::1' })), {
    nodeIP6: 'fd00::1', portRange: DEFAULT_NAT_PORT_RANGE, timeouts: DEFAULT_SNAT_TIMEOUTS, hashSeed: 0,
  }, 'no IPv4 node address: none decoded');
  assert.throws(() => encodeConfig({ hashSeed: -1 }), ValidationError);
  assert.throws(() => decodeConfig(v.subarray(0, 44)), ValidationError, 'an older layout is refused');
  assert.throws(() => decodeConfig(Buffer.alloc(v.length)), ValidationError, 'an empty entry has no port range');
});

test('pool trie keys: host-order prefix length, then the network', () => {
  const k4 = encodeLpmKey('10.66.0.0/16');
  assert.equal(k4.key.length, BPF_LAYOUTS.snat_lpm4_key.size);
  assert.equal(u32(k4.key, 0), 16);
  assert.deepEqual([...k4.key.subarray(4)], [10, 66, 0, 0]);
  const k6 = encodeLpmKey('fd00:66::/48');
  assert.equal(k6.family, 6);
  assert.equal(k6.key.length, BPF_LAYOUTS.snat_lpm6_key.size);
  assert.equal(k6.key.subarray(4, 10).toString('hex'), 'fd0000660000');
  const maps = encodePoolMaps(natSets([{ cidr: '10.66.0.0/16', natOutgoing: true }, { cidr: '10.67.0.0/16', natOutgoing: false }]));
  assert.deepEqual([...maps].map(([m, keys]) => [m, keys.size]),
    [[SNAT_MAPS.masq4, 1], [SNAT_MAPS.pools4, 2], [SNAT_MAPS.masq6, 0], [SNAT_MAPS.pools6, 0]]);
});

test('conntrack keys: ORIG as sent, REPLY as the answer arrives; ICMP echo by identifier', () => {
  const f = BPF_LAYOUTS.snat_ct_key.fields;
  const flow = { proto: 'udp' as const, src: '10.66.1.2', sport: 40000, dst: '10.254.1.100', dport: 53 };
  const o = origKey(flow);
  assert.equal(o.length, BPF_LAYOUTS.snat_ct_key.size);
  assert.deepEqual([...o.subarray(f.saddr.offset, f.saddr.offset + 4)], [10, 66, 1, 2]);
  assert.equal(o.readUInt16BE(f.sport.offset), 40000);
  assert.deepEqual([o[f.proto.offset], o[f.family.offset], o[f.dir.offset]], [IPPROTO.udp, 4, SNAT_DIR.orig]);
  const r = replyKey(flow, '10.254.1.1', 61234);
  assert.deepEqual([...r.subarray(f.saddr.offset, f.saddr.offset + 4)], [10, 254, 1, 100]);
  assert.deepEqual([...r.subarray(f.daddr.offset, f.daddr.offset + 4)], [10, 254, 1, 1]);
  assert.deepEqual([r.readUInt16BE(f.sport.offset), r.readUInt16BE(f.dport.offset), r[f.dir.offset]], [53, 61234, SNAT_DIR.reply]);
  const icmp = { proto: 'icmp' as const, src: '10.66.1.2', sport: 77, dst: '10.254.1.100' };
  const io = origKey(icmp);
  const ir = replyKey(icmp, '10.254.1.1', 61000);
  assert.deepEqual([io.readUInt16BE(f.sport.offset), io.readUInt16BE(f.dport.offset), io[f.proto.offset]], [77, 0, IPPROTO.icmp]);
  assert.deepEqual([ir.readUInt16BE(f.sport.offset), ir.readUInt16BE(f.dport.offset)], [0, 61000]);
  assert.equal(origKey({ ...icmp, src: 'fd00:66::2', dst: '2001:db8::1' })[f.proto.offset], IPPROTO.icmpv6);
});

test('PASS keys: the answer to a flow opened from outside, as the workload sends it', () => {
  const f = BPF_LAYOUTS.snat_ct_key.fields;
  // What the external host sends to the workload...
  const tcp = passKey({ proto: 'tcp', src: '10.254.1.100', sport: 40000, dst: '10.66.1.2', dport: 80 });
  // ...keyed like the ORIG key of the workload's answer, with dir PASS.
  const answer = origKey({ proto: 'tcp', src: '10.66.1.2', sport: 80, dst: '10.254.1.100', dport: 40000 });
  assert.equal(tcp[f.dir.offset], SNAT_DIR.pass);
  assert.deepEqual(tcp.subarray(0, f.dir.offset), answer.subarray(0, f.dir.offset));
  // Echo: the request's identifier is its source port; the reply carries it as destination port.
  const icmp = passKey({ proto: 'icmp', src: '10.254.1.100', sport: 77, dst: '10.66.1.2' });
  assert.deepEqual([icmp.readUInt16BE(f.sport.offset), icmp.readUInt16BE(f.dport.offset)], [0, 77]);
  assert.deepEqual([...icmp.subarray(f.saddr.offset, f.saddr.offset + 4)], [10, 66, 1, 2]);
});

test('conntrack entry decodes', () => {
  const l = BPF_LAYOUTS.snat_ct_entry;
  const v = Buffer.alloc(l.size);
  if (LE) v.writeBigUInt64LE(123n, 0); else v.writeBigUInt64BE(123n, 0);
  v[l.fields.flags.offset + (LE ? 0 : 7)] = 3;
  Buffer.from([10, 66, 1, 2]).copy(v, l.fields.addr.offset);
  v.writeUInt16BE(40000, l.fields.port.offset);
  assert.deepEqual(decodeCtEntry(v, 4), { lastSeenNs: 123n, flags: 3, address: '10.66.1.2', port: 40000 });
});

test('NAT port candidates: in range, distinct, wrapping, a function of tuple and seed', () => {
  const flow = { proto: 'tcp' as const, src: '10.66.1.2', sport: 40000, dst: '10.254.1.100', dport: 80 };
  const c = portCandidates(flow, DEFAULT_NAT_PORT_RANGE, 42);
  assert.equal(c.length, 32);
  assert.equal(new Set(c).size, 32);
  for (const p of c) assert.ok(p >= 61000 && p <= 65535);
  for (let i = 1; i < c.length; i++) assert.equal(c[i], c[i - 1] === 65535 ? 61000 : c[i - 1]! + 1, 'linear probe');
  assert.deepEqual(portCandidates(flow, DEFAULT_NAT_PORT_RANGE, 42), c);
  assert.notDeepEqual(portCandidates(flow, DEFAULT_NAT_PORT_RANGE, 43), c);
  assert.notDeepEqual(portCandidates({ ...flow, sport: 40001 }, DEFAULT_NAT_PORT_RANGE, 42), c);
  assert.deepEqual(portCandidates(flow, { min: 61000, max: 61001 }, 42, 4).sort(), [61000, 61000, 61001, 61001]);
  // Flows spread over the range: 1,000 first choices hit many distinct ports.
  const firsts = new Set<number>();
  for (let p = 0; p < 1000; p++) firsts.add(portCandidates({ ...flow, sport: 30000 + p }, DEFAULT_NAT_PORT_RANGE, 7, 1)[0]!);
  assert.ok(firsts.size > 800, `${firsts.size} distinct first choices`);
});

test('the flow hash mixes every word of the key (murmur3 finaliser)', () => {
  const k = Buffer.alloc(40);
  assert.equal(snatFlowHash(k, 0), 0);
  const a = snatFlowHash(k, 1);
  k[39] = 1;
  assert.notEqual(snatFlowHash(k, 1), a);
});

test('port range checks, and overlap with the ephemeral range', () => {
  assert.deepEqual(checkPortRange({ min: 61000, max: 65535 }), { min: 61000, max: 65535 });
  for (const bad of [{ min: 1023, max: 2000 }, { min: 3000, max: 2000 }, { min: 1.5, max: 2000 }, { min: 2000, max: 70000 }]) {
    assert.throws(() => checkPortRange(bad), ValidationError);
  }
  assert.equal(overlapsLocalRange(DEFAULT_NAT_PORT_RANGE, '32768\t60999\n'), undefined);
  assert.deepEqual(overlapsLocalRange({ min: 60000, max: 61000 }, '32768\t60999'), { min: 32768, max: 60999 });
  assert.equal(overlapsLocalRange(DEFAULT_NAT_PORT_RANGE, 'garbage'), undefined);
});
