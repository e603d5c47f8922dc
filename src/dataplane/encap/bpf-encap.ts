// IPIP and VXLAN without tunnel devices: bpf/encap.bpf.c on the host interface's
// tc hooks. load() fills a fresh object's maps with the desired state first and only
// then attaches, replacing whatever program sits at Tabby's fixed tc priority:handle
// in one step: a restarted or upgraded agent takes over from the previous one without
// a moment in which packets go unencapsulated, and never leaves two filters behind.
// setEntries()/setRealms() declare the full set and apply() diffs it against the keys
// the kernel's maps really hold. The kernel routes (tunnelRoute()) are the routes
// reconciler's; this class only owns the programs and their maps.

import { ValidationError } from '../../errors.js';
import { mapDelete, mapKeys, mapLookup, mapUpdate } from '../../native/bpf-maps.js';
import { bpfObjectClose, type BpfObjectHandle, bpfObjectLoad } from '../../native/bpf-objects.js';
import { linkList } from '../../native/links.js';
import { tcQuery } from '../../native/tc.js';
import { bpfObjectPath } from '../bpf/object-path.js';
import { type Counter, readCounters } from '../bpf/counters.js';
import {
  decodeEntry,
  decodeKey,
  decodeRealmKey,
  DROP_REASONS,
  ENCAP_COUNTERS,
  ENCAP_STATE_MAPS,
  encodeEncapState,
  ipv4Bytes,
  macBytes,
  type DropReason,
  type EncapCounterName,
  type EncapEntry,
  type EncodedEncapState,
  type RealmEntry,
} from './encap-map-codec.js';
import {
  attachTcSlot, checkTcSlot, detachTcFilters, detachTcSlot, nsOpt as ns, tcSlot, type TcFilters as Filters, type TcSlot, type TcSlotTarget,
} from '../tc-slot.js';

export const ENCAP_OBJECT = 'encap';
export const ENCAP_PROGRAMS = { egress: 'tabby_encap_egress', ingress: 'tabby_encap_ingress' } as const;

/**
 * Tabby's fixed tc slot for encap.bpf.c on both hooks. Fixed so a new agent replaces
 * the old filter instead of adding a second one. After SNAT (priority 10): SNAT passes
 * packets on with TC_ACT_UNSPEC, while encap's TC_ACT_OK ends the chain.
 */
export const ENCAP_TC_PRIORITY = 20;
export const ENCAP_TC_HANDLE = 0x7ab;

/** Calico's defaults. */
export const DEFAULT_VXLAN_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

/**
 * The host (underlay) interface, e.g. `eth0`, its namespace, and the tc slot of both
 * programs (default ENCAP_TC_PRIORITY, ENCAP_TC_HANDLE).
 */
export type BpfEncapTarget = TcSlotTarget;

export interface BpfEncapLoadOptions extends BpfEncapTarget {
  /** This node's underlay IPv4 address: outer source, and what decapsulation accepts. */
  nodeIP: string;
  /**
   * The interface's ifindex. When given, the programs ignore packets of any other
   * interface, and load() refuses to attach if the interface has another index.
   */
  ifindex?: number;
  /**
   * This node's VTEP MAC (Node.spec.vxlanTunnelMACAddr, else `vtepMac(nodeName)`).
   * Without it the programs leave VXLAN alone in both directions.
   */
  vtepMac?: string;
  vxlanVNI?: number;
  vxlanPort?: number;
  /** Decapsulate only from nodes named in the entries and realms (default true). */
  checkPeers?: boolean;
  /** Remote blocks (LPM fallback for routes without a realm), in the maps before attach. */
  entries?: readonly EncapEntry[];
  /** Route realms, in the maps before attach. */
  realms?: readonly RealmEntry[];
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
}

const EMPTY_STATE = (): EncodedEncapState => ({ routes: new Map(), peers: new Map(), realms: new Map() });

function slot(t: BpfEncapTarget): TcSlot {
  return tcSlot(t, { priority: ENCAP_TC_PRIORITY, handle: ENCAP_TC_HANDLE });
}

export class BpfEncap {
  private handle: BpfObjectHandle | undefined;
  private filters: Filters = {};
  private opts: BpfEncapLoadOptions | undefined;
  private entries: readonly EncapEntry[] = [];
  private realmEntries: readonly RealmEntry[] = [];
  private desired: EncodedEncapState = EMPTY_STATE();
  private queue: Promise<unknown> = Promise.resolve();

