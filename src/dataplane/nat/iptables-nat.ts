// natOutgoing in iptables mode: two hash:net ipsets per family (natOutgoing pools,
// all pools) and Tabby's own nat chains, jumped to once from POSTROUTING. Declare
// the pools with setPools(), then apply(): it reads what the kernel has and rewrites
// only what differs, so calling it periodically (startResync) repairs a deleted jump,
// a flushed chain or an emptied set. Sets are swapped in whole; rules go in with one
// `iptables-restore --noflush` transaction that names only Tabby's chains.

import { ValidationError } from '../../errors.js';
import type { Family } from '../../api/net.js';
import { run, type RunResult } from '../../util/exec.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { NAT_FAMILIES, natSets, type NatPool, type NatSets } from './nat-pools.js';
import type { NatApplyResult, NatDataplane } from './nat-dataplane.js';
import {
  allSetNames, desiredChains, ipsetMembers, ipsetSwapScript, NAT_FAMILY_TABLE, natCleanupScript, natRestoreScript,
  normaliseMember, parseIpsetSave, parseNatTable, RANDOM_FULLY_PROBE, type NatFamilyRow,
} from './iptables-nat-rules.js';

export interface IptablesNatOptions {
  /** Namespace under /var/run/netns to work in; absent: this process's. */
  netns?: string;
  /** Families to manage (default both). A family's chain exists, empty, even with no pools. */
  families?: readonly Family[];
  /** Force --random-fully on or off instead of probing iptables once. */
  randomFully?: boolean;
  logger?: Logger;
  /** Per command (default 30 s). */
  timeoutMs?: number;
}

export interface IptablesNatApplyResult extends NatApplyResult {
  /** Sets rewritten (swapped in). */
  setsWritten: number;
  /** Families whose chains or jump were rewritten. */
  rulesWritten: number;
}

export class IptablesNat implements NatDataplane {
  readonly mode = 'iptables' as const;
  private readonly families: readonly Family[];
  private readonly log: Logger;
  private desired: NatSets = natSets([]);
  private randomFully: Partial<Record<Family, boolean>> = {};
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: IptablesNatOptions = {}) {
    const families = opts.families ?? NAT_FAMILIES;
    if (families.length === 0 || families.some((f) => f !== 4 && f !== 6)) {
      throw new ValidationError('families', 'must list 4 and/or 6');
    }
    this.families = [...new Set(families)];
    this.log = (opts.logger ?? silentLogger).child({ component: 'nat', mode: 'iptables' });
  }

  /** Declares the complete set of pools; apply() makes the kernel match. */
  setPools(pools: readonly NatPool[]): void {
    this.desired = natSets(pools);
  }

  /** Brings sets, chains and the jump to the declared state; a no-op when they are there. */
  apply(): Promise<IptablesNatApplyResult> {
    return this.serial(async () => {
      const result: IptablesNatApplyResult = { changes: 0, setsWritten: 0, rulesWritten: 0 };
      for (const f of this.families) await this.applyFamily(NAT_FAMILY_TABLE[f], result);
      result.changes = result.setsWritten + result.rulesWritten;
      if (result.setsWritten || result.rulesWritten) this.log.info(result, 'nat rules applied');
      return result;
    });
  }

  /** Same as apply(): what the periodic resync runs. */
  resync(): Promise<IptablesNatApplyResult> {
    return this.apply();
  }

  /** Runs apply() every `intervalMs` until stopResync()/close(); errors are logged, not thrown. */
  startResync(intervalMs: number): void {
    if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new ValidationError('intervalMs', 'must be at least 100');
    this.stopResync();
    this.timer = setInterval(() => {
      this.apply().catch((err: unknown) => this.log.error({ err }, 'nat resync failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stopResync(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the resync; the rules stay, so traffic keeps flowing across a restart. */
  async close(): Promise<void> {
    this.stopResync();
    await this.queue.catch(() => undefined);
  }

  /** Removes every jump, chain and set Tabby made, in every managed family, and only those. */
  cleanup(): Promise<void> {
    this.stopResync();
    return this.serial(async () => {
      for (const f of this.families) {
        const row = NAT_FAMILY_TABLE[f];
        const state = parseNatTable((await this.cmd([row.iptablesSave, '-t', 'nat'])).stdout);
        const script = natCleanupScript(state);
        // Rules before sets: a set in use by a rule cannot be destroyed.
        if (script) await this.cmd([row.iptablesRestore, '-w', '5', '--noflush'], script);
        const existing = await this.existingSets();
        for (const set of allSetNames(row)) {
          if (existing.has(set)) await this.cmd(['ipset', 'destroy', set]);
        }
      }
      this.log.info('nat rules removed');
    });
  }

  private async applyFamily(row: NatFamilyRow, result: IptablesNatApplyResult): Promise<void> {
    const sets = this.desired[row.family];
    // Sets first: the rule names them, and iptables refuses a rule naming a missing set.
    for (const [set, cidrs] of [[row.masqSet, sets.masq], [row.allSet, sets.all]] as const) {
      const want = ipsetMembers(cidrs).map((m) => normaliseMember(m, row.hostLength)).sort();
      const cur = await this.cmd(['ipset', 'list', set, '-o', 'save'], undefined, true);
      const have = cur.code === 0 ? parseIpsetSave(cur.stdout, set, row.hostLength) : undefined;
      if (have && have.length === want.length && have.every((m, i) => m === want[i])) continue;
      await this.cmd(['ipset', '-exist', 'restore'], ipsetSwapScript(row, set, ipsetMembers(cidrs)));
      result.setsWritten++;
    }
    const randomFully = await this.probeRandomFully(row);
    const desired = desiredChains(row, sets.masq.length > 0, randomFully);
    const state = parseNatTable((await this.cmd([row.iptablesSave, '-t', 'nat'])).stdout);
    const script = natRestoreScript(state, desired);
    if (!script) return;
    if (state.jumps.length !== 1) this.log.warn({ family: row.family, jumps: state.jumps.length }, 'repairing the POSTROUTING jump');
    await this.cmd([row.iptablesRestore, '-w', '5', '--noflush'], script);
    result.rulesWritten++;
  }

  // Asked once per family: does this iptables' MASQUERADE take --random-fully?
  private async probeRandomFully(row: NatFamilyRow): Promise<boolean> {
    if (this.opts.randomFully !== undefined) return this.opts.randomFully;
    const known = this.randomFully[row.family];
    if (known !== undefined) return known;
    const r = await this.cmd([row.iptablesRestore, '--test', '--noflush'], RANDOM_FULLY_PROBE, true);
    this.randomFully[row.family] = r.code === 0;
    if (r.code !== 0) this.log.warn({ family: row.family }, 'MASQUERADE --random-fully unsupported: ports may collide');
    return r.code === 0;
  }

  private async existingSets(): Promise<Set<string>> {
    const r = await this.cmd(['ipset', 'list', '-n']);
    return new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  }

  private cmd(argv: string[], input?: string, allowFail = false): Promise<RunResult> {
    const o: Parameters<typeof run>[1] = { timeoutMs: this.opts.timeoutMs ?? 30_000, allowFail };
    if (this.opts.netns !== undefined) o.netns = this.opts.netns;
    if (input !== undefined) o.input = input;
    return run(argv, o);
  }

  // One apply or cleanup at a time, so two never interleave their reads and writes.
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
