// The bytes of host.bpf.o's encap maps (struct layouts in src/dataplane/bpf/layouts.ts,
// enums in bpf/lib/layouts.h) and the checks that turn a desired entry list into
// them. Pure: no kernel, so it is unit-tested on its own.

import { endianness } from 'node:os';
import { ValidationError } from '../../errors.js';
import { Address6 } from 'ip-address';
import { parseCidr, parseIP } from '../../api/net.js';
import { BPF_LAYOUTS } from '../bpf/layouts.js';

export type EncapKind = 'ipip' | 'vxlan';
/** What a route realm can stand for: `none` is a plain next hop of an ECMP route. */
export type RealmKind = 'none' | EncapKind;

/** enum tabby_encap_kind. */
export const ENCAP_KIND = { none: 0, ipip: 1, vxlan: 2 } as const satisfies Record<RealmKind, number>;

/** enum tabby_encap_counter, in slot order (checked against the object's BTF). */
export const ENCAP_COUNTERS = [
  'encapIpip',
  'encapVxlan',
  'decapIpip',
  'decapVxlan',
  'tunnelNotLocal',
  'vxlanOtherVni',
  'plain',
  'encapVxlan6',
  'decapVxlan6',
  'vxlan6ZeroCsum',
  'fragNeeded',
] as const;
export type EncapCounterName = (typeof ENCAP_COUNTERS)[number];

