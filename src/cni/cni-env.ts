// The CNI_* environment (SPEC.md section 2, "Parameters"), checked as the spec says:
// a problem is error 4 naming the variables at fault.
import { CNI_CODE, CniError } from './cni-error.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  containerID: string;
  /** Path to the container's network namespace (may be empty on DEL). */
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs (IgnoreUnknown and friends included). */
  args: Record<string, string>;
  path: string[];
}

/** SPEC.md: "Must start with an alphanumeric character, … alphanumeric characters, underscore, dot or hyphen". */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** SPEC.md ADD: fewer than 16 characters, not "." or "..", no "/", ":" or whitespace. */
export function validIfname(name: string): boolean {
  return name.length > 0 && name.length < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** What each command requires (SPEC.md "Required environment parameters"). */
const REQUIRED: Record<CniCommand, ('CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME')[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const bad: string[] = [];
  const why: string[] = [];
  const command = env.CNI_COMMAND as CniCommand;
  if (!COMMANDS.includes(command)) {
    throw new CniError(CNI_CODE.InvalidEnvironment, 'invalid CNI_COMMAND', `CNI_COMMAND=${JSON.stringify(env.CNI_COMMAND ?? '')}: must be one of ${COMMANDS.join(', ')}`);
  }
  // Commands without an attachment ignore the attachment variables (libcni's VERSION probe
  // sets them to "dummy").
  if (REQUIRED[command].length === 0) {
    return { command, containerID: '', netns: '', ifname: '', args: {}, path: (env.CNI_PATH ?? '').split(':').filter(Boolean) };
  }
  for (const name of REQUIRED[command]) {
    if (!env[name]) {
      bad.push(name);
      why.push(`${name} is required for ${command}`);
    }
  }
  const containerID = env.CNI_CONTAINERID ?? '';
  if (containerID && !CONTAINER_ID.test(containerID)) {
    bad.push('CNI_CONTAINERID');
    why.push('CNI_CONTAINERID must start with a letter or digit, then letters, digits, "_", "." or "-"');
  }
  const ifname = env.CNI_IFNAME ?? '';
  if (ifname && !validIfname(ifname)) {
    bad.push('CNI_IFNAME');
    why.push('CNI_IFNAME must be 1-15 characters without "/", ":" or whitespace, and not "." or ".."');
  }
  const netns = env.CNI_NETNS ?? '';
  if (netns && (!netns.startsWith('/') || netns.split('/').includes('..'))) {
    bad.push('CNI_NETNS');
    why.push('CNI_NETNS must be an absolute path to a network namespace');
  }
  const args: Record<string, string> = {};
  for (const pair of (env.CNI_ARGS ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      bad.push('CNI_ARGS');
      why.push(`CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`);
      break;
    }
    args[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (bad.length > 0) throw new CniError(CNI_CODE.InvalidEnvironment, `invalid environment variables: ${[...new Set(bad)].join(', ')}`, why.join('; '));
  return { command, containerID, netns, ifname, args, path: (env.CNI_PATH ?? '').split(':').filter(Boolean) };
}
