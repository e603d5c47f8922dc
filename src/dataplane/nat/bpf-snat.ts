// natOutgoing in eBPF mode: the SNAT step of bpf/host.bpf.c (lib/host_snat.h) on the
// host interface's tc hooks does the translation itself (conntrack, NAT ports, reverse
// translation). HostProgram owns the program and its tc slot; this feature owns the
// SNAT maps. Declare the pools with setPools() and apply(): the pool tries are brought
// to exactly that set. The node address, port range, timeouts and hash seed live in a
// map, so they change without a reload (setConfig()).
//
// Restart without a gap: before the fresh object is attached, fill() copies the
// configuration, pools and conntrack of the program in the slot (a predecessor's, or
// this host's own when it loads again), so translated flows keep their NAT ports and
// flows opened from outside stay untranslated. With pinned maps of the same layout
// (HostTarget.pinRoot) the fresh object runs on the very maps the old one used, and
// only the configuration and pools are written again.

import { randomInt } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import { mapDelete, mapKeys, mapLookup, mapUpdate } from '../../native/bpf-maps.js';
import type { BpfObjectHandle } from '../../native/bpf-objects.js';
import { BPF_LAYOUTS } from '../bpf/layouts.js';
import { type Counter, readCounterSlots } from '../bpf/counters.js';
import { HostProgram, type HostFeature, type HostTarget, type SlotState } from '../bpf/host-program.js';
import { run } from '../../util/exec.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { natSets, type NatPool } from './nat-pools.js';
import type { NatApplyResult, NatDataplane } from './nat-dataplane.js';
import {
  checkPortRange, decodeConfig, decodeCtEntry, DEFAULT_NAT_PORT_RANGE, encodeConfig, encodePoolMaps, origKey, overlapsLocalRange,
  passKey, POOL_VALUE, replyKey, SNAT_COUNTERS, SNAT_DIR, SNAT_DROP_REASONS, SNAT_MAPS, type PortRange, type SnatConfig,
  type SnatCounterName, type SnatCtEntry, type SnatDropReason, type SnatFlow, type SnatTimeouts,
} from './snat-codec.js';

/** The maps a successor carries over: configuration and state. */
const POOL_MAPS = [SNAT_MAPS.pools4, SNAT_MAPS.pools6, SNAT_MAPS.masq4, SNAT_MAPS.masq6] as const;
const CT_MAPS = [SNAT_MAPS.ct, SNAT_MAPS.pass] as const;
const STATE_MAPS = [SNAT_MAPS.config, ...POOL_MAPS, ...CT_MAPS];
/** Conntrack entries written at once while copying (the addon's workers run them). */
const COPY_CONCURRENCY = 32;

export interface BpfSnatOptions {
  /**
   * IPv4 source address after SNAT (the node's address on the interface). nodeIP or
   * nodeIP6 is required, unless the program in the slot has one.
   */
  nodeIP?: string;
  /** IPv6 source address after SNAT; without it IPv6 natOutgoing traffic is dropped (noNodeIp). */
  nodeIP6?: string;
  /** NAT ports and ICMP echo identifiers (default: the previous program's, else 32768–65535). */
  portRange?: PortRange;
  /** Idle timeouts in seconds (default: the previous program's, else DEFAULT_SNAT_TIMEOUTS). */
  timeouts?: Partial<SnatTimeouts>;
  /**
   * Read the namespace's net.ipv4.ip_local_port_range and log when the NAT range
   * overlaps it (default true). An overlap is allowed, as in Cilium: the program
   * reserves the node's own flows' ports in the NAT map, so neither takes the other's.
   */
  checkLocalPortRange?: boolean;
  /** Seed of the NAT port hash (default: the previous program's, else random). */
  hashSeed?: number;
  /** Take over the configuration, pools and conntrack of the program in the slot (default true). */
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

/** What the first load took over. */
export interface SnatAdoption {
  progId: number;
  config: boolean;
  pools: number;
  /** Conntrack entries copied (0 when the maps were reused). */
  ct: number;
  /** The pinned maps were reused as they are. */
  reused: boolean;
}

export class BpfSnat implements HostFeature, NatDataplane {
  readonly mode = 'bpf' as const;
  readonly stateMaps = STATE_MAPS;
  readonly bulkMaps = CT_MAPS;
  private readonly opts: BpfSnatOptions;
  private config: SnatConfigUpdate = {};
  private seed = 0;
  /** Null until prepared: the first fill then takes the pools of the program it replaces. */
  private desired: Map<string, Map<string, Buffer>> | null = null;
  private adoption: SnatAdoption | undefined;
  private prepared = false;
  private readonly log: Logger;

  constructor(readonly host: HostProgram, opts: BpfSnatOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw new ValidationError('options', 'must be an object');
    this.opts = { ...opts };
    this.log = (opts.logger ?? silentLogger).child({ component: 'nat', mode: 'bpf', ifname: host.target.ifname });
  }

  /** The seed the port hash uses (for portCandidates()). */
  get hashSeed(): number {
    return this.seed;
  }

