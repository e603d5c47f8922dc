// IPIP and VXLAN without tunnel devices: bpf/encap.bpf.c on the host interface's
// tc hooks. Load it once per interface, declare the remote blocks with setEntries(),
// and the map is brought to exactly that set. The kernel routes for those blocks
// (tunnelRoute()) are the routes reconciler's; this class only owns the programs
// and their maps.

import { ValidationError } from '../../errors.js';
import {
  bpfObjectClose,
  bpfObjectLoad,
  bpfObjectPath,
  mapDelete,
  mapLookup,
  mapUpdate,
  tcAttach,
  tcDetach,
  type BpfObjectHandle,
  type TcDirection,
  type TcFilter,
} from '../../native/addon.js';
import { readCounters, type Counter } from '../../native/counters.js';
import {
  DROP_REASONS,
  ENCAP_COUNTERS,
  encodeEncapState,
  ipv4Bytes,
  macBytes,
  type DropReason,
  type EncapCounterName,
  type EncapEntry,
  type EncodedEncapState,
} from './encap-map-codec.js';

export const ENCAP_OBJECT = 'encap';
export const ENCAP_PROGRAMS = { egress: 'tabby_encap_egress', ingress: 'tabby_encap_ingress' } as const;
const ROUTES_MAP = 'encap_routes';
const PEERS_MAP = 'encap_peers';

/** Calico's defaults. */
export const DEFAULT_VXLAN_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

export interface BpfEncapLoadOptions {
  /** The host (underlay) interface, e.g. `eth0`. */
  ifname: string;
  /** Namespace under /var/run/netns holding the interface; absent: this process's. */
  netns?: string;
  /** This node's underlay IPv4 address: outer source, and what decapsulation accepts. */
  nodeIP: string;
  /**
   * The interface's ifindex. When given, the programs ignore packets of any other
   * interface, and load() checks the attach landed on it; 0 or absent: no check.
   */
  ifindex?: number;
  /**
   * This node's VTEP MAC (Node.spec.vxlanTunnelMACAddr, else `vtepMac(nodeName)`).
   * Without it the programs leave VXLAN alone in both directions.
   */
  vtepMac?: string;
  vxlanVNI?: number;
  vxlanPort?: number;
  /** Decapsulate only from nodes named in the entries (default true). */
  checkPeers?: boolean;
  /** tc filter priority for both programs (default: let the kernel pick). */
  priority?: number;
}

export interface EncapApplyResult {
  added: number;
  updated: number;
  removed: number;
}

type Filters = Partial<Record<TcDirection, TcFilter>>;

export class BpfEncap {
  private handle: BpfObjectHandle | undefined;
  private filters: Filters = {};
  private opts: BpfEncapLoadOptions | undefined;
  private desired: EncodedEncapState = { routes: new Map(), peers: new Map() };
  /** Keys this instance wrote. The maps are private to its object, so that is all they hold. */
  private written = { routes: new Map<string, Buffer>(), peers: new Map<string, Buffer>() };
  private queue: Promise<unknown> = Promise.resolve();

  get loaded(): boolean {
    return this.handle !== undefined;
  }

  /** The ifindex tc attached to (after load). */
  get ifindex(): number | undefined {
    return this.filters.egress?.ifindex;
  }

