// What an integration test needs from the machine. Missing pieces skip the test on a
// developer's box, but under CI=true they fail it: CI must never pass by skipping.
import { existsSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;

/** `skip` value for describe/test: false when everything is there. Throws under CI. */
export function needs(req: { root?: boolean; files?: string[] }): string | false {
  const missing: string[] = [];
  if (req.root && !isRoot) missing.push('root');
  for (const f of req.files ?? []) if (!existsSync(f)) missing.push(f);
  if (missing.length === 0) return false;
  const why = `needs ${missing.join(', ')} (run scripts/setup.sh as root)`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${why}`);
  return why;
}
