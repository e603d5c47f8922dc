// natOutgoing in eBPF mode: bpf/snat.bpf.c on the host interface's tc hooks does the
// SNAT itself (conntrack, NAT ports, reverse translation). Load it once per interface,
// declare the pools with setPools() and apply(): the pool tries are brought to exactly
// that set. The node address, port range, timeouts and hash seed live in a map, so
// they change without a reload (setConfig()).
//
// Restart without a gap: load() finds the program a previous agent left at Tabby's
// fixed tc slot, copies its configuration, pools and conntrack into a fresh object,
// and only then replaces the filters in place, so translated flows keep their NAT
// ports and flows opened from outside stay untranslated. release() is what an agent
// does on shutdown (programs stay attached), close() removes them.

import { randomInt } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import { mapDelete, mapKeys, mapLookup, mapUpdate } from '../../native/bpf-maps.js';
import { bpfObjectClose, type BpfObjectHandle, bpfObjectLoad } from '../../native/bpf-objects.js';
import { linkList } from '../../native/links.js';
import { tcQuery } from '../../native/tc.js';
import { bpfObjectPath } from '../bpf/object-path.js';
import { BPF_LAYOUTS } from '../bpf/layouts.js';
import { type Counter, readCounters } from '../bpf/counters.js';
import { run } from '../../util/exec.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { natSets, type NatPool } from './nat-pools.js';
import type { NatApplyResult, NatDataplane } from './nat-dataplane.js';
import {
  checkPortRange, decodeConfig, decodeCtEntry, DEFAULT_NAT_PORT_RANGE, encodeConfig, encodePoolMaps, origKey, overlapsLocalRange,
  passKey, POOL_VALUE, replyKey, SNAT_COUNTERS, SNAT_DROP_REASONS, SNAT_MAPS, type PortRange, type SnatConfig,
  type SnatCounterName, type SnatCtEntry, type SnatDropReason, type SnatFlow, type SnatTimeouts,
} from './snat-codec.js';
import {
  attachTcSlot, checkTcSlot, detachTcFilters, detachTcSlot, nsOpt as ns, tcSlot, type TcFilters as Filters, type TcSlot, type TcSlotTarget,
} from '../tc-slot.js';

export const SNAT_OBJECT = 'snat';
export const SNAT_PROGRAMS = { egress: 'tabby_snat_egress', ingress: 'tabby_snat_ingress' } as const;

/**
 * Tabby's fixed tc slot for snat.bpf.c on both hooks: fixed so a new agent replaces
 * the old filter instead of adding a second one. tc runs filters in priority order and
 * a filter's TC_ACT_OK ends the chain, so SNAT (which returns TC_ACT_UNSPEC for what it
 * passes) must come before encap.bpf.c (which returns TC_ACT_OK): encap is at 20.
 */
export const SNAT_TC_PRIORITY = 10;
export const SNAT_TC_HANDLE = 0x7ac;

/** The maps load() carries over from a previous program: configuration and state. */
const POOL_MAPS = [SNAT_MAPS.pools4, SNAT_MAPS.pools6, SNAT_MAPS.masq4, SNAT_MAPS.masq6] as const;
const STATE_MAPS = [SNAT_MAPS.config, ...POOL_MAPS, SNAT_MAPS.ct];
/** Conntrack entries written at once while copying (the addon's workers run them). */
const COPY_CONCURRENCY = 32;

/**
 * The host's outward interface, e.g. `eth0`, its namespace, and the tc slot of both
 * programs (default SNAT_TC_PRIORITY, SNAT_TC_HANDLE).
 */
export type BpfSnatTarget = TcSlotTarget;

export interface BpfSnatLoadOptions extends BpfSnatTarget {
  /**
   * IPv4 source address after SNAT (the node's address on `ifname`). nodeIP or nodeIP6
   * is required, unless a previous program at the slot has one.
   */
  nodeIP?: string;
  /** IPv6 source address after SNAT; without it IPv6 natOutgoing traffic is dropped (noNodeIp). */
  nodeIP6?: string;
  /** NAT ports and ICMP echo identifiers (default: the previous program's, else 61000–65535). */
  portRange?: PortRange;
  /** Idle timeouts in seconds (default: the previous program's, else DEFAULT_SNAT_TIMEOUTS). */
  timeouts?: Partial<SnatTimeouts>;
  /**
   * Refuse a port range that overlaps the namespace's net.ipv4.ip_local_port_range
   * (default true): the node's own connections could then collide with NAT ports.
   */
  checkLocalPortRange?: boolean;
  /** When given, the programs ignore packets of other interfaces, and load() refuses another index. */
  ifindex?: number;
  /** Seed of the NAT port hash (default: the previous program's, else random). */
  hashSeed?: number;
  /** Take over the configuration, pools and conntrack of a program at the slot (default true). */
  adopt?: boolean;
  logger?: Logger;
}

