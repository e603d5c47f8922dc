// `tabby node run` (the agent) and `tabby node status` (asks it over its Unix socket).
import type { Argv } from 'yargs';
import { Agent } from '../../agent/agent.js';
import { DEFAULT_SECRETS_DIR } from '../../agent/secrets.js';
import { DEFAULT_STATE_DIR, askAgent } from '../../agent/status-server.js';
import { openDatastore } from '../../datastore/open.js';
import { ValidationError } from '../../errors.js';
import { createLogger } from '../../util/log.js';
import { formatNodeStatus, type NodeStatusJson } from '../../agent/status.js';

export function nodeCommands<T extends { datastore?: string }>(yargs: Argv<T>): Argv<T> {
  return yargs.command('node', 'The node agent: run it, or ask it for status', (y) =>
    y
      .command(
        'run',
        'Run the node agent (BGP speaker, routes, dataplane) until SIGTERM',
        (c) =>
          c
            .option('name', { type: 'string', describe: 'node name (default: the hostname)' })
            .option('dataplane', { choices: ['bpf', 'iptables', 'none'] as const, default: 'bpf' as const })
            .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR })
            .option('ip', { type: 'string', default: 'first-found', describe: 'IPv4 autodetection: first-found, can-reach=DEST, interface=REGEX, skip-interface=REGEX, cidr=CIDR' })
            .option('ip6', { type: 'string', describe: 'IPv6 autodetection method (no IPv6 when absent)' })
            .option('health-address', { type: 'string', default: '127.0.0.1', describe: 'address for /metrics, /liveness, /readiness' })
            .option('health-port', { type: 'number', default: 9099, describe: '0 picks a free port; -1 disables' })
            .option('secrets-dir', { type: 'string', default: DEFAULT_SECRETS_DIR, describe: 'BGP passwords as DIR/<secret>/<key>' })
            .option('log-level', { type: 'string', default: process.env.TABBY_LOG_LEVEL ?? 'info' }),
        async (a) => {
          if (a['health-port'] < -1 || a['health-port'] > 65535) throw new ValidationError('--health-port', 'must be -1 (off) or a port 0-65535');
          const logger = createLogger({ level: a['log-level'], name: 'tabby' });
          const store = await openDatastore(a.datastore);
          const agent = new Agent({
            nodeName: a.name,
            store,
            dataplane: a.dataplane,
            stateDir: a['state-dir'],
            secretsDir: a['secrets-dir'],
            ipMethod: a.ip,
            ip6Method: a.ip6,
            health: a['health-port'] === -1 ? false : { address: a['health-address'], port: a['health-port'] },
            logger,
          });
          const stop = (signal: string) => {
            logger.info({ signal }, 'stopping');
            agent.stop().then(
              () => process.exit(0),
              (err) => {
                logger.error({ err }, 'stop failed');
                process.exit(1);
              },
            );
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
          try {
            await agent.start();
          } catch (err) {
            await agent.stop().catch(() => undefined);
            throw err;
          }
          await new Promise<never>(() => undefined); // run until a signal
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
          const status = (await askAgent(a['state-dir'], 'status')) as NodeStatusJson;
          process.stdout.write(a.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : formatNodeStatus(status));
        },
      )
      .demandCommand(1, 'give a node verb: run or status'),
  );
}
