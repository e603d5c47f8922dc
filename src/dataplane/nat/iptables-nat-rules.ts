// The text iptables mode writes and reads: ipset restore scripts, iptables-restore
// scripts for Tabby's own nat chains, and the parsing of ipset/iptables-save output.
// Pure, so the exact rules are unit-tested without a kernel. Calico's shape:
//
//   -A POSTROUTING -j tabby-POSTROUTING
//   -A tabby-POSTROUTING -j tabby-nat-outgoing
//   -A tabby-nat-outgoing -m set --match-set tabby40masq-ipam-pools src
//        -m set ! --match-set tabby40all-ipam-pools dst -j MASQUERADE --random-fully

import type { Family } from '../../api/net.js';
import { cidrBytes } from './nat-pools.js';

export const NAT_CHAINS = {
  postrouting: 'tabby-POSTROUTING',
  natOutgoing: 'tabby-nat-outgoing',
} as const;

/** One row per address family: its tools and its set names. */
export interface NatFamilyRow {
  family: Family;
  iptablesRestore: string;
  iptablesSave: string;
  ipsetFamily: 'inet' | 'inet6';
  masqSet: string;
  allSet: string;
  hostLength: number;
}

export const NAT_FAMILY_TABLE: Record<Family, NatFamilyRow> = {
  4: {
    family: 4, iptablesRestore: 'iptables-restore', iptablesSave: 'iptables-save', ipsetFamily: 'inet',
    masqSet: 'tabby40masq-ipam-pools', allSet: 'tabby40all-ipam-pools', hostLength: 32,
  },
  6: {
    family: 6, iptablesRestore: 'ip6tables-restore', iptablesSave: 'ip6tables-save', ipsetFamily: 'inet6',
    masqSet: 'tabby60masq-ipam-pools', allSet: 'tabby60all-ipam-pools', hostLength: 128,
  },
};

/** The set filled before being swapped in, so the live one is never half-filled. */
export function tempSetName(set: string): string {
  return `${set}-tmp`;
}

/** Every set name Tabby may have made (for cleanup, including a temp left by a crash). */
export function allSetNames(row: NatFamilyRow): string[] {
  return [row.masqSet, row.allSet, tempSetName(row.masqSet), tempSetName(row.allSet)];
}

/**
 * hash:net cannot hold a /0: a default-route pool becomes its two halves, which
 * match the same addresses.
 */
export function ipsetMembers(cidrs: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of cidrs) {
    const { family, prefixLength } = cidrBytes(c);
    if (prefixLength !== 0) out.push(c);
    else if (family === 4) out.push('0.0.0.0/1', '128.0.0.0/1');
    else out.push('::/1', '8000::/1');
  }
  return out;
}

/** Canonical `net/len` for a member as `ipset save` prints it (a host has no length). */
export function normaliseMember(text: string, hostLength: number): string {
  const withLen = text.includes('/') ? text : `${text}/${hostLength}`;
  const { family, prefixLength, network } = cidrBytes(withLen);
  if (family === 4) return `${[...network].join('.')}/${prefixLength}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(network.readUInt16BE(i).toString(16));
  return `${groups.join(':')}/${prefixLength}`;
}

/** Members of `set` from `ipset list SET -o save` output. */
export function parseIpsetSave(text: string, set: string, hostLength: number): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'add' && f[1] === set && f[2]) out.push(normaliseMember(f[2], hostLength));
  }
  return out.sort();
}

/**
 * One `ipset -exist restore` script that fills a temp set and swaps it with the live
 * one (created empty first if missing), then drops the temp.
 */
export function ipsetSwapScript(row: NatFamilyRow, set: string, members: readonly string[]): string {
  const tmp = tempSetName(set);
  const create = (name: string) => `create ${name} hash:net family ${row.ipsetFamily}`;
  const lines = [create(set), create(tmp), `flush ${tmp}`, ...members.map((m) => `add ${tmp} ${m}`), `swap ${tmp} ${set}`, `destroy ${tmp}`];
  return `${lines.join('\n')}\n`;
}

/** The rules of Tabby's chains, as iptables-save prints them. */
export function desiredChains(row: NatFamilyRow, masquerade: boolean, randomFully: boolean): Map<string, string[]> {
  const { postrouting, natOutgoing } = NAT_CHAINS;
  const masq = masquerade
    ? [`-A ${natOutgoing} -m set --match-set ${row.masqSet} src -m set ! --match-set ${row.allSet} dst -j MASQUERADE${randomFully ? ' --random-fully' : ''}`]
    : [];
  return new Map([
    [postrouting, [`-A ${postrouting} -j ${natOutgoing}`]],
    [natOutgoing, masq],
  ]);
}

/** Tabby's part of `iptables-save -t nat` output. */
export interface NatTableState {
  /** Tabby's chains that exist, with their rules. */
  chains: Map<string, string[]>;
  /** Rules of POSTROUTING that jump to tabby-POSTROUTING, as printed. */
  jumps: string[];
}

const OURS = new Set<string>(Object.values(NAT_CHAINS));

export function parseNatTable(save: string): NatTableState {
  const chains = new Map<string, string[]>();
  const jumps: string[] = [];
  let inNat = false;
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      inNat = line === '*nat';
      continue;
    }
    if (!inNat) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0]!;
      if (OURS.has(name)) chains.set(name, chains.get(name) ?? []);
      continue;
    }
    const m = /^-A (\S+) /.exec(line);
    if (!m) continue;
    if (OURS.has(m[1]!)) {
      const list = chains.get(m[1]!) ?? [];
      list.push(line);
      chains.set(m[1]!, list);
    } else if (m[1] === 'POSTROUTING' && / -j tabby-POSTROUTING(\s|$)/.test(line)) {
      jumps.push(line);
    }
  }
  return { chains, jumps };
}

/**
 * The `iptables-restore --noflush` script that brings Tabby's part of the nat table
 * to `desired`, touching nothing else; undefined when it is already there. Declaring
 * a chain flushes it, so the chains are rewritten whole in one transaction.
 */
export function natRestoreScript(current: NatTableState, desired: Map<string, string[]>): string | undefined {
  const chainsOk = [...desired].every(([name, rules]) => {
    const cur = current.chains.get(name);
    return cur !== undefined && cur.length === rules.length && cur.every((r, i) => r === rules[i]);
  });
  if (chainsOk && current.jumps.length === 1) return undefined;
  const lines = ['*nat'];
  for (const name of desired.keys()) lines.push(`:${name} - [0:0]`);
  for (const rules of desired.values()) lines.push(...rules);
  if (current.jumps.length === 0) lines.push(`-I POSTROUTING 1 -j ${NAT_CHAINS.postrouting}`);
  // Exactly one jump: remove extra ones by their own text.
  for (const extra of current.jumps.slice(1)) lines.push(extra.replace(/^-A /, '-D '));
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** The script that removes every jump to and every chain of Tabby's; undefined if none exist. */
export function natCleanupScript(current: NatTableState): string | undefined {
  if (current.chains.size === 0 && current.jumps.length === 0) return undefined;
  const lines = ['*nat'];
  for (const j of current.jumps) lines.push(j.replace(/^-A /, '-D '));
  for (const name of current.chains.keys()) lines.push(`-F ${name}`);
  for (const name of current.chains.keys()) lines.push(`-X ${name}`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** A restore script that only parses (`--test`): whether MASQUERADE takes --random-fully. */
export const RANDOM_FULLY_PROBE = `*nat\n:tabby-probe - [0:0]\n-A tabby-probe -j MASQUERADE --random-fully\nCOMMIT\n`;
