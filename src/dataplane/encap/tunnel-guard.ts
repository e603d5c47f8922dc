// iptables mode: tunnel packets only from nodes. The kernel's VXLAN device (and tunl0)
// take packets from any host, so a host that is not a node could inject packets with
// pod sources. As Felix does (felix/rules/static.go, filterInputChain: "Allow IPv4
// VXLAN packets from allowed hosts" then "Drop IPv4 VXLAN packets from non-allowed
// hosts", the same pair for IPIP), an INPUT chain drops VXLAN (UDP to our port) and
// IPIP addressed to this host unless the source is in an ipset of every node's
// address. Matching packets RETURN rather than ACCEPT, so the host's own rules still
// apply. The set is swapped in whole; the chain carries a hash of its rules in a
// comment, so apply() rewrites it only when it differs (or was flushed or unhooked).
// Family 6 is the same guard in ip6tables for IPv6 VXLAN (Felix's "Drop IPv6 VXLAN packets
// from non-allowed hosts" in the IPv6 filter table), with its own inet6 set; no IPIP there.

import { createHash } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import { parseIP } from '../../api/net.js';
import { run, type RunResult } from '../../util/exec.js';

export const TUNNEL_SET = 'tabby-all-hosts';
export const TUNNEL_SET_V6 = 'tabby-all-hosts-v6';
export const TUNNEL_CHAIN = 'tabby-tunnel-in';
const IPPROTO_IPIP = 4;

export interface TunnelGuardOptions {
  netns?: string;
  vxlanPort: number;
  /** Guard IPIP too (there is a tunl0 to take it); IPv4 only. */
  ipip: boolean;
  /** 4 (iptables, default) or 6 (ip6tables). */
  family?: 4 | 6;
  timeoutMs?: number;
}

/** The chain's rules as iptables-restore lines, each tagged with `tag`. */
export function tunnelGuardRules(opts: Pick<TunnelGuardOptions, 'vxlanPort' | 'ipip' | 'family'>, tag = 'tabby'): string[] {
  const local = '-m addrtype --dst-type LOCAL';
  const fromNode = `-m set --match-set ${opts.family === 6 ? TUNNEL_SET_V6 : TUNNEL_SET} src`;
  const c = (what: string) => `-m comment --comment "${tag} ${what}"`;
  const vx = `-p udp -m udp --dport ${opts.vxlanPort}`;
  const rules = [
    `-A ${TUNNEL_CHAIN} ${vx} ${fromNode} ${local} ${c('VXLAN from a node')} -j RETURN`,
    `-A ${TUNNEL_CHAIN} ${vx} ${local} ${c('VXLAN from a host that is not a node')} -j DROP`,
  ];
  if (opts.ipip && opts.family !== 6) {
    rules.push(
      `-A ${TUNNEL_CHAIN} -p ${IPPROTO_IPIP} ${fromNode} ${local} ${c('IPIP from a node')} -j RETURN`,
      `-A ${TUNNEL_CHAIN} -p ${IPPROTO_IPIP} ${local} ${c('IPIP from a host that is not a node')} -j DROP`,
    );
  }
  return rules;
}

/** Short hash of what the chain should hold, carried in every rule's comment. */
function rulesTag(opts: Pick<TunnelGuardOptions, 'vxlanPort' | 'ipip' | 'family'>): string {
  const h = createHash('sha256').update(tunnelGuardRules(opts, '').join('\n')).digest('hex').slice(0, 12);
  return `tabby:${h}`;
}

export interface TunnelGuardApplyResult {
  setWritten: boolean;
  rulesWritten: boolean;
}

export class TunnelGuard {
  private sources: string[] = [];

  constructor(private readonly opts: TunnelGuardOptions) {
    if (!Number.isInteger(opts.vxlanPort) || opts.vxlanPort < 1 || opts.vxlanPort > 65535) {
      throw new ValidationError('vxlanPort', 'must be an integer from 1 to 65535');
    }
  }

  private get family(): 4 | 6 {
    return this.opts.family ?? 4;
  }

  private get set(): string {
    return this.family === 6 ? TUNNEL_SET_V6 : TUNNEL_SET;
  }

