// natOutgoing in eBPF mode: bpf/snat.bpf.c on the host interface's tc hooks does the
// SNAT itself (conntrack, NAT ports, reverse translation). Load it once per interface,
// declare the pools with setPools() and apply(): the pool tries are brought to exactly
// that set. The node address, port range and timeouts live in a map, so they change
// without a reload (setConfig()).

import { randomInt } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import {
  bpfObjectClose, bpfObjectLoad, bpfObjectPath, mapDelete, mapLookup, mapUpdate, tcAttach, tcDetach,
  type BpfObjectHandle, type TcDirection, type TcFilter,
} from '../../native/addon.js';
import { readCounters, type Counter } from '../../native/counters.js';
import { run } from '../../util/exec.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { natSets, type NatPool } from './nat-pools.js';
import type { NatApplyResult, NatDataplane } from './nat-dataplane.js';
import {
  checkPortRange, decodeCtEntry, DEFAULT_NAT_PORT_RANGE, encodeConfig, encodePoolMaps, origKey, overlapsLocalRange,
  POOL_VALUE, replyKey, SNAT_COUNTERS, SNAT_DROP_REASONS, SNAT_MAPS, type PortRange, type SnatCounterName,
  type SnatCtEntry, type SnatDropReason, type SnatFlow, type SnatTimeouts,
} from './snat-codec.js';

export const SNAT_OBJECT = 'snat';
export const SNAT_PROGRAMS = { egress: 'tabby_snat_egress', ingress: 'tabby_snat_ingress' } as const;

/**
 * tc priority of both programs. tc runs filters in priority order and a filter's
 * TC_ACT_OK ends the chain, so SNAT (which returns TC_ACT_UNSPEC for what it passes)
 * must come before encap.bpf.c (which returns TC_ACT_OK): encap must be attached with
 * a larger number. Leaving encap's priority to the kernel is not enough: the kernel
 * puts a filter attached later without a priority in front of the existing ones.
 */
export const SNAT_TC_PRIORITY = 10;

export interface BpfSnatLoadOptions {
  /** The host's outward interface, e.g. `eth0`. */
  ifname: string;
  /** Namespace under /var/run/netns holding the interface; absent: this process's. */
  netns?: string;
  /** IPv4 source address after SNAT (the node's address on `ifname`). */
  nodeIP?: string;
  /** IPv6 source address after SNAT; without it IPv6 natOutgoing traffic is dropped (noNodeIp). */
  nodeIP6?: string;
  /** NAT ports and ICMP echo identifiers (default 61000–65535). */
  portRange?: PortRange;
  /** Idle timeouts in seconds. */
  timeouts?: Partial<SnatTimeouts>;
  /**
   * Refuse a port range that overlaps the namespace's net.ipv4.ip_local_port_range
   * (default true): the node's own connections could then collide with NAT ports.
   */
  checkLocalPortRange?: boolean;
  /** When given, the programs ignore packets of other interfaces. */
  ifindex?: number;
  /** tc priority (default SNAT_TC_PRIORITY). */
  priority?: number;
  /** Seed of the NAT port hash (default random). */
  hashSeed?: number;
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

type Filters = Partial<Record<TcDirection, TcFilter>>;

export class BpfSnat implements NatDataplane {
  readonly mode = 'bpf' as const;
  private handle: BpfObjectHandle | undefined;
  private filters: Filters = {};
  private opts: BpfSnatLoadOptions | undefined;
  private config: SnatConfigUpdate = {};
  private seed = 0;
  private desired = encodePoolMaps(natSets([]));
  /** Keys this instance wrote, per map. The maps are private to its object. */
  private written = new Map<string, Map<string, Buffer>>();
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

  /** The filters attached (priority and handle per direction), for inspection. */
  get attached(): Readonly<Filters> {
    return { ...this.filters };
  }

