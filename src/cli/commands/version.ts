// `tabby version [-o table|json]` and `tabby --version`: calicoctl's version lines plus
// Node and the digests of the addon and eBPF objects this build would load.
import type { Argv } from 'yargs';

export async function printVersion(format: 'table' | 'json'): Promise<void> {
  const { buildInfo, formatBuildInfo } = await import('../../util/build-info.js');
  const info = buildInfo();
  process.stdout.write(format === 'json' ? `${JSON.stringify(info, null, 2)}\n` : formatBuildInfo(info));
}

export function versionCommands<T>(yargs: Argv<T>): Argv<T> {
  return yargs.command(
    'version',
    'Show version, git commit, Node, addon and eBPF object versions',
    (y) => y.option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const }),
    (a) => printVersion(a.output),
  );
}
