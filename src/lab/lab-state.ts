// What `tabby lab up` built, kept on disk so `status` and `down` (also after a crash) find it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TabbyError } from '../errors.js';

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

export interface LabState {
  prefix: string;
  dir: string;
  datastore: string;
  dataplane: string;
  encap: string;
  /** How workloads were made: namespaces wired by tabby-cni, or podman containers on it. */
  runtime?: 'netns' | 'podman';
  nodes: { name: string; namespace: string; address: string; cidr: string; stateDir: string; pid?: number; workloads: { namespace: string; address: string; containerID?: string; container?: string }[] }[];
  tor: { namespace: string; address: string; asn: number; pid?: number; socket?: string } | null;
  external: { namespace: string; address: string } | null;
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

/** DESIGN.md's `tabby lab status -o json` form. */
export function statusJson(s: LabState) {
  return {
    nodes: s.nodes.map((n) => ({ name: n.name, namespace: n.namespace, address: n.address, workloads: n.workloads.map((w) => ({ namespace: w.namespace, address: w.address, ...(w.container ? { container: w.container } : {}) })) })),
    tor: s.tor ? { namespace: s.tor.namespace, address: s.tor.address, asn: s.tor.asn } : null,
    external: s.external,
  };
}
