// What every CLI command shares: the datastore from --datastore / TABBY_DATASTORE, input
// reading, and the one-line error contract. The resource client (validation, ip-address)
// and the store backends load on first use.
import { readFile } from 'node:fs/promises';
import type { ResourceClient } from '../client/resource-client.js';

export interface GlobalArgs {
  datastore?: string;
}

/**
 * Run `fn` with a client on the configured datastore, closing the store afterwards.
 * `read`: the command only reads, so a store that is not there is an error, not empty.
 */
export async function withClient<T>(args: GlobalArgs, fn: (client: ResourceClient) => Promise<T>, opts: { read?: boolean } = {}): Promise<T> {
  const [{ openDatastore }, { ResourceClient }] = await Promise.all([import('../datastore/open.js'), import('../client/resource-client.js')]);
  const store = await openDatastore(args.datastore, { mustExist: opts.read === true });
  try {
    return await fn(new ResourceClient(store));
  } finally {
    await store.close();
  }
}

/** Read a file path, or standard input for `-`. */
export async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
