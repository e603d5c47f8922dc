// IPIP and VXLAN without tunnel devices: the encapsulation step of bpf/host.bpf.c
// (lib/host_encap.h) on the host interface's tc hooks. HostProgram owns the program
// and its tc slot; this feature owns the encap maps: it fills a fresh object before
// it is attached (from what it declares, or on a first load from the program it takes
// over), and setEntries()/setRealms() declare the full set while apply() diffs it
// against the keys the kernel's maps really hold. The kernel routes (tunnelRoute())
// are the routes reconciler's.

import { ValidationError } from '../../errors.js';
import { mapDelete, mapKeys, mapLookup, mapUpdate } from '../../native/bpf-maps.js';
import type { BpfObjectHandle } from '../../native/bpf-objects.js';
import { type Counter, readCounterSlots } from '../bpf/counters.js';
import { HostProgram, type HostFeature, type HostTarget, type SlotState } from '../bpf/host-program.js';
import {
  decodeEntry,
  decodeEntry6,
  decodeKey,
  decodeKey6,
  decodeRealmKey,
  DROP_REASONS,
  ENCAP_COUNTERS,
  ENCAP_STATE_MAPS,
  encodeEncapState,
  ipv4Bytes,
  ipv6Bytes,
  ipv6Text,
  macBytes,
  type DropReason,
  type EncapCounterName,
  type EncapEntry,
  type EncodedEncapState,
  type RealmEntry,
} from './encap-map-codec.js';

/** Calico's defaults. */
export const DEFAULT_VXLAN_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

/** The maps a successor takes over: the remote blocks, the route realms, the peers allowed to tunnel here. */
const ADOPTED_MAPS = ['encap_routes', 'encap_realms', 'encap_peers', 'encap_routes6', 'encap_peers6'] as const;

export interface BpfEncapOptions {
  /** This node's underlay IPv4 address: outer source, and what decapsulation accepts (absent: no IPv4 underlay). */
  nodeIP?: string;
  /** This node's underlay IPv6 address: IPv6 VXLAN's outer source and what it accepts. */
  nodeIP6?: string;
  /** This node's IPv6 VTEP MAC (vxlanTunnelMACAddrV6); with nodeIP6 it switches IPv6 VXLAN on. */
  vtepMac6?: string;
  /**
   * This node's VTEP MAC (Node.spec.vxlanTunnelMACAddr, else `vtepMac(nodeName)`).
   * Without it the programs leave VXLAN alone in both directions.
   */
  vtepMac?: string;
  vxlanVNI?: number;
  vxlanPort?: number;
  /** Decapsulate only from nodes named in the entries and realms (default true). */
  checkPeers?: boolean;
  /**
   * Remote blocks (LPM fallback for routes without a realm), in the maps before the
   * program is attached. Absent on the first load: what the program in the slot holds.
   */
  entries?: readonly EncapEntry[];
  /** Route realms, likewise. */
  realms?: readonly RealmEntry[];
  /**
   * Underlay addresses of every node, allowed to send IPIP and VXLAN here whether or
   * not we route to them (setState() declares them later).
   */
  sources?: readonly string[];
}

export interface EncapApplyResult {
  /** encap_routes and encap_realms entries written new, rewritten, deleted. */
  added: number;
  updated: number;
  removed: number;
}

export interface EncapApplyOptions {
  /** Delete entries that are no longer declared (default true). */
  prune?: boolean;
}

/** What the program at Tabby's tc slot holds: a previous agent's state, to adopt. */
export interface PreviousEncap {
  progId: number;
  entries: EncapEntry[];
  realms: RealmEntry[];
  /** Every address encap_peers allows. */
  sources: string[];
}

export class BpfEncap implements HostFeature {
  readonly stateMaps = ADOPTED_MAPS;
  private opts: BpfEncapOptions;
  private entries: readonly EncapEntry[] = [];
  private realmEntries: readonly RealmEntry[] = [];
  private sourceList: readonly string[] = [];
  private desired: EncodedEncapState = { routes: new Map(), peers: new Map(), realms: new Map(), routes6: new Map(), peers6: new Map() };
  private settled = false;

  /** Validates the load-time values; host.load() with this feature switches it on. */
  constructor(readonly host: HostProgram, opts: BpfEncapOptions) {
    encapGlobals(opts);
    this.opts = { ...opts };
  }

  /**
   * Reads what the program now in Tabby's slot holds (entries and realms), or null when
   * there is none. Entries that do not decode are left out.
   */
  static async previous(target: HostTarget): Promise<PreviousEncap | null> {
    const q = await HostProgram.previous(target, ADOPTED_MAPS);
    return q && { progId: q.progId, ...decodeSlot(q) };
  }

  /** What is declared now (and applied, once the last apply has finished). */
  get declared(): { entries: readonly EncapEntry[]; realms: readonly RealmEntry[] } {
    return { entries: this.entries, realms: this.realmEntries };
  }

  /** The load-time options (VTEP MAC, node address…). */
  get options(): Readonly<BpfEncapOptions> {
    return this.opts;
  }

