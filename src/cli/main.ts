#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20
// `tabby`: calicoctl-compatible resource verbs, legacy verbs, and (later) node, lab, bench.
// The V8 flags above are for the agent (`tabby node run`), a long-running daemon with
// bursty allocation: a small young generation and tight old-generation growth keep its
// peak RSS near its live heap (about 100 MiB rather than 130 for 100k routes) at no
// measurable CPU cost. They take effect when tabby is run as a program, as deployed.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Argv } from 'yargs';
import type { GlobalArgs } from './context.js';
import { TabbyError } from '../errors.js';
import { legacyCommands } from './commands/legacy.js';
import { nodeCommands } from './commands/node.js';
import { labCommands } from './commands/lab.js';
import { benchCommands } from './commands/bench.js';
import { resourceCommands } from './commands/resources.js';

/** One clear line on stderr and a non-zero exit: the CLI's error contract. */
function die(message: string): never {
  process.stderr.write(`tabby: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  let cli: Argv<GlobalArgs> = yargs(argv)
    .scriptName('tabby')
    .option('datastore', { type: 'string', global: true, describe: 'file:DIR or etcd:http://HOST:PORT[,…] (default $TABBY_DATASTORE or file:/var/lib/tabby)' })
    .strict()
    .recommendCommands()
    .demandCommand(1, 'give a command (see tabby --help)')
    .help()
    .version(false)
    .wrap(null)
    .fail((msg, err) => die(err ? (err instanceof TabbyError ? err.message : String(err.message ?? err)) : msg));
  cli = resourceCommands(cli);
  cli = legacyCommands(cli);
  cli = nodeCommands(cli);
  cli = labCommands(cli);
  cli = benchCommands(cli);
  await cli.parseAsync();
}

main(hideBin(process.argv)).catch((err: unknown) => die(err instanceof Error ? err.message : String(err)));
