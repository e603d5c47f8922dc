// `tabby node run` (the agent) and `tabby node status` (asks it over its Unix socket).
import type { Argv } from 'yargs';
import { DEFAULT_STATE_DIR, askAgent } from '../../agent/status-server.js';
import { formatNodeStatus, type NodeStatusJson } from '../../agent/status.js';

export function nodeCommands<T extends { datastore?: string }>(yargs: Argv<T>): Argv<T> {
  return yargs.command('node', 'The node agent: run it, or ask it for status', (y) =>
    y
      .command(
        'status',
        'BGP session status of the running agent (calicoctl node status)',
        (c) =>
          c
            .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'the agent\'s state directory (holds agent.sock)' })
            .option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const }),
        async (a) => {
          const status = (await askAgent(a['state-dir'], 'status')) as NodeStatusJson;
          process.stdout.write(a.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatNodeStatus(status));
        },
      )
      .demandCommand(1, 'give a node verb: run or status'),
  );
}
