// What an integration test needs from the machine: root, and tools found on PATH (or at
// an absolute path). Every integration file states its needs through `needs()`:
// outside CI a missing piece skips the block with the reason; under CI=true it fails,
// naming what is missing, so a green CI run cannot hide a missing install step.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export const isRoot = process.getuid?.() === 0;

/** CI=true (or 1), as CI services set it. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

export interface Needs {
  root?: boolean;
  /** Program names looked up on PATH, or absolute paths. */
  tools?: readonly string[];
}

/** The first executable file named `tool` on PATH (or `tool` itself when absolute and executable). */
export function which(tool: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = isAbsolute(tool) ? [tool] : path.split(delimiter).filter(Boolean).map((d) => join(d, tool));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What is missing, in words: "root", "bird (not on PATH)". */
export function missing(n: Needs, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (n.root && !isRoot) out.push('root');
  for (const t of n.tools ?? []) {
    if (!which(t, env.PATH ?? '')) out.push(isAbsolute(t) ? `${t} (missing or not executable)` : `${t} (not on PATH)`);
  }
  return out;
}

export class MissingRequirementError extends Error {
  constructor(readonly what: string[]) {
    super(`CI=true and this integration test needs ${what.join(', ')}: install it (scripts/setup.sh) instead of skipping`);
    this.name = 'MissingRequirementError';
  }
}

/**
 * The `skip` option for describe()/test(): false when all is there; otherwise the reason
 * to skip, or under CI=true a MissingRequirementError thrown right away, which fails
 * the file with a message naming what is missing.
 */
export function needs(n: Needs, env: NodeJS.ProcessEnv = process.env): { skip: string | false } {
  const gone = missing(n, env);
  if (gone.length === 0) return { skip: false };
  if (inCi(env)) throw new MissingRequirementError(gone);
  return { skip: `needs ${gone.join(', ')}` };
}