export interface SnatConfigUpdate {
  nodeIP?: string;
  nodeIP6?: string;
  portRange?: PortRange;
  timeouts?: Partial<SnatTimeouts>;
}

export interface BpfSnatApplyResult extends NatApplyResult {
  /** Pool trie entries written. */
  added: number;
  removed: number;
  /** The config entry was missing or different. */
  configWritten: boolean;
}

/** What the program at Tabby's tc slot holds: a previous agent's state, to take over. */
export interface PreviousSnat {
  progId: number;
  /** Null when the entry is missing or does not decode (another layout). */
  config: SnatConfig | null;
  /** Pool trie keys by map name. */
  pools: Map<string, Buffer[]>;
  /** Conntrack entries (ORIG, REPLY and PASS), raw; empty when their layout differs. */
  ct: Array<{ key: Buffer; value: Buffer }>;
}

/** What load() took over. */
export interface SnatAdoption {
  progId: number;
  config: boolean;
  pools: number;
  ct: number;
}

function slot(t: BpfSnatTarget): TcSlot {
  const s = tcSlot(t, { priority: SNAT_TC_PRIORITY, handle: SNAT_TC_HANDLE });
  checkTcSlot(s);
  return s;
}

export class BpfSnat implements NatDataplane {
  readonly mode = 'bpf' as const;
  private handle: BpfObjectHandle | undefined;
  private filters: Filters = {};
  private opts: BpfSnatLoadOptions | undefined;
  private config: SnatConfigUpdate = {};
  private seed = 0;
  private desired = encodePoolMaps(natSets([]));
  private adoption: SnatAdoption | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private log: Logger = silentLogger;

  get loaded(): boolean {
    return this.handle !== undefined;
  }

  /** The seed the port hash uses (for portCandidates()). */
  get hashSeed(): number {
    return this.seed;
  }

  get portRange(): PortRange {
    return this.config.portRange ?? DEFAULT_NAT_PORT_RANGE;
  }

  /** The filters attached (priority, handle and program id per direction), for inspection. */
  get attached(): Readonly<Filters> {
    return { ...this.filters };
  }

  /** What load() took over from a previous program, if there was one. */
  get adopted(): Readonly<SnatAdoption> | undefined {
    return this.adoption;
  }

  /**
   * Reads what the program now in Tabby's egress slot holds, or null when there is
   * none (or it is not snat.bpf.o's). `ct: false` leaves the conntrack out.
   */
  static async previous(target: BpfSnatTarget, opts: { ct?: boolean } = {}): Promise<PreviousSnat | null> {
    const maps = opts.ct === false ? STATE_MAPS.filter((m) => m !== SNAT_MAPS.ct) : STATE_MAPS;
    const q = await tcQuery({ ifname: target.ifname, direction: 'egress', ...ns(target.netns), ...slot(target), maps });
    if (!q || q.progName !== SNAT_PROGRAMS.egress.slice(0, 15)) return null;
    let config: SnatConfig | null = null;
    const cfg = q.maps[SNAT_MAPS.config]?.[0];
    try {
      if (cfg) config = decodeConfig(cfg.value);
    } catch {
      config = null; // an older layout: the new agent's options decide
    }
    const pools = new Map<string, Buffer[]>();
    for (const map of POOL_MAPS) {
      const size = map.endsWith('4') ? BPF_LAYOUTS.snat_lpm4_key.size : BPF_LAYOUTS.snat_lpm6_key.size;
      pools.set(map, (q.maps[map] ?? []).map((e) => e.key).filter((k) => k.length === size));
    }
    const ct = (q.maps[SNAT_MAPS.ct] ?? []).filter((e) => ctEntryFits(e));
    return { progId: q.progId, config, pools, ct };
  }

  /**
   * Removes whatever program sits in Tabby's tc slot on both hooks, whoever attached it
   * (cleanup after an agent that is gone). Returns how many filters were removed.
   */
  static async detach(target: BpfSnatTarget): Promise<number> {
    return detachTcSlot(target, slot(target));
  }

