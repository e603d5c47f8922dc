// The one owner of Tabby's tc slot on a host interface. It loads bpf/host.bpf.o with
// the features switched on (encapsulation, natOutgoing SNAT), lets each feature fill
// the fresh object's maps, and only then attaches both programs at a fixed
// priority:handle, replacing what was there in one step per hook (BPF_TC_F_REPLACE).
// A restarted agent takes over from its predecessor's program that way, and so does
// this one when a feature is switched on or a load-time value changes: nothing is
// detached first, so no packet passes unprocessed, and there is never a second filter.
// With a pin root (host-pins.ts) the maps live on bpffs: a successor of the same layout
// loads its programs on the very same maps (nothing is copied), one of another layout
// copies the state once from the program in the slot.

import { mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import { NetlinkError, ValidationError } from '../../errors.js';
import { bpfObjectClose, bpfObjectLoad, bpfObjectPinPrograms, type BpfGlobalValue, type BpfObjectHandle } from '../../native/bpf-objects.js';
import { linkList } from '../../native/links.js';
import { tcAttach, tcDetach, tcQuery, type TcDirection, type TcFilter } from '../../native/tc.js';
import { bpfObjectPath } from './object-path.js';
import { hostPins, removePins, type HostPins } from './host-pins.js';

export const HOST_OBJECT = 'host';
/** Cilium's to-netdev (leaving through the interface) and from-netdev (arriving on it), in 15 characters. */
export const HOST_PROGRAMS = { ingress: 'tabby_from_dev', egress: 'tabby_to_dev' } as const satisfies Record<TcDirection, string>;
/** Tabby's fixed tc slot on both hooks: fixed, so a successor replaces the filter instead of adding one. */
export const HOST_TC_PRIORITY = 10;
export const HOST_TC_HANDLE = 0x7ab;

const DIRECTIONS = ['ingress', 'egress'] as const;
const ATTACH_ORDER = ['egress', 'ingress'] as const;

export interface HostTarget {
  /** The host interface, e.g. `eth0`. */
  ifname: string;
  /** Namespace under /var/run/netns holding the interface; absent: this process's. */
  netns?: string;
  /** When given, the programs ignore other interfaces and load() refuses another index. */
  ifindex?: number;
  /** tc priority of both filters (default HOST_TC_PRIORITY). */
  priority?: number;
  /** tc handle of both filters (default HOST_TC_HANDLE). */
  filterHandle?: number;
  /** bpffs directory for the maps and programs (host-pins.ts); absent: nothing pinned, state copied on takeover. */
  pinRoot?: string;
  /** The maps' layout version (default hostMapsVersion()); tests set another to see a migration. */
  mapsVersion?: string;
}

/** The raw entries of the named maps of the program in the slot. */
export interface SlotState {
  progId: number;
  /** The fresh object reuses the program's pinned maps: their content is already there. */
  reused?: boolean;
  maps: Record<string, Array<{ key: Buffer; value: Buffer }>>;
}

/** A step of the host programs, with its maps: BpfEncap, BpfSnat. */
export interface HostFeature {
  /** Its load-time globals, its enable_ switch among them. */
  globals(): Record<string, BpfGlobalValue>;
  /** Maps a successor takes over. */
  readonly stateMaps: readonly string[];
  /** Those of stateMaps that are not read when the maps are reused (conntrack: large). */
  readonly bulkMaps?: readonly string[];
  /** Validates and settles what it will write, before anything is loaded; may throw. */
  prepare(prev: SlotState | null): Promise<void>;
  /** Writes its state into the fresh object before it is attached. */
  fill(handle: BpfObjectHandle, prev: SlotState | null): Promise<void>;
}

type Filters = Partial<Record<TcDirection, TcFilter>>;

function nsOpt(netns: string | undefined): { netns?: string } {
  return netns === undefined ? {} : { netns };
}

/** The target's slot, checked: priority 1..65535 and a non-zero u32 handle. */
export function hostSlot(t: HostTarget): { priority: number; handle: number } {
  const priority = t.priority ?? HOST_TC_PRIORITY;
  const handle = t.filterHandle ?? HOST_TC_HANDLE;
  if (!Number.isInteger(priority) || priority < 1 || priority > 0xffff) throw new ValidationError('priority', 'must be an integer from 1 to 65535');
  if (!Number.isInteger(handle) || handle < 1 || handle > 0xffffffff) throw new ValidationError('filterHandle', 'must be a non-zero u32');
  return { priority, handle };
}

export class HostProgram {
  readonly target: Readonly<HostTarget>;
  private handle: BpfObjectHandle | undefined;
  private filters: Filters = {};
  private on: readonly HostFeature[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(target: HostTarget) {
    if (typeof target !== 'object' || target === null) throw new ValidationError('target', 'must be an object');
    hostSlot(target);
    const ifindex = target.ifindex ?? 0;
    if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 0x7fffffff) throw new ValidationError('ifindex', 'must be a positive integer');
    if (target.pinRoot !== undefined && !/^\/[^\0]*[^/]$/.test(target.pinRoot)) throw new ValidationError('pinRoot', 'must be an absolute directory path');
    if (target.mapsVersion !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(target.mapsVersion)) throw new ValidationError('mapsVersion', 'must be a plain name');
    this.target = { ...target };
  }

  /**
   * The program in the target's slot and the entries of the named maps it uses, or
   * null when the slot is empty or holds another program.
   */
  static async previous(target: HostTarget, maps: readonly string[]): Promise<SlotState | null> {
    const q = await tcQuery({ ifname: target.ifname, direction: 'egress', ...nsOpt(target.netns), ...hostSlot(target), maps: [...maps] });
    if (!q || q.progName !== HOST_PROGRAMS.egress.slice(0, 15)) return null;
    return { progId: q.progId, maps: q.maps };
  }

  /**
   * Removes whatever sits in the slot on both hooks, whoever attached it (cleanup after
   * an agent that is gone), and the pins under the target's pin root. Returns how many
   * filters were removed.
   */
  static async detach(target: HostTarget): Promise<number> {
    let n = 0;
    for (const direction of DIRECTIONS) {
      try {
        if (await tcDetach({ ifname: target.ifname, direction, ...nsOpt(target.netns), ...hostSlot(target) })) n++;
      } catch (err) {
        // ENOENT: no such filter; EINVAL: no clsact qdisc at all.
        if (err instanceof NetlinkError && (err.errno === constants.errno.ENOENT || err.errno === constants.errno.EINVAL)) continue;
        throw err;
      }
    }
    if (target.pinRoot !== undefined) removePins(target.pinRoot);
    return n;
  }

  get loaded(): boolean {
    return this.handle !== undefined;
  }

  /** The object's handle; throws when not loaded (or closed meanwhile). */
  requireObject(): BpfObjectHandle {
    if (this.handle === undefined) throw new ValidationError('load', 'not loaded');
    return this.handle;
  }

  /** The filters this instance attached, with their program ids. */
  get attached(): Readonly<Filters> {
    return { ...this.filters };
  }

  /** The ifindex tc attached to (after load). */
  get ifindex(): number | undefined {
    return this.filters.egress?.ifindex;
  }

  /** The features of the loaded object. */
  get features(): readonly HostFeature[] {
    return this.on;
  }

  /** Switches one more feature on: load() with it added. */
  add(feature: HostFeature): Promise<void> {
    return this.load([...this.on.filter((f) => f !== feature), feature]);
  }

  /** Loads again with the same features, e.g. after a load-time value changed. */
  reload(): Promise<void> {
    return this.load(this.on);
  }

  /**
   * Loads a fresh object with `features` switched on, has each fill its maps (taking
   * over from the program in the slot, which may be a predecessor's or this
   * instance's own), then attaches it in the slot and lets go of the old object.
   * Runs after any map writes already queued, and holds back those made meanwhile.
   */
  load(features: readonly HostFeature[]): Promise<void> {
    return this.serial(() => this.loadNow(features));
  }

  /** Runs `fn` after every load and map write queued before it: one at a time. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
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
    this.on = [];
    if (h !== undefined) await bpfObjectClose(h);
  }

  /**
   * Detaches both programs (unless a successor has replaced them: its filters stay)
   * and frees the object with its maps, unpinning them when it still owned the slot.
   * The clsact qdisc stays: it is harmless empty. Idempotent.
   */
  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    const errors: unknown[] = [];
    let owned = false;
    for (const direction of ['egress', 'ingress'] as const) {
      const f = this.filters[direction];
      if (!f) continue;
      try {
        if (await tcDetach({ ifname: this.target.ifname, direction, ...nsOpt(this.target.netns), priority: f.priority, handle: f.handle, progId: f.progId })) owned = true;
      } catch (err) {
        errors.push(err);
      }
      delete this.filters[direction];
    }
    if (owned && this.target.pinRoot !== undefined) removePins(this.target.pinRoot);
    await this.release().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  private async loadNow(features: readonly HostFeature[]): Promise<void> {
    const t = this.target;
    const slot = hostSlot(t);
    // Before anything is attached: a wrong interface must not displace a working program.
    if (t.ifindex) {
      const link = (await linkList(nsOpt(t.netns))).find((l) => l.name === t.ifname);
      if (link?.index !== t.ifindex) throw new ValidationError('ifindex', `is ${t.ifindex}, but ${t.ifname} has ifindex ${link?.index ?? 'none'}`);
    }
    const pins = t.pinRoot === undefined ? undefined : await hostPins(t.pinRoot, t.mapsVersion);
    // Reused maps already hold the conntrack: it is not even read.
    const bulk = new Set(pins?.reuse ? features.flatMap((f) => f.bulkMaps ?? []) : []);
    const wanted = [...new Set(features.flatMap((f) => f.stateMaps))].filter((m) => !bulk.has(m));
    const found = await HostProgram.previous(t, wanted);
    const prev = found && pins?.reuse ? { ...found, reused: true } : found;
    for (const f of features) await f.prepare(prev);
    const globals: Record<string, BpfGlobalValue> = { host_ifindex: t.ifindex ?? 0 };
    for (const f of features) Object.assign(globals, f.globals());
    if (pins) mkdirSync(pins.mapsDir, { recursive: true });
    let fresh: BpfObjectHandle;
    try {
      fresh = await bpfObjectLoad(bpfObjectPath(HOST_OBJECT), { globals, ...(pins ? { pinDir: pins.mapsDir } : {}) });
    } catch (err) {
      if (pins && !pins.reuse) removePins(pins.mapsDir);
      throw err;
    }
    const filters: Filters = {};
    try {
      for (const f of features) await f.fill(fresh, prev);
      // Egress first: from then on new flows are created in the fresh maps only, so
      // the state copied into them stops going stale before the replies move over.
      for (const direction of ATTACH_ORDER) {
        filters[direction] = await tcAttach({
          handle: fresh, program: HOST_PROGRAMS[direction], ifname: t.ifname, direction, ...nsOpt(t.netns),
          priority: slot.priority, filterHandle: slot.handle, replace: true,
        });
      }
    } catch (err) {
      // A hook already replaced runs the fresh object with its full state: it stays
      // attached, and closing the handle leaves the kernel's reference.
      if (filters.egress) await this.adopt(fresh, filters).catch(() => undefined);
      else {
        await bpfObjectClose(fresh).catch(() => undefined);
        if (pins && !pins.reuse) removePins(pins.mapsDir);
      }
      throw err;
    }
    await this.adopt(fresh, filters);
    this.on = [...features];
    if (pins) await this.settlePins(fresh, pins);
  }

  // The programs now attached are the pinned ones; maps of an older layout have been
  // migrated and go (their programs were replaced: nothing uses them any more).
  private async settlePins(fresh: BpfObjectHandle, pins: HostPins): Promise<void> {
    await bpfObjectPinPrograms(fresh, pins.progsDir);
    for (const dir of pins.stale) removePins(dir);
  }

  private async adopt(fresh: BpfObjectHandle, filters: Filters): Promise<void> {
    const old = this.handle;
    this.handle = fresh;
    this.filters = filters;
    if (old !== undefined && old !== fresh) await bpfObjectClose(old);
  }
}