  get portRange(): PortRange {
    return this.config.portRange ?? DEFAULT_NAT_PORT_RANGE;
  }

  /** What the first load took over from a previous program, if there was one. */
  get adopted(): Readonly<SnatAdoption> | undefined {
    return this.adoption;
  }

  /**
   * Reads what the program now in Tabby's slot holds, or null when there is none.
   * `ct: false` leaves the conntrack out.
   */
  static async previous(target: HostTarget, opts: { ct?: boolean } = {}): Promise<PreviousSnat | null> {
    const maps = opts.ct === false ? STATE_MAPS.filter((m) => !(CT_MAPS as readonly string[]).includes(m)) : STATE_MAPS;
    const q = await HostProgram.previous(target, maps);
    return q && decodeSlot(q);
  }

  globals(): Record<string, number> {
    return { enable_snat: 1 };
  }

  /** First load: the configuration from the options over what the program in the slot has, validated. */
  async prepare(prev: SlotState | null): Promise<void> {
    if (this.prepared) return;
    const opts = this.opts;
    const base = (opts.adopt === false || !prev ? null : decodeSlot(prev).config) ?? undefined;
    const config: SnatConfigUpdate = { portRange: checkPortRange(opts.portRange ?? base?.portRange ?? DEFAULT_NAT_PORT_RANGE) };
    const nodeIP = opts.nodeIP ?? base?.nodeIP;
    const nodeIP6 = opts.nodeIP6 ?? base?.nodeIP6;
    if (nodeIP === undefined && nodeIP6 === undefined) throw new ValidationError('nodeIP', 'nodeIP or nodeIP6 is required');
    if (nodeIP !== undefined) config.nodeIP = nodeIP;
    if (nodeIP6 !== undefined) config.nodeIP6 = nodeIP6;
    if (base !== undefined || opts.timeouts !== undefined) config.timeouts = { ...base?.timeouts, ...opts.timeouts };
    const seed = opts.hashSeed ?? base?.hashSeed ?? randomInt(0, 0xffffffff);
    encodeConfig({ ...config, hashSeed: seed }); // validates
    if (opts.checkLocalPortRange !== false) await this.checkLocalRange(config.portRange!);
    this.config = config;
    this.seed = seed;
    this.prepared = true;
  }

  /**
   * Fills the fresh object: the configuration; the pools (declared, or on the first
   * load those of the program it replaces); and the conntrack of the program in the
   * slot, twice, the second time only what changed meanwhile, so what the old program
   * created during a long first copy is not lost. What it creates between the second
   * read and the attach is: such a flow's next outgoing packet re-creates it, on the
   * same port as the seed is kept.
   */
  async fill(handle: BpfObjectHandle, prev: SlotState | null): Promise<void> {
    await mapUpdate(handle, SNAT_MAPS.config, configKey(), encodeConfig({ ...this.config, hashSeed: this.seed }));
    const first = this.desired === null;
    const adopt = prev !== null && (!first || this.opts.adopt !== false);
    const old = adopt ? decodeSlot(prev) : null;
    if (first) {
      const desired = new Map<string, Map<string, Buffer>>();
      for (const map of POOL_MAPS) desired.set(map, new Map((old?.pools.get(map) ?? []).map((k) => [k.toString('hex'), k])));
      this.desired = desired;
    }
    let pools = 0;
    for (const map of POOL_MAPS) {
      for (const key of this.desired!.get(map)?.values() ?? []) {
        await mapUpdate(handle, map, key, POOL_VALUE);
        pools++;
      }
    }
    // Reused (pinned) maps are the old program's own: nothing to copy.
    const reused = prev?.reused === true;
    const ct = old && !reused ? await this.copyCt(handle, old) : 0;
    if (first && old) this.adoption = { progId: old.progId, config: old.config !== null, pools, ct, reused };
    this.log.info({ portRange: this.portRange, adopted: old ? { progId: old.progId, pools, ct, reused } : null }, 'snat loaded');
  }

  /** Declares the complete set of pools; apply() writes the difference. */
  setPools(pools: readonly NatPool[]): void {
    this.host.requireObject();
    this.desired = encodePoolMaps(natSets(pools));
  }

  /**
   * Changes the node address, port range or timeouts at run time (fields left out
   * keep their value). Flows translated to an old address are re-translated on their
   * next packet; their replies to the old address no longer match.
   */
  async setConfig(update: SnatConfigUpdate): Promise<void> {
    this.host.requireObject();
    const next: SnatConfigUpdate = { ...this.config, ...update };
    if (next.portRange) {
      next.portRange = checkPortRange(next.portRange);
      if (update.portRange && this.opts.checkLocalPortRange !== false) await this.checkLocalRange(next.portRange);
    }
    const value = encodeConfig({ ...next, hashSeed: this.seed });
    await this.host.serial(async () => {
      await mapUpdate(this.host.requireObject(), SNAT_MAPS.config, configKey(), value);
      this.config = next;
    });
  }