  /**
   * Loads snat.bpf.o, fills its maps (from a previous program at the slot, if any,
   * overridden by the options given), then attaches it to both hooks of `ifname` at
   * Tabby's tc slot, replacing (never duplicating) a program already there.
   */
  async load(opts: BpfSnatLoadOptions): Promise<void> {
    if (this.handle !== undefined) throw new ValidationError('load', 'already loaded: close() or release() first');
    if (typeof opts !== 'object' || opts === null) throw new ValidationError('options', 'must be an object');
    const tc = slot(opts);
    const ifindex = opts.ifindex ?? 0;
    if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 0x7fffffff) throw new ValidationError('ifindex', 'must be a positive integer');
    // Before anything is attached: a wrong interface must not displace a working program.
    if (ifindex) {
      const link = (await linkList(ns(opts.netns))).find((l) => l.name === opts.ifname);
      if (link?.index !== ifindex) throw new ValidationError('ifindex', `is ${ifindex}, but ${opts.ifname} has ifindex ${link?.index ?? 'none'}`);
    }
    this.adoption = undefined;
    const prev = opts.adopt === false ? null : await BpfSnat.previous(opts);
    const base = prev?.config ?? undefined;
    const config: SnatConfigUpdate = { portRange: checkPortRange(opts.portRange ?? base?.portRange ?? DEFAULT_NAT_PORT_RANGE) };
    const nodeIP = opts.nodeIP ?? base?.nodeIP;
    const nodeIP6 = opts.nodeIP6 ?? base?.nodeIP6;
    if (nodeIP === undefined && nodeIP6 === undefined) throw new ValidationError('nodeIP', 'nodeIP or nodeIP6 is required');
    if (nodeIP !== undefined) config.nodeIP = nodeIP;
    if (nodeIP6 !== undefined) config.nodeIP6 = nodeIP6;
    if (base !== undefined || opts.timeouts !== undefined) config.timeouts = { ...base?.timeouts, ...opts.timeouts };
    const seed = opts.hashSeed ?? base?.hashSeed ?? randomInt(0, 0xffffffff);
    const configValue = encodeConfig({ ...config, hashSeed: seed }); // validates before anything is loaded
    if (opts.checkLocalPortRange !== false) await this.checkLocalRange(opts.netns, config.portRange!);

