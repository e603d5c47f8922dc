// What `tabby lab up` built, kept on disk so `status` and `down` (also after a crash) find it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TabbyError } from '../errors.js';
import { parseIP } from '../api/net.js';

export const LAB_DIR = process.env.TABBY_LAB_DIR ?? '/var/run/tabby-lab';
export const LAB_PREFIX = 'tabby';

/** The lab is not in the state a command needs (none running, no etcd, a process died). */
export class LabError extends TabbyError {
  override readonly code = 'LAB';
}

/** The lab's etcd (`lab up --datastore etcd`): where it runs and how to start it again. */
export interface LabEtcd {
  namespace: string;
  address: string;
  /** What the agents use: http://ADDRESS:2379 on the fabric. */
  clientUrl: string;
  dir: string;
  /** The Unix socket etcd also serves, for clients outside the lab's namespaces. */
  socket: string;
  logFile: string;
  argv: string[];
  pid?: number;
}

/** Which families the lab's underlay, pools and workloads have (`lab up --ip-family`). */
export type LabIpFamily = 'ipv4' | 'ipv6' | 'dual';

/**
 * A lab host or workload's addresses: `address` is the IPv4 one, or the IPv6 one in an
 * IPv6-only lab (DESIGN.md's `lab status -o json` keeps that field); `address6` the IPv6
 * one beside an IPv4 address.
 */
export interface LabAddresses {
  address: string;
  address6?: string;
}

/** The address of `family`, canonical (RFC 5952, as sockets print it); undefined when there is none. */
export function familyAddress(x: LabAddresses, family: 4 | 6): string | undefined {
  for (const a of [x.address, x.address6]) {
    const p = a ? parseIP(a) : undefined;
    if (p?.family === family) return p.address;
  }
  return undefined;
}

export interface LabState {
  prefix: string;
  /** Absent in a state written before dual stack: IPv4. */
  ipFamily?: LabIpFamily;
  dir: string;
  datastore: string;
  dataplane: string;
  encap: string;
  /** How workloads were made: namespaces wired by tabby-cni, or podman containers on it. */
  runtime?: 'netns' | 'podman';
  nodes: (LabAddresses & { name: string; namespace: string; cidr: string; stateDir: string; pid?: number; workloads: (LabAddresses & { namespace: string; containerID?: string; container?: string })[] })[];
  tor: (LabAddresses & { namespace: string; asn: number; pid?: number; socket?: string }) | null;
  external: (LabAddresses & { namespace: string }) | null;
  fabrics: string[];
  pids: number[];
  etcd?: LabEtcd;
}

const file = (dir: string) => join(dir, 'lab.json');

export function saveState(s: LabState): void {
  mkdirSync(s.dir, { recursive: true });
  writeFileSync(file(s.dir), JSON.stringify(s, null, 2));
}

export function loadState(dir = LAB_DIR): LabState | undefined {
  try {
    return JSON.parse(readFileSync(file(dir), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function removeStateDir(dir = LAB_DIR): void {
  rmSync(dir, { recursive: true, force: true });
}

const addresses = (x: LabAddresses): LabAddresses => ({ address: x.address, ...(x.address6 ? { address6: x.address6 } : {}) });

/** DESIGN.md's `tabby lab status -o json` form (ipFamily and address6 are extra fields). */
export function statusJson(s: LabState) {
  return {
    ipFamily: s.ipFamily ?? 'ipv4',
    nodes: s.nodes.map((n) => ({ name: n.name, namespace: n.namespace, ...addresses(n), workloads: n.workloads.map((w) => ({ namespace: w.namespace, ...addresses(w), ...(w.container ? { container: w.container } : {}) })) })),
    tor: s.tor ? { namespace: s.tor.namespace, ...addresses(s.tor), asn: s.tor.asn } : null,
    external: s.external ? { namespace: s.external.namespace, ...addresses(s.external) } : null,
  };
}