/** enum tabby_drop_reason, in slot order (checked against the object's BTF). */
export const DROP_REASONS = [
  'malformedIp',
  'badIpCsum',
  'fragment',
  'innerMalformed',
  'unknownPeer',
  'vxlanMalformed',
  'vxlanInnerMac',
  'vxlanInnerProto',
  'ecn',
  'badEntry',
  'tooBig',
  'mtu',
  'adjustRoom',
  'store',
  'noRealm',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** One remote block and how to reach it, as the control plane declares it. */
export interface EncapEntry {
  /**
   * The remote IPAM block, e.g. `10.244.3.0/26` (host bits zero). An IPv6 block goes to
   * `encap_routes6` and must be VXLAN over an IPv6 remote (IPv6 VXLAN).
   */
  block: string;
  /** The remote node's underlay address, of the block's family. */
  remoteIP: string;
  kind: EncapKind;
  /** VXLAN only: the remote VTEP's MAC (its vxlan device's address, or vtepMac(node)). */
  vtepMac?: string;
}

/** One route realm and how packets taking a next hop with it are sent. */
export interface RealmEntry {
  /** 1..65535, the RTA_FLOW "to" realm on the route's next hop. */
  realm: number;
  /** The remote node's underlay IPv4 address (outer destination). */
  remoteIP: string;
  kind: RealmKind;
  /** VXLAN only: the remote VTEP's MAC. */
  vtepMac?: string;
}

// Map keys and values are in the host's byte order except where the C says __be.
const hostLittleEndian = endianness() === 'LE';
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function ipv6Bytes(path: string, text: string): Buffer {
  const p = parseIP(text);
  if (!p || p.family !== 6) throw new ValidationError(path, `must be an IPv6 address, got ${JSON.stringify(text)}`);
  const out = Buffer.alloc(16);
  let n = new Address6(p.address).bigInt();
  for (let i = 15; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

/** An address of either family as its network-order bytes (4 or 16). */
export function ipBytes(path: string, text: string): Buffer {
  return typeof text === 'string' && text.includes(':') ? ipv6Bytes(path, text) : ipv4Bytes(path, text);
}

export function ipv4Bytes(path: string, text: string): Buffer {
  const p = parseIP(text);
  if (!p || p.family !== 4) throw new ValidationError(path, `must be an IPv4 address, got ${JSON.stringify(text)}`);
  return Buffer.from(p.address.split('.').map(Number));
}

/** A unicast MAC as 6 bytes; `aa:bb:…` in either case. */
export function macBytes(path: string, text: string): Buffer {
  const t = typeof text === 'string' ? text.toLowerCase() : '';
  if (!MAC.test(t)) throw new ValidationError(path, `must be a MAC address like 66:aa:bb:cc:dd:ee, got ${JSON.stringify(text)}`);
  const b = Buffer.from(t.split(':').map((x) => parseInt(x, 16)));
  if (b[0]! & 1) throw new ValidationError(path, 'must be a unicast MAC address');
  if (b.every((x) => x === 0)) throw new ValidationError(path, 'must not be all zeros');
  return b;
}

/** An LPM trie key: a host-order __u32 prefix length, then the address in network byte order. */
function lpmKey(l: (typeof BPF_LAYOUTS)['encap_key' | 'encap_key6'], prefixLength: number, network: Buffer, addrBytes: number): Buffer {
  const key = Buffer.alloc(l.size);
  if (hostLittleEndian) key.writeUInt32LE(prefixLength, l.fields.prefixlen.offset);
  else key.writeUInt32BE(prefixLength, l.fields.prefixlen.offset);
  network.copy(key, l.fields.addr.offset, 0, addrBytes);
  return key;
}

/** struct encap_key for a block. */
export const encodeKey = (prefixLength: number, network: Buffer): Buffer => lpmKey(BPF_LAYOUTS.encap_key, prefixLength, network, 4);

/** struct encap_key6 for an IPv6 block. */
export const encodeKey6 = (prefixLength: number, network: Buffer): Buffer => lpmKey(BPF_LAYOUTS.encap_key6, prefixLength, network, 16);

/** The IPv6 block an `encap_routes6` key stands for. */
export function decodeKey6(key: Buffer): string {
  const l = BPF_LAYOUTS.encap_key6;
  const len = hostLittleEndian ? key.readUInt32LE(l.fields.prefixlen.offset) : key.readUInt32BE(l.fields.prefixlen.offset);
  return `${ipv6Text(key.subarray(l.fields.addr.offset, l.fields.addr.offset + 16))}/${len}`;
}

/** 16 network-order bytes as a canonical IPv6 address. */
export function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return parseIP(groups.join(':'))!.address;
}

export function encodeEntry6(remoteIP: Buffer, vtepMac: Buffer): Buffer {
  const l = BPF_LAYOUTS.encap_entry6;
  const v = Buffer.alloc(l.size);
  remoteIP.copy(v, l.fields.remote_ip.offset, 0, 16);
  v.writeUInt8(ENCAP_KIND.vxlan, l.fields.kind.offset);
  vtepMac.copy(v, l.fields.vtep_mac.offset, 0, 6);
  return v;
}

export function decodeEntry6(v: Buffer): { remoteIP: string; kind: RealmKind | number; vtepMac: string } {
  const l = BPF_LAYOUTS.encap_entry6;
  if (v.length !== l.size) throw new ValidationError('value', `is ${v.length} bytes, struct encap_entry6 is ${l.size}`);
  const k = v.readUInt8(l.fields.kind.offset);
  const kind = (Object.keys(ENCAP_KIND) as RealmKind[]).find((n) => ENCAP_KIND[n] === k) ?? k;
  const mac = [...v.subarray(l.fields.vtep_mac.offset, l.fields.vtep_mac.offset + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  return { remoteIP: ipv6Text(v.subarray(l.fields.remote_ip.offset, l.fields.remote_ip.offset + 16)), kind, vtepMac: mac };
}

/** The __u32 key of `encap_realms`, host order. */
export function encodeRealmKey(realm: number): Buffer {
  const key = Buffer.alloc(4);
  if (hostLittleEndian) key.writeUInt32LE(realm, 0);
  else key.writeUInt32BE(realm, 0);
  return key;
}

export function decodeRealmKey(key: Buffer): number {
  return hostLittleEndian ? key.readUInt32LE(0) : key.readUInt32BE(0);
}

/** The block an `encap_routes` key stands for, e.g. `10.244.3.0/26`. */
export function decodeKey(key: Buffer): string {
  const l = BPF_LAYOUTS.encap_key;
  const len = hostLittleEndian ? key.readUInt32LE(l.fields.prefixlen.offset) : key.readUInt32BE(l.fields.prefixlen.offset);
  return `${[...key.subarray(l.fields.addr.offset, l.fields.addr.offset + 4)].join('.')}/${len}`;
}

export function encodeEntry(remoteIP: Buffer, kind: RealmKind, vtepMac?: Buffer): Buffer {
  const l = BPF_LAYOUTS.encap_entry;
  const v = Buffer.alloc(l.size);
  remoteIP.copy(v, l.fields.remote_ip.offset, 0, 4);
  v.writeUInt8(ENCAP_KIND[kind], l.fields.kind.offset);
  v.writeUInt8(0, l.fields.flags.offset);
  if (vtepMac) vtepMac.copy(v, l.fields.vtep_mac.offset, 0, 6);
  return v;
}

export function decodeEntry(v: Buffer): { remoteIP: string; kind: RealmKind | number; flags: number; vtepMac: string } {
  const l = BPF_LAYOUTS.encap_entry;
  if (v.length !== l.size) throw new ValidationError('value', `is ${v.length} bytes, struct encap_entry is ${l.size}`);
  const ip = [...v.subarray(l.fields.remote_ip.offset, l.fields.remote_ip.offset + 4)].join('.');
  const k = v.readUInt8(l.fields.kind.offset);
  const kind = (Object.keys(ENCAP_KIND) as RealmKind[]).find((n) => ENCAP_KIND[n] === k) ?? k;
  const mac = [...v.subarray(l.fields.vtep_mac.offset, l.fields.vtep_mac.offset + 6)]
    .map((b) => b.toString(16).padStart(2, '0')).join(':');
  return { remoteIP: ip, kind, flags: v.readUInt8(l.fields.flags.offset), vtepMac: mac };
}

/** The encoded desired state: map keys and values as hex-keyed maps, ready to diff. */
export interface EncodedEncapState {
  /** encap_routes: key hex → value. */
  routes: Map<string, { key: Buffer; value: Buffer }>;
  /** encap_peers: remote address hex → bit mask of (1 << kind). */
  peers: Map<string, { key: Buffer; value: Buffer }>;
  /** encap_realms: realm key hex → value. */
  realms: Map<string, { key: Buffer; value: Buffer }>;
  /** encap_routes6: IPv6 block key hex → value (IPv6 VXLAN). */
  routes6: Map<string, { key: Buffer; value: Buffer }>;
  /** encap_peers6: remote IPv6 address hex → bit mask. */
  peers6: Map<string, { key: Buffer; value: Buffer }>;
}

export type EncapMapName = 'encap_routes' | 'encap_peers' | 'encap_realms' | 'encap_routes6' | 'encap_peers6';
/** Which map each part of EncodedEncapState goes to, in the order they are filled. */
export const ENCAP_STATE_MAPS = [
  ['peers', 'encap_peers'],
  ['peers6', 'encap_peers6'],
  ['realms', 'encap_realms'],
  ['routes', 'encap_routes'],
  ['routes6', 'encap_routes6'],
] as const satisfies ReadonlyArray<readonly [keyof EncodedEncapState, EncapMapName]>;

/** The remote VTEP MAC a VXLAN entry needs (and no other kind may carry). */
function remoteMac(at: string, kind: RealmKind, vtepMac: string | undefined, vxlanReady: boolean): Buffer | undefined {
  if (kind !== 'vxlan') {
    if (vtepMac !== undefined) throw new ValidationError(`${at}.vtepMac`, 'only applies to vxlan');
    return undefined;
  }
  if (!vxlanReady) throw new ValidationError(`${at}.kind`, 'vxlan needs this node\'s vtepMac at load time');
  if (vtepMac === undefined) throw new ValidationError(`${at}.vtepMac`, 'is required for vxlan');
  return macBytes(`${at}.vtepMac`, vtepMac);
}

/**
 * Validates the desired entries and encodes them. A block declared twice must be
 * declared identically. `vxlanReady` says whether this node has a VTEP MAC: VXLAN
 * entries need one for the inner source address. The peers allowed to tunnel to us
 * are the remote nodes of entries and realms plus `sources` (every node's address).
 */
export function encodeEncapState(
  desired: readonly EncapEntry[], vxlanReady: boolean, realmEntries: readonly RealmEntry[] = [],
  sources: readonly string[] = [], vxlan6Ready = false,
): EncodedEncapState {
  if (!Array.isArray(desired)) throw new ValidationError('entries', 'must be an array');
  if (!Array.isArray(realmEntries)) throw new ValidationError('realms', 'must be an array');
  if (!Array.isArray(sources)) throw new ValidationError('sources', 'must be an array');
  const routes = new Map<string, { key: Buffer; value: Buffer }>();
  const routes6 = new Map<string, { key: Buffer; value: Buffer }>();
  const peerKinds = new Map<string, number>();
  const peer6Kinds = new Map<string, number>();
  desired.forEach((e, i) => {
    const at = `entries[${i}]`;
    if (typeof e !== 'object' || e === null) throw new ValidationError(at, 'must be an object');
    const c = parseCidr(e.block);
    if (!c) throw new ValidationError(`${at}.block`, `must be a CIDR, got ${JSON.stringify(e.block)}`);
    if (!c.masked) throw new ValidationError(`${at}.block`, `has host bits set; the block is ${c.network}`);
    if (c.family === 6) {
      // IPv6 VXLAN only, over an IPv6 remote.
      if (e.kind !== 'vxlan') throw new ValidationError(`${at}.kind`, 'an IPv6 block can only be "vxlan"');
      if (!vxlan6Ready) throw new ValidationError(`${at}.kind`, 'IPv6 vxlan needs this node\'s IPv6 address and vtepMac6 at load time');
      const remote = ipv6Bytes(`${at}.remoteIP`, e.remoteIP);
      const mac = remoteMac(at, 'vxlan', e.vtepMac, true)!;
      const key = encodeKey6(c.prefixLength, ipv6Bytes(`${at}.block`, c.network.split('/')[0]!));
      const value = encodeEntry6(remote, mac);
      const hex = key.toString('hex');
      const prev = routes6.get(hex);
      if (prev && !prev.value.equals(value)) throw new ValidationError(`${at}.block`, `${c.network} is declared twice, differently`);
      routes6.set(hex, { key, value });
      const peer = remote.toString('hex');
      peer6Kinds.set(peer, (peer6Kinds.get(peer) ?? 0) | (1 << ENCAP_KIND.vxlan));
      return;
    }
    const remote = ipv4Bytes(`${at}.remoteIP`, e.remoteIP);
    const kind: unknown = e.kind;
    if (kind !== 'ipip' && kind !== 'vxlan') throw new ValidationError(`${at}.kind`, 'must be "ipip" or "vxlan"');
    const mac = remoteMac(at, kind, e.vtepMac, vxlanReady);
    const key = encodeKey(c.prefixLength, ipv4Bytes(`${at}.block`, c.network.split('/')[0]!));
    const value = encodeEntry(remote, kind, mac);
    const hex = key.toString('hex');
    const prev = routes.get(hex);
    if (prev && !prev.value.equals(value)) throw new ValidationError(`${at}.block`, `${c.network} is declared twice, differently`);
    routes.set(hex, { key, value });
    const peer = remote.toString('hex');
    peerKinds.set(peer, (peerKinds.get(peer) ?? 0) | (1 << ENCAP_KIND[kind]));
  });
  const realms = new Map<string, { key: Buffer; value: Buffer }>();
  realmEntries.forEach((e, i) => {
    const at = `realms[${i}]`;
    if (typeof e !== 'object' || e === null) throw new ValidationError(at, 'must be an object');
    if (!Number.isInteger(e.realm) || e.realm < 1 || e.realm > 0xffff) throw new ValidationError(`${at}.realm`, 'must be an integer from 1 to 65535');
    const remote = ipv4Bytes(`${at}.remoteIP`, e.remoteIP);
    const kind: unknown = e.kind;
    if (kind !== 'none' && kind !== 'ipip' && kind !== 'vxlan') throw new ValidationError(`${at}.kind`, 'must be "none", "ipip" or "vxlan"');
    const mac = remoteMac(at, kind, e.vtepMac, vxlanReady);
    const key = encodeRealmKey(e.realm);
    const value = encodeEntry(remote, kind, mac);
    const hex = key.toString('hex');
    const prev = realms.get(hex);
    if (prev && !prev.value.equals(value)) throw new ValidationError(`${at}.realm`, `realm ${e.realm} is declared twice, differently`);
    realms.set(hex, { key, value });
    if (kind !== 'none') {
      const peer = remote.toString('hex');
      peerKinds.set(peer, (peerKinds.get(peer) ?? 0) | (1 << ENCAP_KIND[kind]));
    }
  });
  // Every node may send either kind: which one it uses depends on its pools, not ours.
  // IPv6 nodes: VXLAN only (there is no IPIP over IPv6).
  sources.forEach((a, i) => {
    const b = ipBytes(`sources[${i}]`, a);
    if (b.length === 16) peer6Kinds.set(b.toString('hex'), (peer6Kinds.get(b.toString('hex')) ?? 0) | (1 << ENCAP_KIND.vxlan));
    else peerKinds.set(b.toString('hex'), (peerKinds.get(b.toString('hex')) ?? 0) | (1 << ENCAP_KIND.ipip) | (1 << ENCAP_KIND.vxlan));
  });
  const peers = new Map<string, { key: Buffer; value: Buffer }>();
  for (const [hex, mask] of peerKinds) peers.set(hex, { key: Buffer.from(hex, 'hex'), value: Buffer.from([mask]) });
  const peers6 = new Map<string, { key: Buffer; value: Buffer }>();
  for (const [hex, mask] of peer6Kinds) peers6.set(hex, { key: Buffer.from(hex, 'hex'), value: Buffer.from([mask]) });
  return { routes, peers, realms, routes6, peers6 };
}