  /** Declares every node's underlay address of the guard's family; apply() makes the set match. */
  setSources(addresses: readonly string[]): void {
    const out = new Set<string>();
    addresses.forEach((a, i) => {
      const p = parseIP(a);
      if (!p || p.family !== this.family) throw new ValidationError(`sources[${i}]`, `must be an IPv${this.family} address, got ${JSON.stringify(a)}`);
      out.add(p.address);
    });
    this.sources = [...out].sort();
  }

  async apply(): Promise<TunnelGuardApplyResult> {
    const result: TunnelGuardApplyResult = { setWritten: false, rulesWritten: false };
    // The set first: a rule naming a missing set is refused.
    const set = this.set;
    const inet = this.family === 6 ? 'inet6' : 'inet';
    const cur = await this.cmd(['ipset', 'list', set, '-o', 'save'], undefined, true);
    const have = cur.code === 0 ? members(cur.stdout) : undefined;
    if (!have || have.join() !== this.sources.join()) {
      const tmp = `${set}-t`;
      const script = [
        `create ${set} hash:ip family ${inet}`, `create ${tmp} hash:ip family ${inet}`, `flush ${tmp}`,
        ...this.sources.map((a) => `add ${tmp} ${a}`), `swap ${tmp} ${set}`, `destroy ${tmp}`, '',
      ].join('\n');
      await this.cmd(['ipset', '-exist', 'restore'], script);
      result.setWritten = true;
    }
    const tag = rulesTag(this.opts);
    const want = tunnelGuardRules(this.opts, tag);
    const saved = (await this.cmd([this.tool('save'), '-t', 'filter'])).stdout.split('\n');
    const rules = saved.filter((l) => l.startsWith(`-A ${TUNNEL_CHAIN} `));
    const jumps = saved.filter((l) => l === `-A INPUT -j ${TUNNEL_CHAIN}`).length;
    const first = saved.find((l) => l.startsWith('-A INPUT '));
    const current = rules.length === want.length && rules.every((l) => l.includes(tag));
    if (current && jumps === 1 && first === `-A INPUT -j ${TUNNEL_CHAIN}`) return result;
    const script = ['*filter', `:${TUNNEL_CHAIN} - [0:0]`, ...want];
    for (let i = 0; i < jumps; i++) script.push(`-D INPUT -j ${TUNNEL_CHAIN}`);
    script.push(`-I INPUT 1 -j ${TUNNEL_CHAIN}`, 'COMMIT', '');
    await this.cmd([this.tool('restore'), '-w', '5', '--noflush'], script.join('\n'));
    result.rulesWritten = true;
    return result;
  }

  /** Removes the jump, the chain and the set. */
  async cleanup(): Promise<void> {
    const saved = (await this.cmd([this.tool('save'), '-t', 'filter'])).stdout.split('\n');
    if (saved.includes(`:${TUNNEL_CHAIN} - [0:0]`) || saved.some((l) => l.startsWith(`:${TUNNEL_CHAIN} `))) {
      const jumps = saved.filter((l) => l === `-A INPUT -j ${TUNNEL_CHAIN}`).length;
      const script = ['*filter', ...Array.from({ length: jumps }, () => `-D INPUT -j ${TUNNEL_CHAIN}`),
        `-F ${TUNNEL_CHAIN}`, `-X ${TUNNEL_CHAIN}`, 'COMMIT', ''];
      await this.cmd([this.tool('restore'), '-w', '5', '--noflush'], script.join('\n'));
    }
    await this.cmd(['ipset', 'destroy', this.set], undefined, true);
  }

  private tool(what: 'save' | 'restore'): string {
    return `${this.family === 6 ? 'ip6tables' : 'iptables'}-${what}`;
  }

  private cmd(argv: string[], input?: string, allowFail = false): Promise<RunResult> {
    return run(argv, {
      timeoutMs: this.opts.timeoutMs ?? 30_000, allowFail,
      ...(this.opts.netns !== undefined ? { netns: this.opts.netns } : {}), ...(input !== undefined ? { input } : {}),
    });
  }
}

function members(save: string): string[] {
  return save.split('\n').map((l) => /^add \S+ (\S+)/.exec(l)?.[1]).filter((a): a is string => a !== undefined).sort();
}
