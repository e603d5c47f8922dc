// `tabby ipam …`: registered here so the verbs are reachable; what they do lives in
// ../ipam-verbs.ts (and src/ipam), loaded when one runs.
import type { Argv } from 'yargs';
import type { GlobalArgs } from '../context.js';

export function ipamCommands(yargs: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return yargs.command('ipam', 'IP address management: block and pool usage', (y) =>
    y
      .command(
        'show',
        'Addresses in use per IP pool (and per block with --show-blocks), as calicoctl ipam show',
        (c) => c.option('show-blocks', { type: 'boolean', default: false, describe: 'a row per allocation block too' }),
        async (a) => (await import('../ipam-verbs.js')).show(a, { showBlocks: a['show-blocks'] }),
      )
      .demandCommand(1, 'give an ipam verb: show'),
  );
}