    this.log = (opts.logger ?? silentLogger).child({ component: 'nat', mode: 'bpf', ifname: opts.ifname });
    const handle = await bpfObjectLoad(bpfObjectPath(SNAT_OBJECT), { globals: { host_ifindex: ifindex } });
    this.handle = handle;
    this.opts = { ...opts };
    this.config = config;
    this.seed = seed;
    try {
      await mapUpdate(handle, SNAT_MAPS.config, configKey(), configValue);
      if (prev) this.adoption = await this.adopt(handle, prev);
      await attachTcSlot(handle, SNAT_PROGRAMS, opts, tc, this.filters);
    } catch (err) {
      // A filter already replaced runs this object with its full state: leave it.
      await this.release().catch(() => undefined);
      throw err;
    }
    this.log.info({ priority: tc.priority, portRange: config.portRange, adopted: this.adoption }, 'snat loaded');
  }

  /** Declares the complete set of pools; apply() writes the difference. */
  setPools(pools: readonly NatPool[]): void {
    this.requireLoaded();
    this.desired = encodePoolMaps(natSets(pools));
  }

  /**
   * Changes the node address, port range or timeouts at run time (fields left out
   * keep their value). Flows translated to an old address are re-translated on their
   * next packet; their replies to the old address no longer match.
   */
  async setConfig(update: SnatConfigUpdate): Promise<void> {
    const opts = this.requireLoaded();
    const next: SnatConfigUpdate = { ...this.config, ...update };
    if (next.portRange) {
      next.portRange = checkPortRange(next.portRange);
      if (update.portRange && opts.checkLocalPortRange !== false) await this.checkLocalRange(opts.netns, next.portRange);
    }
    const value = encodeConfig({ ...next, hashSeed: this.seed });
    await this.serial(async () => {
      await mapUpdate(this.handle!, SNAT_MAPS.config, configKey(), value);
      this.config = next;
    });
  }

  /**
   * Brings the pool tries (and the config entry) to the declared state, comparing with
   * the keys the kernel's tries hold (mapKeys): missing keys are written, undeclared
   * ones deleted. Until setPools(), the declared pools are those load() took over.
   * Safe to call periodically as a resync.
   */
  apply(): Promise<BpfSnatApplyResult> {
    this.requireLoaded();
    return this.serial(async () => {
      const handle = this.handle;
      if (handle === undefined) throw new ValidationError('load', 'closed while applying');
      let added = 0;
      let removed = 0;
      let configWritten = false;
      const cfg = encodeConfig({ ...this.config, hashSeed: this.seed });
      const cur = await mapLookup(handle, SNAT_MAPS.config, configKey());
      if (!cur || !cur.value.equals(cfg)) {
        await mapUpdate(handle, SNAT_MAPS.config, configKey(), cfg);
        configWritten = true;
      }
      // "All pools" before "natOutgoing pools" when adding, the reverse when removing,
      // so a destination is never briefly outside every pool while its pool changes.
      const present = new Map<string, Set<string>>();
      for (const map of POOL_MAPS) present.set(map, new Set((await mapKeys(handle, map)).map((k) => k.toString('hex'))));
      for (const map of POOL_MAPS) {
        const have = present.get(map)!;
        // The programs only ask whether a key is there, so presence is all that counts.
        for (const [hex, key] of this.desired.get(map) ?? []) {
          if (have.has(hex)) continue;
          await mapUpdate(handle, map, key, POOL_VALUE);
          added++;
        }
      }
      for (const map of [...POOL_MAPS].reverse()) {
        const want = this.desired.get(map) ?? new Map<string, Buffer>();
        for (const hex of present.get(map)!) {
          if (want.has(hex)) continue;
          if (await mapDelete(handle, map, Buffer.from(hex, 'hex'))) removed++;
        }
      }
      if (added || removed) this.log.info({ added, removed }, 'snat pools applied');
      return { changes: added + removed + (configWritten ? 1 : 0), added, removed, configWritten };
    });
  }

  /** Translated/reverse-translated packets and new flows, summed over CPUs. */
  async counters(): Promise<Record<SnatCounterName, Counter>> {
    return this.readSlots(SNAT_MAPS.counters, SNAT_COUNTERS);
  }

  /** Dropped packets by reason, summed over CPUs. */
  async drops(): Promise<Record<SnatDropReason, Counter>> {
    return this.readSlots(SNAT_MAPS.drops, SNAT_DROP_REASONS);
  }

  /**
   * The conntrack entries of one flow: its translation (ORIG) and, if that exists,
   * the REPLY entry holding its NAT port.
   */
  async lookupFlow(flow: SnatFlow): Promise<{ orig: SnatCtEntry | null; reply: SnatCtEntry | null }> {
    const handle = this.handle;
    if (handle === undefined) throw new ValidationError('load', 'not loaded');
    const family = flow.src.includes(':') ? 6 : 4;
    const o = await mapLookup(handle, SNAT_MAPS.ct, origKey(flow));
    const orig = o ? decodeCtEntry(o.value, family) : null;
    if (!orig) return { orig, reply: null };
    const r = await mapLookup(handle, SNAT_MAPS.ct, replyKey(flow, orig.address, orig.port));
    return { orig, reply: r ? decodeCtEntry(r.value, family) : null };
  }

  /** The PASS entry of a flow opened from outside (given as the remote sends it), or null. */
  async lookupInbound(flow: SnatFlow): Promise<SnatCtEntry | null> {
    const handle = this.handle;
    if (handle === undefined) throw new ValidationError('load', 'not loaded');
    const v = await mapLookup(handle, SNAT_MAPS.ct, passKey(flow));
    return v ? decodeCtEntry(v.value, flow.src.includes(':') ? 6 : 4) : null;
  }

  /**
   * Frees this process's handle on the object and leaves the programs attached with
   * their maps: what an agent does on shutdown, so packets keep being translated until
   * its successor takes over. Idempotent.
   */
  async release(): Promise<void> {
    await this.queue.catch(() => undefined);
    const h = this.handle;
    this.handle = undefined;
    this.filters = {};
    this.opts = undefined;
    this.desired = encodePoolMaps(natSets([]));
    if (h !== undefined) await bpfObjectClose(h);
  }

  /**
   * Detaches both programs (unless a successor has replaced them: its filters stay)
   * and frees the object with its maps. Idempotent.
   */
  async close(): Promise<void> {
    const opts = this.opts;
    const errors: unknown[] = [];
    await this.queue.catch(() => undefined);
    // The clsact qdisc stays: encap may share it, and it is harmless empty.
    await detachTcFilters(opts, this.filters, errors);
    const wasLoaded = this.handle !== undefined;
    await this.release().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
    if (wasLoaded) this.log.info('snat closed');
  }

  /**
   * Fills the fresh object's maps from the previous program's: pools (also the
   * declared set until setPools()), then conntrack twice, the second time only what
   * changed meanwhile, so what the old program created during a long first copy is
   * not lost. What it creates between the second read and the attach is: such a
   * flow's next outgoing packet re-creates it, on the same port as the seed is kept.
   */
  private async adopt(handle: BpfObjectHandle, prev: PreviousSnat): Promise<SnatAdoption> {
    const opts = this.opts!;
    let pools = 0;
    const desired = new Map<string, Map<string, Buffer>>();
    for (const map of POOL_MAPS) {
      const keys = new Map<string, Buffer>();
      for (const key of prev.pools.get(map) ?? []) {
        await mapUpdate(handle, map, key, POOL_VALUE);
        keys.set(key.toString('hex'), key);
        pools++;
      }
      desired.set(map, keys);
    }
    this.desired = desired;
    const copied = new Map<string, Buffer>();
    await eachLimit(prev.ct, COPY_CONCURRENCY, async ({ key, value }) => {
      await mapUpdate(handle, SNAT_MAPS.ct, key, value);
      copied.set(key.toString('hex'), value);
    });
    const again = await tcQuery({ ifname: opts.ifname, direction: 'egress', ...ns(opts.netns), ...slot(opts), maps: [SNAT_MAPS.ct] });
    let ct = copied.size;
    if (again && again.progId === prev.progId) {
      const now = new Set<string>();
      const changed = (again.maps[SNAT_MAPS.ct] ?? []).filter((e) => {
        if (!ctEntryFits(e)) return false;
        const hex = e.key.toString('hex');
        now.add(hex);
        const before = copied.get(hex);
        if (!before) ct++;
        return !before || !before.equals(e.value);
      });
      await eachLimit(changed, COPY_CONCURRENCY, ({ key, value }) => mapUpdate(handle, SNAT_MAPS.ct, key, value));
      // Gone from the old map meanwhile: evicted, or a port handed to another flow.
      const gone = [...copied.keys()].filter((hex) => !now.has(hex));
      await eachLimit(gone, COPY_CONCURRENCY, async (hex) => {
        await mapDelete(handle, SNAT_MAPS.ct, Buffer.from(hex, 'hex'));
        ct--;
      });
    }
    return { progId: prev.progId, config: prev.config !== null, pools, ct };
  }

  private async checkLocalRange(netns: string | undefined, range: PortRange): Promise<void> {
    const o: Parameters<typeof run>[1] = { allowFail: true, timeoutMs: 10_000 };
    if (netns !== undefined) o.netns = netns;
    const r = await run(['cat', '/proc/sys/net/ipv4/ip_local_port_range'], o);
    if (r.code !== 0) return;
    const local = overlapsLocalRange(range, r.stdout);
    if (local) {
      throw new ValidationError('portRange', `${range.min}-${range.max} overlaps the node's ip_local_port_range ${local.min}-${local.max}`);
    }
  }

  private requireLoaded(): BpfSnatLoadOptions {
    if (this.handle === undefined || this.opts === undefined) throw new ValidationError('load', 'not loaded');
    return this.opts;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async readSlots<N extends string>(map: string, names: readonly N[]): Promise<Record<N, Counter>> {
    const handle = this.handle;
    if (handle === undefined) throw new ValidationError('load', 'not loaded');
    const out = {} as Record<N, Counter>;
    for (const [i, name] of names.entries()) out[name] = (await readCounters(handle, map, i)) ?? { packets: 0n, bytes: 0n };
    return out;
  }
}

function configKey(): Buffer {
  return Buffer.alloc(4); // index 0, the same in either byte order
}

/** A conntrack entry of this build's layout (an older agent's may differ: not copied). */
function ctEntryFits(e: { key: Buffer; value: Buffer }): boolean {
  return e.key.length === BPF_LAYOUTS.snat_ct_key.size && e.value.length === BPF_LAYOUTS.snat_ct_entry.size;
}

/** Runs fn over items, at most `limit` at a time. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
