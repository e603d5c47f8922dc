// A Secret volume laid out as the kubelet's atomic writer lays it out, at the path
// deploy/daemonset.yaml mounts it: the data in a timestamped directory, `..data` pointing
// at it, and each key a symlink through `..data`.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './paths.js';

/** Where deploy/daemonset.yaml mounts the Secret named `secretName` in the agent container. */
export function daemonSetSecretMount(secretName: string): string {
  const ds = parse(readFileSync(join(ROOT, 'deploy', 'daemonset.yaml'), 'utf8'));
  const pod = ds.spec.template.spec;
  const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === secretName);
  if (!volume) throw new Error(`deploy/daemonset.yaml mounts no Secret ${secretName}`);
  const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
  if (!mount) throw new Error(`volume ${volume.name} is not mounted`);
  return mount.mountPath as string;
}

/** Writes the Secret's `data` under `root` + `mountPath` as the kubelet would. */
export function kubeletSecretMount(root: string, mountPath: string, data: Record<string, string>): void {
  const dir = join(root, mountPath);
  const ts = '..2026_12_07_12_00_00.000000001';
  mkdirSync(join(dir, ts), { recursive: true });
  for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, ts, k), v, { mode: 0o400 });
  symlinkSync(ts, join(dir, '..data'));
  for (const k of Object.keys(data)) symlinkSync(join('..data', k), join(dir, k));
}
