// calicoctl's resource verbs: apply/create/replace, get, delete, patch.
import type { Argv } from 'yargs';
import { requireKind } from '../../api/kinds/index.js';
import { readResources } from '../../api/documents.js';
import type { WriteMode } from '../../api/client.js';
import { DEFAULTS, type Resource } from '../../api/types.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { out, readInput, withClient, type GlobalArgs } from '../context.js';
import { render, type OutputFormat } from '../output.js';

const PAST: Record<WriteMode, string> = { apply: 'applied', create: 'created', replace: 'replaced' };

function summary(verb: string, resources: { kind: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `Successfully ${verb} ${n} '${kind}' resource(s)`).join('\n');
}

async function readFileResources(file: string): Promise<Resource[]> {
  return readResources(await readInput(file), file === '-' ? 'stdin' : file);
}

function writeCommand(yargs: Argv<GlobalArgs>, mode: WriteMode, describe: string): Argv<GlobalArgs> {
  return yargs.command(
    mode,
    describe,
    (y) => y.option('filename', { alias: 'f', type: 'string', demandOption: true, describe: 'YAML or JSON file, or - for stdin' }),
    async (args) => {
      const resources = await readFileResources(args.filename);
      await withClient(args, (c) => c.write(mode, resources));
      out(summary(PAST[mode], resources));
    },
  );
}

export function resourceCommands(yargs: Argv<GlobalArgs>): Argv<GlobalArgs> {
  writeCommand(yargs, 'apply', 'Create or update resources from a file');
  writeCommand(yargs, 'create', 'Create resources from a file (fails if any exists)');
  writeCommand(yargs, 'replace', 'Replace existing resources from a file (fails if any is missing)');
  return yargs
    .command(
      'get <kind> [name]',
      'Show resources',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('name', { type: 'string' })
          .option('output', { alias: 'o', choices: ['table', 'wide', 'yaml', 'json'] as const, default: 'table' as const }),
      async (args) => {
        const def = requireKind(args.kind);
        await withClient(args, async (c) => {
          const defaultAs = (await c.get('BGPConfiguration', 'default'))?.spec as { asNumber?: number } | undefined;
          const ctx = { defaultAsNumber: defaultAs?.asNumber ?? DEFAULTS.asNumber };
          if (args.name !== undefined) {
            const r = await c.get(def.kind, args.name);
            if (!r) throw new NotFoundError(def.kind, args.name);
            process.stdout.write(render(def.kind, [r], args.output as OutputFormat, { single: true, ctx }));
          } else {
            const { items, revision } = await c.list(def.kind);
            process.stdout.write(render(def.kind, items, args.output as OutputFormat, { revision, ctx }));
          }
        });
      },
    )
    .command(
      'delete [kind] [name]',
      'Delete a resource, or every resource in a file',
      (y) =>
        y
          .positional('kind', { type: 'string' })
          .positional('name', { type: 'string' })
          .option('filename', { alias: 'f', type: 'string', describe: 'delete the resources named in this file' })
          .check((a) => {
            if (a.filename === undefined && (a.kind === undefined || a.name === undefined)) throw new Error('give KIND NAME or -f FILE');
            if (a.filename !== undefined && a.kind !== undefined) throw new Error('give either KIND NAME or -f FILE, not both');
            return true;
          }),
      async (args) => {
        const targets = args.filename
          ? await readFileResources(args.filename)
          : [{ kind: requireKind(args.kind!).kind, metadata: { name: args.name! } }];
        await withClient(args, (c) => c.deleteAll(targets));
        out(summary('deleted', targets));
      },
    )
    .command(
      'patch <kind> <name>',
      'Apply a JSON merge patch to a resource',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('name', { type: 'string', demandOption: true })
          .option('patch', { alias: 'p', type: 'string', demandOption: true, describe: 'JSON merge patch' }),
      async (args) => {
        const def = requireKind(args.kind);
        let patch: unknown;
        try {
          patch = JSON.parse(args.patch);
        } catch (err) {
          throw new ValidationError('--patch', `not valid JSON: ${(err as Error).message}`);
        }
        // The global BGPConfiguration always exists conceptually (defaults), so patching it creates it.
        const create = def.kind === 'BGPConfiguration' && args.name === 'default';
        await withClient(args, (c) => c.patch(def.kind, args.name, patch, create));
        out(`Successfully patched 1 '${def.kind}' resource`);
      },
    );
}