  async load(opts: BpfSnatLoadOptions): Promise<void> {
    if (this.handle !== undefined) throw new ValidationError('load', 'already loaded: close() first');
    if (typeof opts !== 'object' || opts === null) throw new ValidationError('options', 'must be an object');
    if (opts.nodeIP === undefined && opts.nodeIP6 === undefined) throw new ValidationError('nodeIP', 'nodeIP or nodeIP6 is required');
    const range = checkPortRange(opts.portRange ?? DEFAULT_NAT_PORT_RANGE);
    const config: SnatConfigUpdate = { portRange: range };
    if (opts.nodeIP !== undefined) config.nodeIP = opts.nodeIP;
    if (opts.nodeIP6 !== undefined) config.nodeIP6 = opts.nodeIP6;
    if (opts.timeouts !== undefined) config.timeouts = opts.timeouts;
    const configValue = encodeConfig(config); // validates before anything is loaded
    const ifindex = opts.ifindex ?? 0;
    if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 0x7fffffff) throw new ValidationError('ifindex', 'must be a positive integer');
    const seed = opts.hashSeed ?? randomInt(0, 0xffffffff);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new ValidationError('hashSeed', 'must be a u32');
    if (opts.checkLocalPortRange !== false) await this.checkLocalRange(opts.netns, range);

    this.log = (opts.logger ?? silentLogger).child({ component: 'nat', mode: 'bpf', ifname: opts.ifname });
    const handle = await bpfObjectLoad(bpfObjectPath(SNAT_OBJECT), { globals: { hash_seed: seed, host_ifindex: ifindex } });
    this.handle = handle;
    this.opts = { ...opts };
    this.config = config;
    this.seed = seed;
    try {
      await mapUpdate(handle, SNAT_MAPS.config, configKey(), configValue);
      for (const direction of ['ingress', 'egress'] as const) {
        const a: Parameters<typeof tcAttach>[0] = {
          handle, program: SNAT_PROGRAMS[direction], ifname: opts.ifname, direction, priority: opts.priority ?? SNAT_TC_PRIORITY,
        };
        if (opts.netns !== undefined) a.netns = opts.netns;
        this.filters[direction] = await tcAttach(a);
      }
      const at = this.filters.egress!.ifindex;
      if (ifindex && at !== ifindex) throw new ValidationError('ifindex', `is ${ifindex}, but ${opts.ifname} has ifindex ${at}`);
    } catch (err) {
      await this.close().catch(() => undefined);
      throw err;
    }
    this.log.info({ priority: this.filters.egress?.priority, portRange: range }, 'snat loaded');
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
    const value = encodeConfig(next);
    await this.serial(async () => {
      await mapUpdate(this.handle!, SNAT_MAPS.config, configKey(), value);
      this.config = next;
    });
  }

  /**
   * Brings the pool tries (and the config entry) to the declared state: each desired
   * key is read back and rewritten if missing, keys no longer desired are deleted.
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
      const cfg = encodeConfig(this.config);
      const cur = await mapLookup(handle, SNAT_MAPS.config, configKey());
      if (!cur || !cur.value.equals(cfg)) {
        await mapUpdate(handle, SNAT_MAPS.config, configKey(), cfg);
        configWritten = true;
      }
      // "All pools" before "natOutgoing pools" when adding, the reverse when removing,
      // so a destination is never briefly outside every pool while its pool changes.
      const order = [SNAT_MAPS.pools4, SNAT_MAPS.pools6, SNAT_MAPS.masq4, SNAT_MAPS.masq6];
      for (const map of order) {
        const want = this.desired.get(map) ?? new Map<string, Buffer>();
        const done = this.written.get(map) ?? new Map<string, Buffer>();
        this.written.set(map, done);
        for (const [hex, key] of want) {
          const v = await mapLookup(handle, map, key);
          if (!v || !v.value.equals(POOL_VALUE)) {
            await mapUpdate(handle, map, key, POOL_VALUE);
            added++;
          }
          done.set(hex, key);
        }
      }
      for (const map of [...order].reverse()) {
        const want = this.desired.get(map) ?? new Map<string, Buffer>();
        const done = this.written.get(map)!;
        for (const [hex, key] of done) {
          if (want.has(hex)) continue;
          if (await mapDelete(handle, map, key)) removed++;
          done.delete(hex);
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
   * the REPLY entry holding its NAT port. A full dump needs map key iteration, which
   * the addon does not offer yet.
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

  /** Detaches both programs and frees the object with its maps. Idempotent. */
  async close(): Promise<void> {
    const opts = this.opts;
    const errors: unknown[] = [];
    await this.queue.catch(() => undefined);
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
    // The clsact qdisc stays: encap may share it, and it is harmless empty.
    if (this.handle !== undefined) {
      const h = this.handle;
      this.handle = undefined;
      await bpfObjectClose(h).catch((err: unknown) => errors.push(err));
    }
    this.written = new Map();
    this.desired = encodePoolMaps(natSets([]));
    this.opts = undefined;
    if (errors.length > 0) throw errors[0];
    this.log.info('snat closed');
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
