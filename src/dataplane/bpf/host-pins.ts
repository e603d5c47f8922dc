// Where the host programs keep their maps and programs on bpffs, so the next agent
// reuses the maps themselves (Cilium's /sys/fs/bpf/tc/globals is the model):
//
//   ROOT/maps-<version>/<map name>   the maps, one directory per layout version
//   ROOT/progs/<program name>        the programs last attached
//
// The version is derived from the struct layouts shared with TypeScript plus an epoch
// bumped by hand for other changes (a map's type or size): a successor with the same
// version reuses the maps as they are; one with another version loads fresh maps,
// migrates the state once from the program in the slot, and removes the old directory.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ValidationError } from '../../errors.js';
import { run } from '../../util/exec.js';
import { BPF_LAYOUTS } from './layouts.js';

/** Default pin root (bpffs is global: one agent per root). */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/tabby';
/** Bump when a map changes in a way the struct layouts do not show (type, key, size). */
export const HOST_MAPS_EPOCH = 3; // 2: counters gained TABBY_CTR_FRAG_NEEDED; 3: snat_frags keys hold IPv6
const BPF_FS_MAGIC = 0xcafe4a11;
/** Where bpffs is mounted by convention; mounted there when missing, as Cilium and Felix do. */
const BPF_FS = '/sys/fs/bpf';

/** `e<epoch>-<hash of the shared struct layouts>`. */
export function hostMapsVersion(): string {
  const hash = createHash('sha256').update(JSON.stringify(BPF_LAYOUTS)).digest('hex').slice(0, 12);
  return `e${HOST_MAPS_EPOCH}-${hash}`;
}

export interface HostPins {
  root: string;
  mapsDir: string;
  progsDir: string;
  /** mapsDir already holds maps of this version: the load reuses them. */
  reuse: boolean;
  /** Map directories of other versions (a predecessor's layout): removed after the takeover. */
  stale: string[];
}

/** Creates ROOT (on bpffs, mounted at /sys/fs/bpf if need be) and its progs directory, and says what is pinned there. */
export async function hostPins(root: string, version = hostMapsVersion()): Promise<HostPins> {
  if (!root.startsWith('/')) throw new ValidationError('pinRoot', 'must be an absolute path');
  await ensureBpffs(root);
  mkdirSync(join(root, 'progs'), { recursive: true });
  const name = `maps-${version}`;
  const mapsDir = join(root, name);
  const reuse = existsSync(mapsDir) && readdirSync(mapsDir).length > 0;
  const stale = readdirSync(root).filter((e) => e.startsWith('maps-') && e !== name).map((e) => join(root, e));
  return { root, mapsDir, progsDir: join(root, 'progs'), reuse, stale };
}

// Checked before any mkdir: a directory cannot be made on sysfs (and Node's recursive
// mkdir spins there instead of failing).
async function ensureBpffs(root: string): Promise<void> {
  let at = root;
  while (!existsSync(at)) at = dirname(at);
  if (statfsSync(at).type === BPF_FS_MAGIC) return;
  if (at === BPF_FS && (root + '/').startsWith(`${BPF_FS}/`)) {
    await run(['mount', '-t', 'bpf', 'bpf', BPF_FS]);
    if (statfsSync(at).type === BPF_FS_MAGIC) return;
  }
  throw new ValidationError('pinRoot', `${root} is not on a bpf file system (mount -t bpf bpf ${BPF_FS})`);
}

/** Unpins everything under ROOT and ROOT itself; the objects live on while attached. */
export function removePins(root: string): void {
  rmSync(root, { recursive: true, force: true });
}
