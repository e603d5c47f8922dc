// Which runs of `tabby` the CommonJS bundle serves (scripts/bundle.mjs writes it,
// main.ts chooses). The bundle leaves out the modules only the agent, the lab and the
// bench load; the commands that load them run from the ES modules of dist/src.

/** Top-level directories of src/ the bundle leaves out. */
export const AGENT_SIDE: readonly string[] = ['agent', 'bench', 'bfd', 'bgp', 'calc', 'cni', 'dataplane', 'lab', 'native'];

/** Commands whose handlers import from AGENT_SIDE. */
export const FROM_DIST_SRC: ReadonlySet<string> = new Set(['node', 'lab', 'bench']);

/** Every top-level command (cli.ts registers them; a unit test compares with --help). */
export const COMMANDS: ReadonlySet<string> = new Set([
  'completion', 'apply', 'create', 'replace', 'get', 'delete', 'patch', 'label', 'bgp', 'config',
  'node', 'ipam', 'version', 'lab', 'bench',
]);

/**
 * The command: the first argument that names one. Options may come first, and yargs
 * takes an option's value from the next argument (`tabby -o json node status`), so
 * arguments that name no command are passed over rather than parsed.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  for (const a of argv) {
    if (a === '--') return undefined;
    if (COMMANDS.has(a)) return a;
  }
  return undefined;
}

/** True when this run needs dist/src (an agent, lab or bench command). */
export function needsDistSrc(argv: readonly string[]): boolean {
  const word = commandWord(argv);
  return word !== undefined && FROM_DIST_SRC.has(word);
}