  /** Loads encap.bpf.o with this node's values and attaches it to both hooks of `ifname`. */
  async load(opts: BpfEncapLoadOptions): Promise<void> {
    if (this.handle !== undefined) throw new ValidationError('load', 'already loaded: close() first');
    const globals = encapGlobals(opts);
    const handle = await bpfObjectLoad(bpfObjectPath(ENCAP_OBJECT), { globals });
    this.handle = handle;
    this.opts = { ...opts };
    try {
      for (const direction of ['ingress', 'egress'] as const) {
        const a: Parameters<typeof tcAttach>[0] = { handle, program: ENCAP_PROGRAMS[direction], ifname: opts.ifname, direction };
        if (opts.netns !== undefined) a.netns = opts.netns;
        if (opts.priority !== undefined) a.priority = opts.priority;
        this.filters[direction] = await tcAttach(a);
      }
      const at = this.filters.egress!.ifindex;
      if (opts.ifindex && at !== opts.ifindex) {
        throw new ValidationError('ifindex', `is ${opts.ifindex}, but ${opts.ifname} has ifindex ${at}`);
      }
    } catch (err) {
      await this.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Declares the complete set of remote blocks to tunnel to, then applies it. The
   * peers allowed to send tunnel packets here are the entries' remote nodes.
   */
  async setEntries(desired: readonly EncapEntry[]): Promise<EncapApplyResult> {
    const opts = this.requireLoaded();
    // Validate before queueing, so a bad list throws here and changes nothing.
    const encoded = encodeEncapState(desired, opts.vtepMac !== undefined);
    return this.serial(() => {
      this.desired = encoded;
      return this.applyNow();
    });
  }

  /**
   * Brings the maps to the declared state: each desired key is read back from the
   * kernel and rewritten if missing or different, keys no longer desired are deleted.
   * Safe to call periodically as a resync.
   */
  async apply(): Promise<EncapApplyResult> {
    this.requireLoaded();
    return this.serial(() => this.applyNow());
  }

  /** Encapsulated/decapsulated and passed-through packet counts, summed over CPUs. */
  async counters(): Promise<Record<EncapCounterName, Counter>> {
    return this.readSlots('counters', ENCAP_COUNTERS);
  }

  /** Dropped packets by reason, summed over CPUs. */
  async drops(): Promise<Record<DropReason, Counter>> {
    return this.readSlots('drops', DROP_REASONS);
  }

  /** Detaches both programs and frees the object with its maps. Idempotent. */
  async close(): Promise<void> {
    const opts = this.opts;
    const errors: unknown[] = [];
    for (const direction of ['egress', 'ingress'] as const) {
      const f = this.filters[direction];
      if (!f || !opts) continue;
      const d: Parameters<typeof tcDetach>[0] = { ifname: opts.ifname, direction, priority: f.priority, handle: f.handle };
      if (opts.netns !== undefined) d.netns = opts.netns;
      try {
        await tcDetach(d);
      } catch (err) {
        errors.push(err);
      }
      delete this.filters[direction];
    }
    // The clsact qdisc stays: other programs (NAT) may share it, and it is harmless empty.
    if (this.handle !== undefined) {
      const h = this.handle;
      this.handle = undefined;
      await bpfObjectClose(h).catch((err: unknown) => errors.push(err));
    }
    this.written = { routes: new Map(), peers: new Map() };
    this.desired = { routes: new Map(), peers: new Map() };
    this.opts = undefined;
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

  private async applyNow(): Promise<EncapApplyResult> {
    const handle = this.handle;
    if (handle === undefined) throw new ValidationError('load', 'closed while applying');
    const result: EncapApplyResult = { added: 0, updated: 0, removed: 0 };
    // Peers first: a node may start sending to us as soon as we route to it.
    await syncMap(handle, PEERS_MAP, this.desired.peers, this.written.peers, result, false);
    await syncMap(handle, ROUTES_MAP, this.desired.routes, this.written.routes, result, true);
    await removeStale(handle, ROUTES_MAP, this.desired.routes, this.written.routes, result, true);
    await removeStale(handle, PEERS_MAP, this.desired.peers, this.written.peers, result, false);
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

async function syncMap(
  handle: BpfObjectHandle, map: string, desired: EncodedEncapState['routes'], written: Map<string, Buffer>,
  result: EncapApplyResult, count: boolean,
): Promise<void> {
  for (const [hex, { key, value }] of desired) {
    const cur = await mapLookup(handle, map, key);
    if (cur && cur.value.equals(value)) {
      written.set(hex, key);
      continue;
    }
    await mapUpdate(handle, map, key, value);
    written.set(hex, key);
    if (count) {
      if (cur) result.updated++;
      else result.added++;
    }
  }
}

async function removeStale(
  handle: BpfObjectHandle, map: string, desired: EncodedEncapState['routes'], written: Map<string, Buffer>,
  result: EncapApplyResult, count: boolean,
): Promise<void> {
  for (const [hex, key] of written) {
    if (desired.has(hex)) continue;
    const gone = await mapDelete(handle, map, key);
    written.delete(hex);
    if (count && gone) result.removed++;
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
