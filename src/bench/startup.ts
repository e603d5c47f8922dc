// `tabby bench startup`: how long a CLI call takes against bare `node -e 0`, the floor
// any Node program pays. Subjects run interleaved (so load from elsewhere hits them
// alike), each rep a fresh process; wall time from spawn to exit, and the child's CPU
// time from /proc/self/stat's cutime+cstime (children this process waited for). The
// target: `tabby get` on a file: store within 1.5× of `node -e 0` (ratio ≥ 1/1.5).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { BenchError, checkInt } from './common.js';
import { benchResult, perRep, type BenchResult, type Sample } from './report.js';

export interface StartupOptions {
  reps: number;
  progress: (line: string) => void;
}

const CLK_TCK = 100;

/** CPU seconds of this process's waited-for children so far. */
function childCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ")": field 3 is index 0, so cutime (16) and cstime (17) are 13 and 14.
  return (Number(f[13]) + Number(f[14])) / CLK_TCK;
}

const PEERS = `apiVersion: projectcalico.org/v3
kind: BGPPeerList
items:
${Array.from({ length: 10 }, (_, i) => `  - {apiVersion: projectcalico.org/v3, kind: BGPPeer, metadata: {name: peer-${i}}, spec: {peerIP: 10.0.0.${i + 1}, asNumber: 6451${i % 10}}}`).join('\n')}
`;

export async function benchStartup(o: StartupOptions): Promise<BenchResult> {
  checkInt('reps', o.reps, 3, 1000);
  const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-startup-'));
  try {
    const env = { ...process.env, TABBY_DATASTORE: `file:${dir}` };
    const seed = spawnSync(process.execPath, [cli, 'apply', '-f', '-'], { input: PEERS, env, encoding: 'utf8' });
    if (seed.status !== 0) throw new BenchError(`seeding the store failed: ${seed.stderr}`);
    // tabby runs as users run it: the executable itself, so its #! line's V8 flags apply.
    const node = process.execPath;
    const subjects: [string, string, string[]][] = [
      ['node -e 0', node, ['-e', '0']],
      // The floor for a yargs CLI: Node plus nothing but importing yargs.
      ['node: import yargs', node, ['--input-type=module', '-e', "await import('yargs')"]],
      ['tabby get bgppeers', cli, ['get', 'bgppeers']],
      ['tabby --help', cli, ['--help']],
    ];
    const samples: Sample[] = [];
    for (let rep = 0; rep < o.reps; rep++) {
      o.progress(`startup: rep ${rep + 1}/${o.reps}`);
      for (const [subject, command, args] of subjects) {
        const cpu0 = childCpu();
        const t0 = process.hrtime.bigint();
        const r = spawnSync(command, args, { env, cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        const wall = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== 0) throw new BenchError(`${subject} failed: ${r.stderr}`);
        samples.push({ metric: 'wall', subject, rep, value: wall, unit: 'ms' });
        samples.push({ metric: 'cpu', subject, rep, value: (childCpu() - cpu0) * 1000, unit: 'ms' });
      }
    }
    const ratio = (metric: string, subject: string) => perRep(samples, metric, 'node -e 0', subject);
    return await benchResult({
      benchmark: 'startup',
      options: { reps: o.reps },
      samples,
      ratios: {
        'startup wall: node -e 0 / tabby get (file:)': ratio('wall', 'tabby get bgppeers'),
        'startup cpu: node -e 0 / tabby get (file:)': ratio('cpu', 'tabby get bgppeers'),
        'startup wall: node -e 0 / tabby --help': ratio('wall', 'tabby --help'),
        'startup wall: node -e 0 / import yargs (the floor)': ratio('wall', 'node: import yargs'),
      },
      targets: { 'startup wall: node -e 0 / tabby get (file:)': +(1 / 1.5).toFixed(3) },
      notes: ['cpu is user+system time of the child, in 10 ms ticks summed per run; wall includes the spawn itself'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
