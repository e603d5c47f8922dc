// `tabby`: calicoctl-compatible resource verbs, legacy verbs, node, ipam, lab, bench.
// Command modules only declare their options; each handler imports what it runs, so a
// `tabby get` loads neither the etcd client nor the agent (see `tabby bench startup`).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Argv } from 'yargs';
import type { GlobalArgs } from './context.js';
import { errorText } from './error-text.js';
import { legacyCommands } from './commands/legacy.js';
import { nodeCommands } from './commands/node.js';
import { labCommands } from './commands/lab.js';
import { benchCommands } from './commands/bench.js';
import { resourceCommands } from './commands/resources.js';
import { ipamCommands } from './commands/ipam.js';
import { versionCommands, printVersion } from './commands/version.js';

/** One line on stderr and a non-zero exit: the CLI's error contract. */
function die(message: string): never {
  process.stderr.write(`tabby: ${message}\n`);
  process.exit(1);
}

/**
 * grpc-js sets the TLS server name to the endpoint even when it is an IP address, and Node
 * warns (DEP0123) on every etcd call to https://IP:PORT; that would break the one-line
 * error contract and is nothing an operator can act on. Other warnings print as before.
 */
function quietTlsServerNameWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== 'DEP0123') process.stderr.write(`${w.name}: ${w.message}\n`);
  });
}

export async function main(argv: string[]): Promise<void> {
  quietTlsServerNameWarning();
  // `--version` anywhere before `--`, as yargs' own version flag would, but read lazily.
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).includes('--version')) return printVersion('table');
  let cli: Argv<GlobalArgs> = yargs(argv)
    .scriptName('tabby')
    .option('datastore', { type: 'string', global: true, describe: 'file:DIR or etcd:http(s)://HOST:PORT[,…] (default $TABBY_DATASTORE, $ETCD_ENDPOINTS or file:/var/lib/tabby)' })
    .strict()
    .recommendCommands()
    .demandCommand(1, 'give a command (see tabby --help)')
    .completion('completion', 'Print a bash or zsh completion script: source <(tabby completion)')
    .help()
    .version(false)
    .epilogue('tabby --version (or tabby version) shows the version, git commit, Node, addon and eBPF object versions.')
    .wrap(null)
    .fail((msg, err) => die(errorText(err ?? msg)));
  cli = resourceCommands(cli);
  cli = legacyCommands(cli);
  cli = nodeCommands(cli);
  cli = ipamCommands(cli);
  cli = versionCommands(cli);
  cli = labCommands(cli);
  cli = benchCommands(cli);
  await cli.parseAsync();
}

/** Run the CLI on process.argv, exiting non-zero with one line on failure. */
export function runCli(): void {
  main(hideBin(process.argv)).catch((err: unknown) => die(errorText(err)));
}
