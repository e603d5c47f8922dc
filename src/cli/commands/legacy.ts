// calicoctl v0.x/v1.x verbs, kept for old scripts: `bgp peer …` and `config …`.
// Address and AS parsing load with the handler, not with every `tabby` command.
import type { Argv } from 'yargs';
import { DEFAULTS, type BGPConfigurationSpec, type BGPPeerSpec } from '../../api/types.js';
import { NotFoundError, UsageError, ValidationError } from '../../errors.js';
import { out, withClient } from '../context.js';
import { formatTable } from '../output.js';

interface ScopeArgs {
  scope: 'global' | 'node';
  node?: string;
}

function scopeOptions<T>(y: Argv<T>) {
  return y
    .option('scope', { choices: ['global', 'node'] as const, default: 'global' as const })
    .option('node', { type: 'string', describe: 'node name (with --scope node)' })
    .check((a) => {
      if (a.scope === 'node' && !a.node) throw new UsageError('--scope node needs --node NAME');
      if (a.scope === 'global' && a.node) throw new UsageError('--node only goes with --scope node');
      return true;
    });
}

async function peerName(ip: string, a: ScopeArgs): Promise<string> {
  const [{ parsePeerIP }, { v1PeerName }] = await Promise.all([import('../../api/net.js'), import('../../api/v1.js')]);
  if (!parsePeerIP(ip)) throw new ValidationError('IP', `${JSON.stringify(ip)} is not an IP address`);
  return v1PeerName(a.scope, ip, a.node);
}

/** The v0 `bgp peer show` tables: one per scope and family. */
async function peerTables(peers: BGPPeerSpec[]): Promise<string> {
  const { parsePeerIP } = await import('../../api/net.js');
  const blocks: string[] = [];
  for (const scope of ['global', 'node'] as const) {
    for (const family of [4, 6] as const) {
      // Selector-based peers have no v1 equivalent, so the v1 tables leave them out.
      const v1 = peers.filter((p) => p.peerIP && !p.nodeSelector && !p.peerSelector);
      const rows = v1.filter((p) => (p.node ? 'node' : 'global') === scope && parsePeerIP(p.peerIP!)?.family === family);
      const title = `${scope === 'global' ? 'Global' : 'Node specific'} IPv${family} BGP Peer`;
      if (rows.length === 0) {
        blocks.push(`No ${scope === 'global' ? 'global' : 'node specific'} IPv${family} BGP Peers defined.\n`);
        continue;
      }
      const header = scope === 'global' ? [title, 'AS Num'] : [title, 'AS Num', 'Node'];
      blocks.push(formatTable([header, ...rows.map((p) => [p.peerIP!, String(p.asNumber ?? ''), ...(scope === 'node' ? [p.node!] : [])])]));
    }
  }
  return blocks.join('');
}

const SETTINGS = {
  nodeToNodeMesh: {
    async parse(v: string): Promise<Partial<BGPConfigurationSpec>> {
      if (v !== 'on' && v !== 'off') throw new ValidationError('VALUE', `nodeToNodeMesh takes on or off, got ${JSON.stringify(v)}`);
      return { nodeToNodeMeshEnabled: v === 'on' };
    },
    show: (s: BGPConfigurationSpec) => ((s.nodeToNodeMeshEnabled ?? DEFAULTS.nodeToNodeMeshEnabled) ? 'on' : 'off'),
  },
  defaultNodeASNumber: {
    async parse(v: string): Promise<Partial<BGPConfigurationSpec>> {
      const { parseAsn } = await import('../../api/asn.js');
      const asNumber = parseAsn(v);
      if (asNumber === undefined) throw new ValidationError('VALUE', `${JSON.stringify(v)} is not an AS number`);
      return { asNumber };
    },
    show: (s: BGPConfigurationSpec) => String(s.asNumber ?? DEFAULTS.asNumber),
  },
} as const;

function setting(name: string) {
  const s = SETTINGS[name as keyof typeof SETTINGS];
  if (!s) throw new ValidationError('NAME', `unknown setting ${JSON.stringify(name)} (known: ${Object.keys(SETTINGS).join(', ')})`);
  return s;
}

export function legacyCommands<T extends { datastore?: string }>(yargs: Argv<T>): Argv<T> {
  return yargs
    .command('bgp', 'Legacy BGP peer verbs (calicoctl v1)', (y) =>
      y
        .command('peer', 'Add, remove or show BGP peers', (p) =>
          p
            .command(
              'add <ip> <as> <asn>',
              'Add a BGP peer: bgp peer add IP as ASN',
              (c) => scopeOptions(c.positional('ip', { type: 'string', demandOption: true }).positional('as', { type: 'string' }).positional('asn', { type: 'string', demandOption: true })),
              async (a) => {
                if (a.as !== 'as') throw new ValidationError('', `usage: tabby bgp peer add IP as ASN (got ${JSON.stringify(a.as)} instead of "as")`);
                const name = await peerName(a.ip, a);
                const spec: BGPPeerSpec = { peerIP: a.ip, asNumber: a.asn as unknown as number };
                if (a.scope === 'node') spec.node = a.node;
                // Re-adding the same peer replaces it, as in calicoctl v1.
                await withClient(a, (c) => c.modify('BGPPeer', name, () => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec })));
                out(`BGP peer ${a.ip} (AS ${a.asn}) added as BGPPeer ${name}`);
              },
            )
            .command(
              'remove <ip>',
              'Remove a BGP peer',
              (c) => scopeOptions(c.positional('ip', { type: 'string', demandOption: true })),
              async (a) => {
                const name = await peerName(a.ip, a);
                await withClient(a, async (c) => {
                  if (!(await c.get('BGPPeer', name))) throw new NotFoundError('BGPPeer', `${a.ip} (${a.scope}${a.node ? ` ${a.node}` : ''})`);
                  await c.delete('BGPPeer', name);
                });
                out(`BGP peer ${a.ip} removed`);
              },
            )
            .command('show', 'Show BGP peers', (c) => c, async (a) => {
              const { items } = await withClient(a, (c) => c.list('BGPPeer'), { read: true });
              process.stdout.write(await peerTables(items.map((r) => r.spec as BGPPeerSpec)));
            })
            .demandCommand(1, 'give a peer verb: add, remove or show'),
        )
        .demandCommand(1, 'give a bgp subcommand: peer'),
    )
    .command('config', 'Legacy cluster settings (calicoctl v1)', (y) =>
      y
        .command(
          'set <name> <value>',
          'Set nodeToNodeMesh on|off or defaultNodeASNumber N',
          (c) => c.positional('name', { type: 'string', demandOption: true }).positional('value', { type: 'string', demandOption: true }),
          async (a) => {
            const patch = { spec: await setting(a.name).parse(a.value) };
            await withClient(a, (c) => c.patch('BGPConfiguration', 'default', patch, true));
            out(`${a.name} set to ${a.value}`);
          },
        )
        .command(
          'view <name>',
          'Show a setting (nodeToNodeMesh, defaultNodeASNumber)',
          (c) => c.positional('name', { type: 'string', demandOption: true }),
          async (a) => {
            const s = setting(a.name);
            const stored = await withClient(a, (c) => c.get('BGPConfiguration', 'default'), { read: true });
            out(s.show((stored?.spec ?? {}) as BGPConfigurationSpec));
          },
        )
        .demandCommand(1, 'give a config verb: set or view'),
    );
}