  get loaded(): boolean {
    return this.handle !== undefined;
  }

  /** The ifindex tc attached to (after load). */
  get ifindex(): number | undefined {
    return this.filters.egress?.ifindex;
  }

  /** The filters this instance attached, with their program ids. */
  get attached(): Readonly<Filters> {
    return { ...this.filters };
  }

  /** What is declared now (and applied, once the last apply has finished). */
  get declared(): { entries: readonly EncapEntry[]; realms: readonly RealmEntry[] } {
    return { entries: this.entries, realms: this.realmEntries };
  }

  /** The options load() was given (VTEP MAC, node address…), or undefined. */
  get options(): Readonly<BpfEncapLoadOptions> | undefined {
    return this.opts;
  }

  /**
   * Reads what the program now in Tabby's egress slot holds (entries and realms), or
   * null when there is none: a new agent passes it to load() to take over unchanged.
   * Entries that do not decode are left out.
   */
  static async previous(target: BpfEncapTarget): Promise<PreviousEncap | null> {
    const q = await tcQuery({
      ifname: target.ifname, direction: 'egress', ...ns(target.netns), ...slot(target),
      maps: ['encap_routes', 'encap_realms'],
    });
    if (!q || q.progName !== ENCAP_PROGRAMS.egress.slice(0, 15)) return null;
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
    return { progId: q.progId, entries, realms };
  }

  /**
   * Removes whatever program sits in Tabby's tc slot on both hooks, whoever attached it
   * (cleanup after an agent that is gone). Returns how many filters were removed.
   */
  static async detach(target: BpfEncapTarget): Promise<number> {
    return detachTcSlot(target, slot(target));
  }

  /**
   * Loads encap.bpf.o with this node's values, writes the given entries and realms
   * into its maps, then attaches it to both hooks of `ifname` at Tabby's tc slot,
   * replacing (never duplicating) a program already there.
   */
  async load(opts: BpfEncapLoadOptions): Promise<void> {
    if (this.handle !== undefined) throw new ValidationError('load', 'already loaded: close() or release() first');
    const globals = encapGlobals(opts);
    const tc = slot(opts);
    const entries = [...(opts.entries ?? [])];
    const realms = [...(opts.realms ?? [])];
    const desired = encodeEncapState(entries, opts.vtepMac !== undefined, realms);
    // Before anything is attached: a wrong interface must not displace a working program.
    if (opts.ifindex) {
      const link = (await linkList(ns(opts.netns))).find((l) => l.name === opts.ifname);
      if (link?.index !== opts.ifindex) {
        throw new ValidationError('ifindex', `is ${opts.ifindex}, but ${opts.ifname} has ifindex ${link?.index ?? 'none'}`);
      }
    }
    const handle = await bpfObjectLoad(bpfObjectPath(ENCAP_OBJECT), { globals });
    this.handle = handle;
    this.opts = { ...opts, entries, realms };
    this.entries = entries;
    this.realmEntries = realms;
    this.desired = desired;
    try {
      await this.applyNow({ prune: false });
      await attachTcSlot(handle, ENCAP_PROGRAMS, opts, tc, this.filters);
    } catch (err) {
      // A filter already replaced runs this object with its full state: leave it.
      await this.release().catch(() => undefined);
      throw err;
    }
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
   * Declares entries and/or realms (what is left out stays as declared before), then
   * applies. The peers allowed to send tunnel packets here are the remote nodes of
   * both. An invalid list throws here and changes nothing.
   */
  async setState(
    state: { entries?: readonly EncapEntry[]; realms?: readonly RealmEntry[] }, opts: EncapApplyOptions = {},
  ): Promise<EncapApplyResult> {
    const load = this.requireLoaded();
    const entries = state.entries ? [...state.entries] : this.entries;
    const realms = state.realms ? [...state.realms] : this.realmEntries;
    const encoded = encodeEncapState(entries, load.vtepMac !== undefined, realms);
    return this.serial(() => {
      this.entries = entries;
      this.realmEntries = realms;
      this.desired = encoded;
      return this.applyNow(opts);
    });
  }

  /**
   * Brings the maps to the declared state, comparing with the keys the kernel's maps
   * hold (mapKeys): missing or different entries are written, undeclared ones deleted.
   * Safe to call periodically as a resync.
   */
  async apply(opts: EncapApplyOptions = {}): Promise<EncapApplyResult> {
    this.requireLoaded();
    return this.serial(() => this.applyNow(opts));
  }

  /** Encapsulated/decapsulated and passed-through packet counts, summed over CPUs. */
  async counters(): Promise<Record<EncapCounterName, Counter>> {
    return this.readSlots('counters', ENCAP_COUNTERS);
  }

  /** Dropped packets by reason, summed over CPUs. */
  async drops(): Promise<Record<DropReason, Counter>> {
    return this.readSlots('drops', DROP_REASONS);
  }

  /**
   * Frees this process's handle on the object and leaves the programs attached with
   * their maps: what an agent does on shutdown, so packets keep flowing until its
   * successor takes over. Idempotent.
   */
  async release(): Promise<void> {
    await this.queue.catch(() => undefined);
    const h = this.handle;
    this.handle = undefined;
    this.filters = {};
    this.opts = undefined;
    this.entries = [];
    this.realmEntries = [];
    this.desired = EMPTY_STATE();
    if (h !== undefined) await bpfObjectClose(h);
  }

  /**
   * Detaches both programs (unless a successor has replaced them: its filters stay)
   * and frees the object with its maps. Idempotent.
   */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    // The clsact qdisc stays: other programs (NAT) may share it, and it is harmless empty.
    await detachTcFilters(this.opts, this.filters, errors);
    await this.release().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  private requireLoaded(): BpfEncapLoadOptions {
    if (this.handle === undefined || this.opts === undefined) throw new ValidationError('load', 'not loaded');
    return this.opts;
  }

  // One apply at a time: two overlapping diffs could otherwise undo each other.
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(opts: EncapApplyOptions): Promise<EncapApplyResult> {
    const handle = this.handle;
    if (handle === undefined) throw new ValidationError('load', 'closed while applying');
    const result: EncapApplyResult = { added: 0, updated: 0, removed: 0 };
    const present = new Map<string, Set<string>>();
    for (const [, map] of ENCAP_STATE_MAPS) {
      present.set(map, new Set((await mapKeys(handle, map)).map((k) => k.toString('hex'))));
    }
    // Peers first: a node may start sending to us as soon as we route to it; realms
    // and blocks before the routes that use them (the caller adds those afterwards).
    for (const [part, map] of ENCAP_STATE_MAPS) {
      const count = part !== 'peers';
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
        if (gone && part !== 'peers') result.removed++;
      }
    }
    return result;
  }

