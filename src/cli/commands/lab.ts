// `tabby lab up|status|down`: the multi-node demo in network namespaces. The lab (and
// with it the agent's modules) loads when a lab verb runs.
import type { Argv } from 'yargs';
import type { Matrix } from '../../lab/lab.js';
import type { LabState } from '../../lab/lab-state.js';
import { out } from '../context.js';
import { formatTable } from '../output.js';
import { UsageError } from '../../errors.js';

function progress(): (line: string) => void {
  const tty = process.stderr.isTTY;
  let last = '';
  return (line) => {
    if (line === last) return;
    last = line;
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}

const okFail = (v: boolean | undefined) => (v === undefined ? '-' : v ? 'ok' : 'FAIL');

/** One row per path and family: ping, TCP, and the source address the listener saw. */
function matrixTable(m: Matrix): string {
  return formatTable([
    ['FROM', 'TO', 'FAMILY', 'PING', 'TCP', 'SOURCE SEEN', ''],
    ...m.rows.map((r) => [r.from, r.to, r.family, okFail(r.ping), okFail(r.tcp), r.seen === undefined || r.seen === r.expected ? (r.seen ?? '') : `${r.seen} (want ${r.expected})`, r.note ? `(${r.note})` : '']),
  ]);
}

async function printMatrix(state: LabState): Promise<boolean> {
  const { connectivity } = await import('../../lab/lab.js');
  const m = await connectivity(state);
  out('Connectivity');
  process.stdout.write(matrixTable(m));
  out(m.ok ? 'All paths work.' : 'Some paths FAILED.');
  return m.ok;
}

export function labCommands<T extends { datastore?: string }>(yargs: Argv<T>): Argv<T> {
  return yargs.command('lab', 'A multi-node Tabby cluster in network namespaces', (y) =>
    y
      .command(
        'up',
        'Build the lab, start one agent per node, wait for convergence, test connectivity',
        (c) =>
          c
            .option('nodes', { type: 'number', default: 3 })
            .option('ip-family', { choices: ['ipv4', 'ipv6', 'dual'] as const, default: 'dual' as const, describe: 'address families of the underlay, the ToR, the pools and the workloads' })
            .option('encap', { choices: ['ipip', 'vxlan', 'none'] as const, default: 'ipip' as const })
            .option('cross-subnet', { type: 'boolean', default: false, describe: 'encapsulate only across subnets (CrossSubnet)' })
            .option('dataplane', { choices: ['bpf', 'iptables', 'none'] as const, default: 'bpf' as const })
            .option('tor', { choices: ['bird', 'none'] as const, default: 'bird' as const })
            .option('datastore', { choices: ['file', 'etcd'] as const, default: 'file' as const })
            .option('subnets', { choices: [1, 2] as const, default: 1 as const, describe: '2 puts the last node behind the ToR on a second subnet' })
            .option('workloads', { type: 'number', default: 1, describe: 'workloads per node' })
            .option('runtime', { choices: ['netns', 'podman'] as const, default: 'netns' as const, describe: 'workloads as namespaces wired by tabby-cni, or podman containers on a tabby-cni network' })
            .check((a) => {
              if (!Number.isInteger(a.nodes) || a.nodes < 1 || a.nodes > 20) throw new UsageError('--nodes must be 1 to 20');
              if (!Number.isInteger(a.workloads) || a.workloads < 1 || a.workloads > 10) throw new UsageError('--workloads must be 1 to 10');
              return true;
            }),
        async (a) => {
          const [{ labUp, nodeStatus }, { formatNodeStatus }] = await Promise.all([import('../../lab/lab.js'), import('../../agent/status.js')]);
          const say = progress();
          const state = await labUp({
            nodes: a.nodes,
            ipFamily: a['ip-family'],
            encap: a.encap,
            crossSubnet: a['cross-subnet'],
            dataplane: a.dataplane,
            tor: a.tor,
            datastore: a.datastore,
            subnets: a.subnets as 1 | 2,
            workloads: a.workloads,
            runtime: a.runtime,
            progress: say,
          });
          say('converged');
          process.stderr.write('\n');
          for (const n of state.nodes) {
            const s = await nodeStatus(n);
            out(`== ${n.name} (${n.namespace}, ${[n.address, n.address6].filter(Boolean).join(', ')}) ==`);
            out(s ? formatNodeStatus(s) : 'no status (agent not answering)');
          }
          const ok = await printMatrix(state);
          out('Tear down with: tabby lab down');
          if (!ok) process.exitCode = 1;
        },
      )
      .command(
        'status',
        'Names, addresses and namespaces of the lab; the table form adds the connectivity matrix',
        (c) =>
          c
            .option('output', { alias: 'o', choices: ['table', 'json'] as const, default: 'table' as const })
            .option('connectivity', { type: 'boolean', default: true, describe: 'test every path (table form; --no-connectivity skips it)' }),
        async (a) => {
          const { LabError, loadState, statusJson } = await import('../../lab/lab-state.js');
          const state = loadState();
          if (!state) throw new LabError('no lab is running (tabby lab up)');
          const j = statusJson(state);
          if (a.output === 'json') return out(JSON.stringify(j, null, 2));
          const both = (x: { address: string; address6?: string }) => [x.address, x.address6].filter(Boolean).join(' ');
          const rows = [['NAME', 'NAMESPACE', 'ADDRESS', 'WORKLOADS']];
          for (const n of j.nodes) rows.push([n.name, n.namespace, both(n), n.workloads.map((w) => `${w.namespace}=${both(w).replace(' ', ',')}`).join(' ')]);
          if (j.tor) rows.push(['tor', j.tor.namespace, both(j.tor), `AS ${j.tor.asn}`]);
          if (j.external) rows.push(['external', j.external.namespace, both(j.external), '']);
          process.stdout.write(formatTable(rows));
          if (a.connectivity && !(await printMatrix(state))) process.exitCode = 1;
        },
      )
      .command('down', 'Remove everything the lab made (also after a crash)', (c) => c, async () => {
        const { labDown } = await import('../../lab/lab.js');
        await labDown();
        out('lab removed');
      })
      .demandCommand(1, 'give a lab verb: up, status or down'),
  );
}
