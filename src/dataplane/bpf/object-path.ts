// Where the compiled eBPF objects live: bpf/build/NAME.bpf.o under the package root
// (the Dockerfile copies the same tree).

import { join } from 'node:path';
import { ValidationError } from '../../errors.js';
import { packageRoot } from '../../util/package-root.js';

export function bpfObjectPath(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ValidationError('name', 'must be a bare object name such as "encap"');
  return join(packageRoot, 'bpf', 'build', `${name}.bpf.o`);
}