  /**
   * Changes load-time values (a new VTEP MAC, say); they take effect when the host
   * loads again (host.load()), which takes over with the declared state.
   */
  configure(update: Partial<Omit<BpfEncapOptions, 'entries' | 'realms'>>): void {
    const next = { ...this.opts, ...update };
    encapGlobals(next);
    encodeEncapState(this.entries, next.vtepMac !== undefined, this.realmEntries, this.sourceList, vxlan6Ready(next));
    this.opts = next;
  }

  globals(): Record<string, Buffer | number> {
    return { ...encapGlobals(this.opts), enable_encap: 1 };
  }

  async prepare(prev: SlotState | null): Promise<void> {
    if (this.settled) return;
    const from = prev ? decodeSlot(prev) : { entries: [], realms: [], sources: [] };
    const entries = [...(this.opts.entries ?? from.entries)];
    const realms = [...(this.opts.realms ?? from.realms)];
    // Until the first setState(), every peer the previous program allowed stays allowed.
    const sources = [...(this.opts.sources ?? from.sources)];
    this.desired = encodeEncapState(entries, this.opts.vtepMac !== undefined, realms, sources, vxlan6Ready(this.opts));
    this.entries = entries;
    this.realmEntries = realms;
    this.sourceList = sources;
    this.settled = true;
  }

  async fill(handle: BpfObjectHandle): Promise<void> {
    await this.applyTo(handle, { prune: false });
  }

  /**
   * Declares the complete set of remote blocks to tunnel to (the LPM fallback for
   * routes without a realm), then applies it.
   */
  async setEntries(desired: readonly EncapEntry[], opts: EncapApplyOptions = {}): Promise<EncapApplyResult> {
    return this.setState({ entries: desired }, opts);
  }

  /** Declares the complete set of route realms, then applies it. */
  async setRealms(desired: readonly RealmEntry[], opts: EncapApplyOptions = {}): Promise<EncapApplyResult> {
    return this.setState({ realms: desired }, opts);
  }

  /**
   * Declares entries, realms and/or sources (what is left out stays as declared
   * before), then applies. The peers allowed to send tunnel packets here are the
   * remote nodes of entries and realms, and the sources. An invalid list throws here
   * and changes nothing.
   */
  async setState(
    state: { entries?: readonly EncapEntry[]; realms?: readonly RealmEntry[]; sources?: readonly string[] },
    opts: EncapApplyOptions = {},
  ): Promise<EncapApplyResult> {
    this.host.requireObject();
    const entries = state.entries ? [...state.entries] : this.entries;
    const realms = state.realms ? [...state.realms] : this.realmEntries;
    const sources = state.sources ? [...state.sources] : this.sourceList;
    const encoded = encodeEncapState(entries, this.opts.vtepMac !== undefined, realms, sources, vxlan6Ready(this.opts));
    return this.host.serial(() => {
      this.entries = entries;
      this.realmEntries = realms;
      this.sourceList = sources;
      this.desired = encoded;
      return this.applyTo(this.host.requireObject(), opts);
    });
  }

  /**
   * Brings the maps to the declared state, comparing with the keys the kernel's maps
   * hold (mapKeys): missing or different entries are written, undeclared ones deleted.
   * Safe to call periodically as a resync.
   */
  async apply(opts: EncapApplyOptions = {}): Promise<EncapApplyResult> {
    this.host.requireObject();
    return this.host.serial(() => this.applyTo(this.host.requireObject(), opts));
  }

  /** Encapsulated/decapsulated and passed-through packet counts, summed over CPUs. */
  async counters(): Promise<Record<EncapCounterName, Counter>> {
    return readCounterSlots(this.host.requireObject(), 'counters', ENCAP_COUNTERS);
  }

  /** Dropped packets by reason, summed over CPUs. */
  async drops(): Promise<Record<DropReason, Counter>> {
    return readCounterSlots(this.host.requireObject(), 'drops', DROP_REASONS);
  }

  private async applyTo(handle: BpfObjectHandle, opts: EncapApplyOptions): Promise<EncapApplyResult> {
    const result: EncapApplyResult = { added: 0, updated: 0, removed: 0 };
    const present = new Map<string, Set<string>>();
    for (const [, map] of ENCAP_STATE_MAPS) {
      present.set(map, new Set((await mapKeys(handle, map)).map((k) => k.toString('hex'))));
    }
    // Peers first: a node may start sending to us as soon as we route to it; realms
    // and blocks before the routes that use them (the caller adds those afterwards).
    for (const [part, map] of ENCAP_STATE_MAPS) {
      const count = part !== 'peers' && part !== 'peers6';
      const have = present.get(map)!;
      for (const [hex, { key, value }] of this.desired[part]) {
        if (have.has(hex)) {
          const cur = await mapLookup(handle, map, key);
          if (cur && cur.value.equals(value)) continue;
          await mapUpdate(handle, map, key, value);
          if (count) result.updated++;
        } else {
          await mapUpdate(handle, map, key, value);
          if (count) result.added++;
        }
      }
    }
    if (opts.prune === false) return result;
    for (const [part, map] of [...ENCAP_STATE_MAPS].reverse()) {
      for (const hex of present.get(map)!) {
        if (this.desired[part].has(hex)) continue;
        const gone = await mapDelete(handle, map, Buffer.from(hex, 'hex'));
        if (gone && part !== 'peers' && part !== 'peers6') result.removed++;
      }
    }
    return result;
  }
}