  private async readSlots<N extends string>(map: string, names: readonly N[]): Promise<Record<N, Counter>> {
    const handle = this.handle;
    if (handle === undefined) throw new ValidationError('load', 'not loaded');
    const out = {} as Record<N, Counter>;
    for (const [i, name] of names.entries()) {
      out[name] = (await readCounters(handle, map, i)) ?? { packets: 0n, bytes: 0n };
    }
    return out;
  }
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

/** The `const volatile` globals of encap.bpf.c for these options. */
export function encapGlobals(opts: BpfEncapLoadOptions): Record<string, Buffer | number> {
  if (typeof opts !== 'object' || opts === null) throw new ValidationError('options', 'must be an object');
  const vni = opts.vxlanVNI ?? DEFAULT_VXLAN_VNI;
  const port = opts.vxlanPort ?? DEFAULT_VXLAN_PORT;
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new ValidationError('vxlanVNI', 'must be an integer from 0 to 16777215');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError('vxlanPort', 'must be an integer from 1 to 65535');
  const ifindex = opts.ifindex ?? 0;
  if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 0x7fffffff) throw new ValidationError('ifindex', 'must be a positive integer');
  checkTcSlot(slot(opts));
  const nodeIP = ipv4Bytes('nodeIP', opts.nodeIP);
  if (nodeIP.every((b) => b === 0)) throw new ValidationError('nodeIP', 'must not be 0.0.0.0');
  const globals: Record<string, Buffer | number> = {
    node_ip: nodeIP,
    host_ifindex: ifindex,
    vxlan_vni: vni,
    vxlan_port: port,
    check_peers: opts.checkPeers === false ? 0 : 1,
  };
  if (opts.vtepMac !== undefined) {
    globals.vtep_mac = macBytes('vtepMac', opts.vtepMac);
    globals.vxlan_enabled = 1;
  }
  return globals;
}
