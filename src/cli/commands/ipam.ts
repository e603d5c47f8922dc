// `tabby ipam …`: registered here so the verbs are reachable; what they do lives in
// ../ipam-verbs.ts (and src/ipam), loaded when one runs.
import type { Argv } from 'yargs';
import type { GlobalArgs } from '../context.js';

export function ipamCommands(yargs: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return yargs.command('ipam', 'IP address management: usage, release, consistency check', (y) =>
    y
      .command(
        'show',
        'Addresses in use per IP pool (and per block with --show-blocks), or what holds one address, as calicoctl ipam show',
        (c) =>
          c
            .option('show-blocks', { type: 'boolean', default: false, describe: 'a row per allocation block too' })
            .option('ip', { type: 'string', describe: 'show what holds this address' })
            .option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const }),
        async (a) => (await import('../ipam-verbs.js')).show(a, { showBlocks: a['show-blocks'], ip: a.ip, output: a.output }),
      )
      .command(
        'release',
        'Release an IP address whatever holds it, as calicoctl ipam release --ip',
        (c) => c.option('ip', { type: 'string', demandOption: true, describe: 'the address to release' }),
        async (a) => (await import('../ipam-verbs.js')).release(a, a.ip),
      )
      .command(
        'check',
        'Find allocations nobody uses (leaked, or whose container is gone) and addresses in use without one, as calicoctl ipam check',
        (c) =>
          c
            .option('fix', { type: 'boolean', default: false, describe: 'release leaked addresses and delete endpoints whose container is gone' })
            .option('node', { type: 'string', describe: "the node whose containers' namespaces this host sees (default: $TABBY_NODENAME or the hostname)" })
            .option('grace', { type: 'number', default: 300, describe: 'seconds an allocation may exist before its endpoint (an ADD in flight)' })
            .option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const }),
        async (a) => (await import('../ipam-verbs.js')).check(a, { fix: a.fix, node: a.node, grace: a.grace, output: a.output }),
      )
      .demandCommand(1, 'give an ipam verb: show, release or check'),
  );
}