/** The entries, realms and peers a program's maps hold; what does not decode is left out. */
function decodeSlot(q: SlotState): { entries: EncapEntry[]; realms: RealmEntry[]; sources: string[] } {
  const entries: EncapEntry[] = [];
  for (const { key, value } of q.maps.encap_routes ?? []) {
    const e = safeDecode(value);
    if (e && (e.kind === 'ipip' || e.kind === 'vxlan')) {
      entries.push({ block: decodeKey(key), remoteIP: e.remoteIP, kind: e.kind, ...(e.kind === 'vxlan' ? { vtepMac: e.vtepMac } : {}) });
    }
  }
  const realms: RealmEntry[] = [];
  for (const { key, value } of q.maps.encap_realms ?? []) {
    const e = safeDecode(value);
    const realm = key.length === 4 ? decodeRealmKey(key) : 0;
    if (e && realm >= 1 && realm <= 0xffff && (e.kind === 'none' || e.kind === 'ipip' || e.kind === 'vxlan')) {
      realms.push({ realm, remoteIP: e.remoteIP, kind: e.kind, ...(e.kind === 'vxlan' ? { vtepMac: e.vtepMac } : {}) });
    }
  }
  for (const { key, value } of q.maps.encap_routes6 ?? []) {
    try {
      const e = decodeEntry6(value);
      macBytes('vtepMac', e.vtepMac);
      if (e.kind === 'vxlan') entries.push({ block: decodeKey6(key), remoteIP: e.remoteIP, kind: 'vxlan', vtepMac: e.vtepMac });
    } catch {
      // left out, as any entry that does not decode
    }
  }
  const sources = [
    ...(q.maps.encap_peers ?? []).filter(({ key }) => key.length === 4).map(({ key }) => [...key].join('.')),
    ...(q.maps.encap_peers6 ?? []).filter(({ key }) => key.length === 16).map(({ key }) => ipv6Text(key)),
  ];
  return { entries, realms, sources };
}

function safeDecode(v: Buffer): ReturnType<typeof decodeEntry> | undefined {
  try {
    const e = decodeEntry(v);
    if (e.kind === 'vxlan') macBytes('vtepMac', e.vtepMac);
    return e;
  } catch {
    return undefined;
  }
}

/** The `const volatile` globals of lib/host_encap.h for these options. */
export function encapGlobals(opts: BpfEncapOptions): Record<string, Buffer | number> {
  if (typeof opts !== 'object' || opts === null) throw new ValidationError('options', 'must be an object');
  const vni = opts.vxlanVNI ?? DEFAULT_VXLAN_VNI;
  const port = opts.vxlanPort ?? DEFAULT_VXLAN_PORT;
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new ValidationError('vxlanVNI', 'must be an integer from 0 to 16777215');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError('vxlanPort', 'must be an integer from 1 to 65535');
  if (opts.nodeIP === undefined && opts.nodeIP6 === undefined) throw new ValidationError('nodeIP', 'nodeIP or nodeIP6 is required');
  const nodeIP = opts.nodeIP === undefined ? Buffer.alloc(4) : ipv4Bytes('nodeIP', opts.nodeIP);
  if (opts.nodeIP !== undefined && nodeIP.every((b) => b === 0)) throw new ValidationError('nodeIP', 'must not be 0.0.0.0');
  const globals: Record<string, Buffer | number> = {
    node_ip: nodeIP,
    vxlan_vni: vni,
    vxlan_port: port,
    check_peers: opts.checkPeers === false ? 0 : 1,
  };
  if (opts.vtepMac !== undefined) {
    globals.vtep_mac = macBytes('vtepMac', opts.vtepMac);
    globals.vxlan_enabled = 1;
  }
  if (opts.nodeIP6 !== undefined) {
    const ip6 = ipv6Bytes('nodeIP6', opts.nodeIP6);
    if (ip6.every((b) => b === 0)) throw new ValidationError('nodeIP6', 'must not be ::');
    globals.node_ip6 = ip6;
    if (opts.vtepMac6 !== undefined) {
      globals.vtep_mac6 = macBytes('vtepMac6', opts.vtepMac6);
      globals.vxlan6_enabled = 1;
    }
  } else if (opts.vtepMac6 !== undefined) {
    throw new ValidationError('vtepMac6', 'needs nodeIP6 (IPv6 VXLAN rides the IPv6 underlay)');
  }
  return globals;
}

/** IPv6 VXLAN is on: an IPv6 underlay address and an IPv6 VTEP MAC. */
function vxlan6Ready(opts: BpfEncapOptions): boolean {
  return opts.nodeIP6 !== undefined && opts.vtepMac6 !== undefined;
}