  /**
   * Brings the pool tries (and the config entry) to the declared state, comparing with
   * the keys the kernel's tries hold (mapKeys): missing keys are written, undeclared
   * ones deleted. Until setPools(), the declared pools are those the first load took
   * over. Safe to call periodically as a resync.
   */
  apply(): Promise<BpfSnatApplyResult> {
    this.host.requireObject();
    return this.host.serial(async () => {
      const handle = this.host.requireObject();
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
        for (const [hex, key] of this.desired?.get(map) ?? []) {
          if (have.has(hex)) continue;
          await mapUpdate(handle, map, key, POOL_VALUE);
          added++;
        }
      }
      for (const map of [...POOL_MAPS].reverse()) {
        const want = this.desired?.get(map) ?? new Map<string, Buffer>();
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
    return readCounterSlots(this.host.requireObject(), SNAT_MAPS.counters, SNAT_COUNTERS);
  }

  /** Dropped packets by reason, summed over CPUs. */
  async drops(): Promise<Record<SnatDropReason, Counter>> {
    return readCounterSlots(this.host.requireObject(), SNAT_MAPS.drops, SNAT_DROP_REASONS);
  }

  /**
   * The conntrack entries of one flow: its translation (ORIG) and, if that exists,
   * the REPLY entry holding its NAT port.
   */
  async lookupFlow(flow: SnatFlow): Promise<{ orig: SnatCtEntry | null; reply: SnatCtEntry | null }> {
    const handle = this.host.requireObject();
    const family = flow.src.includes(':') ? 6 : 4;
    const o = await mapLookup(handle, SNAT_MAPS.ct, origKey(flow));
    const orig = o ? decodeCtEntry(o.value, family) : null;
    if (!orig) return { orig, reply: null };
    const r = await mapLookup(handle, SNAT_MAPS.ct, replyKey(flow, orig.address, orig.port));
    return { orig, reply: r ? decodeCtEntry(r.value, family) : null };
  }

  /** The PASS entry of a flow opened from outside (given as the remote sends it), or null. */
  async lookupInbound(flow: SnatFlow): Promise<SnatCtEntry | null> {
    const v = await mapLookup(this.host.requireObject(), SNAT_MAPS.pass, passKey(flow));
    return v ? decodeCtEntry(v.value, flow.src.includes(':') ? 6 : 4) : null;
  }

  private async copyCt(handle: BpfObjectHandle, prev: PreviousSnat): Promise<number> {
    const copied = new Map<string, Buffer>();
    await eachLimit(prev.ct, COPY_CONCURRENCY, async ({ key, value }) => {
      await mapUpdate(handle, ctMapFor(key), key, value);
      copied.set(key.toString('hex'), value);
    });
    const again = await HostProgram.previous(this.host.target, CT_MAPS);
    let ct = copied.size;
    if (again && again.progId === prev.progId) {
      const now = new Set<string>();
      const changed = CT_MAPS.flatMap((m) => again.maps[m] ?? []).filter((e) => {
        if (!ctEntryFits(e)) return false;
        const hex = e.key.toString('hex');
        now.add(hex);
        const before = copied.get(hex);
        if (!before) ct++;
        return !before || !before.equals(e.value);
      });
      await eachLimit(changed, COPY_CONCURRENCY, ({ key, value }) => mapUpdate(handle, ctMapFor(key), key, value));
      // Gone from the old map meanwhile: evicted, or a port handed to another flow.
      const gone = [...copied.keys()].filter((hex) => !now.has(hex));
      await eachLimit(gone, COPY_CONCURRENCY, async (hex) => {
        const key = Buffer.from(hex, 'hex');
        await mapDelete(handle, ctMapFor(key), key);
        ct--;
      });
    }
    return ct;
  }

  private async checkLocalRange(range: PortRange): Promise<void> {
    const netns = this.host.target.netns;
    const o: Parameters<typeof run>[1] = { allowFail: true, timeoutMs: 10_000 };
    if (netns !== undefined) o.netns = netns;
    const r = await run(['cat', '/proc/sys/net/ipv4/ip_local_port_range'], o);
    if (r.code !== 0) return;
    const local = overlapsLocalRange(range, r.stdout);
    if (local) {
      this.log.info({ portRange: range, localPortRange: local },
        'NAT ports overlap ip_local_port_range: the node\'s own flows are reserved in the NAT map (moved to a free NAT port on a clash)');
    }
  }

}

/** The configuration, pools and conntrack a program's maps hold, as far as they decode. */
function decodeSlot(q: SlotState): PreviousSnat {
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
  const ct = CT_MAPS.flatMap((m) => q.maps[m] ?? []).filter((e) => ctEntryFits(e));
  return { progId: q.progId, config, pools, ct };
}

function configKey(): Buffer {
  return Buffer.alloc(4); // index 0, the same in either byte order
}

/** Flows opened from outside (PASS) have a map of their own; an older agent kept them in snat_ct. */
function ctMapFor(key: Buffer): string {
  return key[BPF_LAYOUTS.snat_ct_key.fields.dir.offset] === SNAT_DIR.pass ? SNAT_MAPS.pass : SNAT_MAPS.ct;
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
