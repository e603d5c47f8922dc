// The bytes of host.bpf.o's SNAT maps (struct layouts in src/dataplane/bpf/layouts.ts,
// enums in bpf/lib/layouts.h), the NAT port range and timeouts, and a model of the
// program's port choice (same hash as bpf/lib/nat_ct.h). Pure: unit-tested alone.

import { endianness } from 'node:os';
import { ValidationError } from '../../errors.js';
import { parseIP, type Family } from '../../api/net.js';
import { BPF_LAYOUTS } from '../bpf/layouts.js';
import { addressBytes, cidrBytes, type NatSets } from './nat-pools.js';

/** enum tabby_snat_counter, in slot order (checked against the object's BTF). */
export const SNAT_COUNTERS = [
  'snatTcp',
  'snatUdp',
  'snatIcmp',
  'rnatTcp',
  'rnatUdp',
  'rnatIcmp',
  'newFlow',
  'portReused',
  'dstInPool',
  'ingressFragment',
  'inboundFlow',
  'inboundPass',
] as const;
export type SnatCounterName = (typeof SNAT_COUNTERS)[number];

/** enum tabby_snat_drop_reason, in slot order (checked against the object's BTF). */
export const SNAT_DROP_REASONS = [
  'malformed',
  'fragment',
  'unsupportedProto',
  'noNodeIp',
  'noPort',
  'ctUpdate',
  'store',
] as const;
export type SnatDropReason = (typeof SNAT_DROP_REASONS)[number];

/** enum snat_ct_dir. */
export const SNAT_DIR = { orig: 0, reply: 1, pass: 2 } as const;

/** The names the maps have in the object (and in `bpftool map show`, cut to 15 characters). */
export const SNAT_MAPS = {
  config: 'snat_config',
  masq4: 'snat_masq4',
  pools4: 'snat_pools4',
  masq6: 'snat_masq6',
  pools6: 'snat_pools6',
  ct: 'snat_ct',
  counters: 'snat_counters',
  drops: 'snat_drops',
} as const;

export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;
export type SnatProto = 'tcp' | 'udp' | 'icmp';

export interface PortRange {
  min: number;
  max: number;
}

/**
 * Above Linux's default ephemeral range (32768–60999), so the node's own connections
 * never pick a port the NAT hands out.
 */
export const DEFAULT_NAT_PORT_RANGE: PortRange = { min: 61000, max: 65535 };

/** Idle timeouts in seconds (conntrack's order of magnitude; TCP close shorter). */
export interface SnatTimeouts {
  tcpSyn: number;
  tcpEstablished: number;
  tcpClose: number;
  udp: number;
  icmp: number;
}

export const DEFAULT_SNAT_TIMEOUTS: SnatTimeouts = {
  tcpSyn: 60,
  tcpEstablished: 7200,
  tcpClose: 10,
  udp: 60,
  icmp: 30,
};

/** Ports probed for a new flow (SNAT_PORT_PROBES in nat_ct.h). */
export const SNAT_PORT_PROBES = 32;

const hostLittleEndian = endianness() === 'LE';

function u32(buf: Buffer, v: number, off: number): void {
  if (hostLittleEndian) buf.writeUInt32LE(v >>> 0, off);
  else buf.writeUInt32BE(v >>> 0, off);
}

function u16(buf: Buffer, v: number, off: number): void {
  if (hostLittleEndian) buf.writeUInt16LE(v, off);
  else buf.writeUInt16BE(v, off);
}

function readU16(buf: Buffer, off: number): number {
  return hostLittleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
}

function readU32(buf: Buffer, off: number): number {
  return hostLittleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
}

function readU64(buf: Buffer, off: number): bigint {
  return hostLittleEndian ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off);
}

