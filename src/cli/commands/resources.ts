// calicoctl's resource verbs: apply/create/replace, get, delete, patch, label. Options
// only; the verbs themselves live in ../resource-verbs.ts and load when one runs.
import type { Argv } from 'yargs';
import type { WriteMode } from '../../client/resource-client.js';
import { UsageError } from '../../errors.js';
import type { GlobalArgs } from '../context.js';
import { parseOutputFormat } from '../output.js';

const verbs = () => import('../resource-verbs.js');

const FILE_DESCRIBE = 'YAML or JSON file, a directory of .yaml/.yml/.json files, or - for stdin';

function fileOptions<T>(y: Argv<T>) {
  return y
    .option('recursive', { alias: 'R', type: 'boolean', default: false, describe: 'with -f DIR: also the files in its subdirectories' })
    .option('skip-empty', { type: 'boolean', default: false, describe: 'with -f: a file or directory holding no resources is not an error' });
}

function writeCommand(yargs: Argv<GlobalArgs>, mode: WriteMode, describe: string): Argv<GlobalArgs> {
  return yargs.command(
    mode,
    describe,
    (y) => fileOptions(y.option('filename', { alias: 'f', type: 'string', demandOption: true, describe: FILE_DESCRIBE })),
    async (a) => (await verbs()).write(a, mode, { file: a.filename, recursive: a.recursive, skipEmpty: a['skip-empty'] }),
  );
}

export function resourceCommands(yargs: Argv<GlobalArgs>): Argv<GlobalArgs> {
  writeCommand(yargs, 'apply', 'Create or update resources from a file or directory');
  writeCommand(yargs, 'create', 'Create resources from a file or directory (fails if any exists)');
  writeCommand(yargs, 'replace', 'Replace existing resources from a file or directory (fails if any is missing)');
  return yargs
    .command(
      'get <kind> [names..]',
      'Show resources: all of a kind, or the ones named',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('names', { type: 'string', array: true })
          .option('output', {
            alias: 'o',
            type: 'string',
            default: 'table',
            describe: 'table (ps), wide, yaml (yml), json, custom-columns=COL[,COL...]',
            coerce: parseOutputFormat,
          }),
      async (a) => (await verbs()).get(a, a.kind, a.names ?? [], a.output),
    )
    .command(
      'delete [kind] [names..]',
      'Delete resources by name, or every resource in a file or directory',
      (y) =>
        fileOptions(
          y
            .positional('kind', { type: 'string' })
            .positional('names', { type: 'string', array: true })
            .option('filename', { alias: 'f', type: 'string', describe: `delete the resources named in this ${FILE_DESCRIBE}` })
            .check((a) => {
              const named = a.kind !== undefined && (a.names?.length ?? 0) > 0;
              if (a.filename === undefined && !named) throw new UsageError('give KIND NAME... or -f FILE');
              if (a.filename !== undefined && a.kind !== undefined) throw new UsageError('give either KIND NAME... or -f FILE, not both');
              return true;
            }),
        ),
      async (a) => (await verbs()).remove(a, a.filename !== undefined ? { file: a.filename, recursive: a.recursive, skipEmpty: a['skip-empty'] } : { kind: a.kind!, names: a.names! }),
    )
    .command(
      'patch <kind> <name>',
      'Patch a resource: JSON merge patch (RFC 7386) or JSON Patch (RFC 6902)',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('name', { type: 'string', demandOption: true })
          .option('patch', { alias: 'p', type: 'string', demandOption: true, describe: 'the patch, as JSON' })
          .option('type', { alias: 't', type: 'string', default: 'merge', describe: 'merge (RFC 7386) or json (RFC 6902)' }),
      async (a) => (await verbs()).patch(a, a.kind, a.name, a.patch, a.type),
    )
    .command(
      'label <kind> <name> <label>',
      'Set (key=value), overwrite (--overwrite) or remove (key --remove, or key-) a label, as calicoctl label',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('name', { type: 'string', demandOption: true })
          .positional('label', { type: 'string', demandOption: true, describe: 'key=value, key (with --remove) or key-' })
          .option('overwrite', { type: 'boolean', describe: 'replace the value of a key already present' })
          .option('remove', { type: 'boolean', describe: 'remove the key' })
          .conflicts('overwrite', 'remove'),
      async (a) => (await verbs()).label(a, a.kind, a.name, a.label, { overwrite: a.overwrite === true, remove: a.remove === true }),
    );
}
