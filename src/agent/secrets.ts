// BGP passwords by secretKeyRef, read from files laid out as Kubernetes mounts a Secret:
// SECRETS_DIR/<name>/<key> (default in env-table.ts). Missing secrets are reported, never
// replaced by "no password".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretKeyRef } from '../api/types.js';
import { TabbyError, ValidationError } from '../errors.js';

const SAFE = /^[A-Za-z0-9._-]+$/;

/** A secret that should be there cannot be read. */
export class SecretError extends TabbyError {
  override readonly code = 'SECRET';
}

export function readSecret(dir: string, ref: SecretKeyRef): string {
  const { name, key } = ref.secretKeyRef;
  if (!SAFE.test(name) || !SAFE.test(key) || name.startsWith('.') || key.startsWith('.')) {
    throw new ValidationError(`secret ${name}/${key}`, "names may only hold letters, digits, '.', '_' and '-'");
  }
  const path = join(dir, name, key);
  let value: string;
  try {
    value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new SecretError(`secret ${name}/${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  // TCP MD5 keys are at most 80 octets (TCP_MD5SIG_MAXKEYLEN).
  if (Buffer.byteLength(value) > 80) throw new ValidationError(`secret ${name}/${key}`, `${Buffer.byteLength(value)} bytes; TCP MD5 keys are at most 80`);
  return value;
}
