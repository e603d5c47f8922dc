// `tabby bench routes|codec|dataplane|bgp|startup`: Tabby against its anchors in one run, a
// table on stdout, progress on stderr, `--json FILE` (DESIGN.md's form) and `--svg FILE`.

import type { Argv } from 'yargs';
import type { BenchResult } from '../../bench/report.js';
import { TabbyError, ValidationError } from '../../errors.js';

export class TargetMissedError extends TabbyError {
  override readonly code = 'BENCH_TARGET_MISSED';
}

async function runBench(a: { json?: string; svg?: string; check?: boolean }, fn: (say: (line: string) => void) => Promise<BenchResult>): Promise<void> {
  const [{ cleanupAll, installSignalHandlers }, { endProgress, formatResult, missedTargets, progress, writeJson, writeSvg }] = await Promise.all([
    import('../../bench/cleanup.js'),
    import('../../bench/report.js'),
  ]);
  installSignalHandlers();
  const say = progress();
  let r: BenchResult;
  try {
    r = await fn(say);
  } finally {
    endProgress();
    await cleanupAll();
  }
  for (const [k, v] of Object.entries(r.ratios)) {
    if (!Number.isFinite(v)) {
      delete r.ratios[k];
      r.notes.push(`ratio "${k}" left out: not a finite number (a zero or missing measurement)`);
    }
  }
  process.stdout.write(formatResult(r));
  if (a.json) writeJson(a.json, r);
  if (a.svg) writeSvg(a.svg, r);
  const missed = a.check ? missedTargets(r) : [];
  if (missed.length > 0) throw new TargetMissedError(`tabby bench ${r.benchmark}: ${missed.length} target${missed.length > 1 ? 's' : ''} missed: ${missed.join('; ')}`);
}

function common<T>(y: Argv<T>) {
  return y
    .option('json', { type: 'string', describe: 'write every sample, the summary and the ratios to FILE' })
    .option('svg', { type: 'string', describe: 'write a bar chart of the ratios to FILE' })
    .option('check', { type: 'boolean', default: false, describe: 'exit non-zero when a ratio misses its target' })
    .option('reps', { type: 'number', default: 5, describe: 'repetitions; ratios are taken per rep (median, min, max)' });
}

export function benchCommands<T extends { datastore?: string }>(yargs: Argv<T>): Argv<T> {
  return yargs.command('bench', 'Benchmarks: Tabby against iproute2, BIRD, GoBGP and the kernel dataplane', (y) =>
    y
      .command(
        'routes',
        'Install/replace/delete N routes: batched netlink vs ip -batch',
        (c) =>
          common(c)
            .option('count', { type: 'number', default: 100_000 })
            .option('prefix-len', { type: 'number', default: 32 }),
        async (a) => {
          const { benchRoutes } = await import('../../bench/routes.js');
          await runBench(a, (say) => benchRoutes({ count: a.count, prefixLen: a['prefix-len'], reps: a.reps, progress: say }));
        },
      )
      .command(
        'codec',
        'BGP UPDATE decode/encode, prefixes per second, IPv4 and IPv6',
        (c) =>
          common(c)
            .option('prefixes', { type: 'string', default: '100000,1000000', describe: 'comma-separated table sizes' }),
        async (a) => {
          const { benchCodec } = await import('../../bench/codec.js');
          const sizes = a.prefixes.split(',').map((s) => Number(s.trim()));
          await runBench(a, (say) => benchCodec({ prefixes: sizes, reps: a.reps, progress: say }));
        },
      )
      .command(
        'dataplane',
        'iperf3 throughput and ping latency: eBPF IPIP vs plain routing, eBPF VXLAN vs kernel VXLAN; eBPF SNAT vs iptables',
        (c) =>
          common(c)
            .option('seconds', { type: 'number', default: 5 }),
        async (a) => {
          const { benchDataplane } = await import('../../bench/dataplane.js');
          await runBench(a, (say) => benchDataplane({ seconds: a.seconds, reps: a.reps, progress: say }));
        },
      )
      .command(
        'bgp',
        'BIRD originates N prefixes to the Tabby agent (tabby node run), BIRD and GoBGP: convergence, withdrawal, CPU, peak RSS; then the mesh case',
        (c) =>
          common(c)
            .option('prefixes', { type: 'number', default: 100_000 })
            .option('peer', { choices: ['bird', 'gobgp'] as const, default: 'bird' as const, describe: 'the anchor receiver for convergence' })
            .option('receivers', { type: 'string', default: 'tabby,bird,gobgp', describe: 'comma-separated: which receivers to run' })
            .option('agent-dataplane', { choices: ['iptables', 'none'] as const, default: 'iptables' as const, describe: 'the agent\'s --dataplane' })
            .option('mesh-peers', { type: 'number', default: 100, describe: 'mesh case: BIRD peers (0 skips the mesh case)' })
            .option('mesh-blocks', { type: 'number', default: 1000, describe: 'mesh case: /26 blocks spread over the peers' })
            .option('cpu-prof', { type: 'string', describe: 'one extra, uncounted agent rep under node --cpu-prof; profiles into DIR' }),
        async (a) => {
          const { benchBgp } = await import('../../bench/bgp.js');
          const { checkInt } = await import('../../bench/common.js');
          if (a['mesh-peers'] !== 0) {
            checkInt('mesh-peers', a['mesh-peers'], 1, 250);
            checkInt('mesh-blocks', a['mesh-blocks'], 1, 16_384);
          }
          const receivers = a.receivers.split(',').map((s) => s.trim());
          for (const r of receivers) if (!['tabby', 'bird', 'gobgp'].includes(r)) throw new ValidationError('--receivers', `unknown receiver ${JSON.stringify(r)}: use tabby, bird, gobgp`);
          await runBench(a, (say) =>
            benchBgp({
              receivers: receivers as ('tabby' | 'bird' | 'gobgp')[],
              prefixes: a.prefixes, peer: a.peer, reps: a.reps, agentDataplane: a['agent-dataplane'],
              mesh: a['mesh-peers'] === 0 ? false : { peers: a['mesh-peers'], blocks: a['mesh-blocks'] },
              ...(a['cpu-prof'] ? { cpuProf: a['cpu-prof'] } : {}), progress: say,
            }));
        },
      )
      .command(
        'startup',
        'CLI start-up: tabby get on a file: store and tabby --help against bare node -e 0',
        (c) => common(c).option('reps', { type: 'number', default: 30 }),
        async (a) => {
          const { benchStartup } = await import('../../bench/startup.js');
          await runBench(a, (say) => benchStartup({ reps: a.reps, progress: say }));
        },
      )
      .demandCommand(1, 'give a benchmark: routes, codec, dataplane, bgp or startup'),
  );
}
