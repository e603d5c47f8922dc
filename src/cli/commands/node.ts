// `tabby node run` (the agent) and `tabby node status` (asks it over its Unix socket).
// Every `node run` setting is a flag and an environment variable (ENV_TABLE); the agent
// itself loads only when `run` runs.
import type { Argv } from 'yargs';
import { ENV_TABLE } from '../../agent/env-table.js';
import { DEFAULT_STATE_DIR } from '../../agent/status-server.js';

function runOptions<T>(y: Argv<T>): Argv<T> {
  let c = y;
  for (const s of ENV_TABLE) {
    if (!s.flag || s.flag === 'datastore') continue; // --datastore is global
    const env = `$${s.env.join(', $')}`;
    const describe = `${s.describe} [${env}; default ${s.default}]`;
    // yargs reads --no-default-pools as default-pools=false.
    c = s.flag === 'no-default-pools'
      ? c.option('default-pools', { type: 'boolean', describe: `create the default IP pools when none exist; --no-default-pools never does [${env}=true to turn off]` })
      : c.option(s.flag, { type: 'string', describe });
  }
  return c;
}

export function nodeCommands<T extends { datastore?: string }>(yargs: Argv<T>): Argv<T> {
  return yargs.command('node', 'The node agent: run it, or ask it for status', (y) =>
    y
      .command(
        'run',
        'Run the node agent (BGP speaker, routes, dataplane) until SIGTERM; configured by flags or calico-node\'s environment variables',
        (c) => runOptions(c),
        async (a) => {
          const [{ resolveNodeConfig }, { runNode }] = await Promise.all([import('../../agent/node-config.js'), import('../../agent/node-run.js')]);
          await runNode(resolveNodeConfig(a as Record<string, string | boolean | undefined>));
        },
      )
      .command(
        'status',
        'BGP session status of the running agent (calicoctl node status)',
        (c) =>
          c
            .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'the agent\'s state directory (holds agent.sock)' })
            .option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const }),
        async (a) => {
          const [{ askAgent }, { formatNodeStatus }] = await Promise.all([import('../../agent/status-server.js'), import('../../agent/status.js')]);
          const status = (await askAgent(a['state-dir'], 'status')) as import('../../agent/status.js').NodeStatusJson;
          process.stdout.write(a.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatNodeStatus(status));
        },
      )
      .command(
        'cleanup',
        'Remove everything Tabby programmed in this namespace: eBPF programs and pins, iptables chains and ipsets, vxlan.tabby, its routes',
        (c) =>
          c
            .option('dataplane', { choices: ['bpf', 'iptables', 'all'] as const, default: 'all' as const, describe: 'which mode\'s leftovers to remove (routes always go)' })
            .option('bpf-pin-root', { type: 'string', default: '/sys/fs/bpf/tabby', describe: 'the pin root the bpf dataplane used' }),
        async (a) => {
          const { dataplaneCleanup } = await import('../../dataplane/dataplane-cleanup.js');
          const r = await dataplaneCleanup(a.dataplane, { pinRoot: a['bpf-pin-root'] });
          process.stdout.write(`removed: tc programs on ${r.tcInterfaces.length} interface(s)${r.tcInterfaces.length ? ` (${r.tcInterfaces.join(', ')})` : ''}, ` +
            `${r.pinsRemoved ? 'pins, ' : ''}${r.iptables ? 'iptables chains and ipsets, ' : ''}${r.vxlanDevice ? 'vxlan.tabby, ' : ''}${r.routes} route(s)\n`);
        },
      )
      .demandCommand(1, 'give a node verb: run, status or cleanup'),
  );
}