/** Checks a port range: within 1024–65535, min ≤ max. */
export function checkPortRange(r: PortRange): PortRange {
  if (typeof r !== 'object' || r === null) throw new ValidationError('portRange', 'must be {min, max}');
  for (const k of ['min', 'max'] as const) {
    const v = r[k];
    if (!Number.isInteger(v) || v < 1024 || v > 65535) throw new ValidationError(`portRange.${k}`, 'must be an integer from 1024 to 65535');
  }
  if (r.min > r.max) throw new ValidationError('portRange', 'min must not exceed max');
  return { min: r.min, max: r.max };
}

/** Whether the NAT range shares a port with the host's ip_local_port_range ("A\tB"). */
export function overlapsLocalRange(nat: PortRange, localRangeText: string): PortRange | undefined {
  const [a, b] = localRangeText.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(a) || !Number.isInteger(b)) return undefined;
  const local = { min: a!, max: b! };
  return nat.min <= local.max && local.min <= nat.max ? local : undefined;
}

function checkTimeouts(t: Partial<SnatTimeouts> | undefined): SnatTimeouts {
  const out = { ...DEFAULT_SNAT_TIMEOUTS, ...(t ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new ValidationError(`timeouts.${k}`, 'must be a whole number of seconds, at least 1');
  }
  return out;
}

export interface SnatConfig {
  /** IPv4 node address; absent: IPv4 SNAT off (its packets are dropped, counted as noNodeIp). */
  nodeIP?: string;
  nodeIP6?: string;
  portRange: PortRange;
  timeouts: SnatTimeouts;
  /** Seed of the NAT port hash. */
  hashSeed: number;
}

function checkSeed(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ValidationError('hashSeed', 'must be a u32');
  return v;
}

/** struct snat_config. */
export function encodeConfig(c: {
  nodeIP?: string | undefined; nodeIP6?: string | undefined; portRange?: PortRange; timeouts?: Partial<SnatTimeouts>; hashSeed?: number;
}): Buffer {
  const l = BPF_LAYOUTS.snat_config;
  const f = l.fields;
  const range = checkPortRange(c.portRange ?? DEFAULT_NAT_PORT_RANGE);
  const t = checkTimeouts(c.timeouts);
  const v = Buffer.alloc(l.size);
  if (c.nodeIP !== undefined) familyBytes('nodeIP', c.nodeIP, 4).copy(v, f.node_ip.offset);
  if (c.nodeIP6 !== undefined) familyBytes('nodeIP6', c.nodeIP6, 6).copy(v, f.node_ip6.offset);
  u16(v, range.min, f.port_min.offset);
  u16(v, range.max, f.port_max.offset);
  u32(v, t.tcpSyn, f.tcp_syn_timeout.offset);
  u32(v, t.tcpEstablished, f.tcp_est_timeout.offset);
  u32(v, t.tcpClose, f.tcp_close_timeout.offset);
  u32(v, t.udp, f.udp_timeout.offset);
  u32(v, t.icmp, f.icmp_timeout.offset);
  u32(v, checkSeed(c.hashSeed ?? 0), f.hash_seed.offset);
  return v;
}

/** struct snat_config as read back (e.g. from a previous agent's program); checked as encodeConfig checks. */
export function decodeConfig(v: Buffer): SnatConfig {
  const l = BPF_LAYOUTS.snat_config;
  const f = l.fields;
  if (v.length !== l.size) throw new ValidationError('value', `is ${v.length} bytes, struct snat_config is ${l.size}`);
  const out: SnatConfig = {
    portRange: checkPortRange({ min: readU16(v, f.port_min.offset), max: readU16(v, f.port_max.offset) }),
    timeouts: checkTimeouts({
      tcpSyn: readU32(v, f.tcp_syn_timeout.offset),
      tcpEstablished: readU32(v, f.tcp_est_timeout.offset),
      tcpClose: readU32(v, f.tcp_close_timeout.offset),
      udp: readU32(v, f.udp_timeout.offset),
      icmp: readU32(v, f.icmp_timeout.offset),
    }),
    hashSeed: readU32(v, f.hash_seed.offset),
  };
  const ip4 = v.subarray(f.node_ip.offset, f.node_ip.offset + 4);
  if (ip4.some((b) => b !== 0)) out.nodeIP = [...ip4].join('.');
  const ip6 = v.subarray(f.node_ip6.offset, f.node_ip6.offset + 16);
  if (ip6.some((b) => b !== 0)) out.nodeIP6 = formatIPv6(ip6);
  return out;
}

function familyBytes(path: string, text: string, family: Family): Buffer {
  const p = typeof text === 'string' ? parseIP(text) : undefined;
  if (!p || p.family !== family) throw new ValidationError(path, `must be an IPv${family} address, got ${JSON.stringify(text)}`);
  const b = addressBytes(p.address);
  if (b.every((x) => x === 0)) throw new ValidationError(path, 'must not be the unspecified address');
  return b;
}

/** Key of snat_masq4/snat_pools4 (struct snat_lpm4_key) or of the IPv6 tries (struct snat_lpm6_key). */
export function encodeLpmKey(cidr: string): { family: Family; key: Buffer } {
  const { family, prefixLength, network } = cidrBytes(cidr);
  const l = family === 4 ? BPF_LAYOUTS.snat_lpm4_key : BPF_LAYOUTS.snat_lpm6_key;
  const key = Buffer.alloc(l.size);
  u32(key, prefixLength, l.fields.prefixlen.offset);
  network.copy(key, l.fields.addr.offset);
  return { family, key };
}

/** The desired content of the four pool tries: map name → key hex → key. */
export function encodePoolMaps(sets: NatSets): Map<string, Map<string, Buffer>> {
  const out = new Map<string, Map<string, Buffer>>();
  const put = (map: string, cidrs: string[]) => {
    const m = new Map<string, Buffer>();
    for (const c of cidrs) {
      const { key } = encodeLpmKey(c);
      m.set(key.toString('hex'), key);
    }
    out.set(map, m);
  };
  put(SNAT_MAPS.masq4, sets[4].masq);
  put(SNAT_MAPS.pools4, sets[4].all);
  put(SNAT_MAPS.masq6, sets[6].masq);
  put(SNAT_MAPS.pools6, sets[6].all);
  return out;
}

/** The value every pool trie entry carries. */
export const POOL_VALUE = Buffer.from([1]);

/** A flow as the workload sends it. ICMP echo: `sport` is the identifier, dport is unused. */
export interface SnatFlow {
  proto: SnatProto;
  src: string;
  sport: number;
  dst: string;
  dport?: number;
}

function protoNumber(proto: SnatProto, family: Family): number {
  if (proto === 'icmp') return family === 4 ? IPPROTO.icmp : IPPROTO.icmpv6;
  return IPPROTO[proto];
}

function checkPort(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new ValidationError(path, 'must be a port from 0 to 65535');
  return v;
}

/** struct snat_ct_key from raw parts; ports are host numbers, stored big-endian as on the wire. */
export function encodeCtKey(k: { family: Family; proto: number; saddr: Buffer; daddr: Buffer; sport: number; dport: number; dir: number }): Buffer {
  const l = BPF_LAYOUTS.snat_ct_key;
  const f = l.fields;
  const key = Buffer.alloc(l.size);
  k.saddr.copy(key, f.saddr.offset);
  k.daddr.copy(key, f.daddr.offset);
  key.writeUInt16BE(k.sport, f.sport.offset);
  key.writeUInt16BE(k.dport, f.dport.offset);
  key.writeUInt8(k.proto, f.proto.offset);
  key.writeUInt8(k.family, f.family.offset);
  key.writeUInt8(k.dir, f.dir.offset);
  return key;
}

/** The ORIG key of a flow. */
export function origKey(flow: SnatFlow): Buffer {
  const s = parseIP(flow.src);
  const d = parseIP(flow.dst);
  if (!s || !d || s.family !== d.family) throw new ValidationError('flow', 'src and dst must be addresses of one family');
  const icmp = flow.proto === 'icmp';
  return encodeCtKey({
    family: s.family, proto: protoNumber(flow.proto, s.family), saddr: addressBytes(s.address), daddr: addressBytes(d.address),
    sport: checkPort('flow.sport', flow.sport), dport: icmp ? 0 : checkPort('flow.dport', flow.dport ?? 0), dir: SNAT_DIR.orig,
  });
}

/**
 * The PASS key of a flow opened from outside, given as the remote sends it (`src` the
 * remote, `dst` the pool address): the tuple of the workload's answer.
 */
export function passKey(flow: SnatFlow): Buffer {
  const s = parseIP(flow.src);
  const d = parseIP(flow.dst);
  if (!s || !d || s.family !== d.family) throw new ValidationError('flow', 'src and dst must be addresses of one family');
  const icmp = flow.proto === 'icmp';
  return encodeCtKey({
    family: s.family, proto: protoNumber(flow.proto, s.family), saddr: addressBytes(d.address), daddr: addressBytes(s.address),
    sport: icmp ? 0 : checkPort('flow.dport', flow.dport ?? 0), dport: checkPort('flow.sport', flow.sport), dir: SNAT_DIR.pass,
  });
}

/** The REPLY key of a flow translated to natAddr:natPort. */
export function replyKey(flow: SnatFlow, natAddr: string, natPort: number): Buffer {
  const d = parseIP(flow.dst);
  const n = parseIP(natAddr);
  if (!d || !n || d.family !== n.family) throw new ValidationError('natAddr', 'must be an address of the flow\'s family');
  const icmp = flow.proto === 'icmp';
  return encodeCtKey({
    family: d.family, proto: protoNumber(flow.proto, d.family), saddr: addressBytes(d.address), daddr: addressBytes(n.address),
    sport: icmp ? 0 : checkPort('flow.dport', flow.dport ?? 0), dport: checkPort('natPort', natPort), dir: SNAT_DIR.reply,
  });
}

export interface SnatCtEntry {
  /** bpf_ktime_get_ns() of the last packet (CLOCK_MONOTONIC). */
  lastSeenNs: bigint;
  flags: number;
  address: string;
  port: number;
}

export function decodeCtEntry(v: Buffer, family: Family): SnatCtEntry {
  const l = BPF_LAYOUTS.snat_ct_entry;
  const f = l.fields;
  if (v.length !== l.size) throw new ValidationError('value', `is ${v.length} bytes, struct snat_ct_entry is ${l.size}`);
  const a = v.subarray(f.addr.offset, f.addr.offset + (family === 4 ? 4 : 16));
  return {
    lastSeenNs: readU64(v, f.last_seen.offset),
    flags: Number(readU64(v, f.flags.offset)),
    address: family === 4 ? [...a].join('.') : formatIPv6(a),
    port: v.readUInt16BE(f.port.offset),
  };
}

function formatIPv6(b: Buffer): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return (parseIP(g.join(':'))?.address) ?? g.join(':');
}

// nat_mix() of bpf/lib/nat_ct.h.
function mix(h: number, v: number): number {
  h = (h ^ v) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h;
}

/** nat_flow_hash(): the key's 32-bit words in host order, mixed into the seed. */
export function snatFlowHash(key: Buffer, seed: number): number {
  let h = seed >>> 0;
  for (let off = 0; off + 4 <= key.length; off += 4) h = mix(h, readU32(key, off));
  return h;
}

/** The NAT ports the program tries for a new flow, in order. */
export function portCandidates(flow: SnatFlow, range: PortRange, seed: number, probes = SNAT_PORT_PROBES): number[] {
  const size = range.max - range.min + 1;
  const start = snatFlowHash(origKey(flow), seed) % size;
  const out: number[] = [];
  for (let i = 0; i < probes; i++) out.push(range.min + ((start + i) % size));
  return out;
}
