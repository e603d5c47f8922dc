// `tabby-cni`: the CNI plugin (CNI spec 1.0.0; STATUS and GC from 1.1.0). Start-up is part
// of every container start, so this file loads only the small parsers: the commands, the
// datastore backend and pino (only when there is a log line to write) are imported when
// needed.
import type { Datastore } from '../datastore/datastore.js';
import { openDatastore } from '../datastore/open.js';
import { DatastoreError } from '../errors.js';
import { parseNetConf, requireVersionFor, SUPPORTED_VERSIONS, versionOf, type NetConf } from './cni-config.js';
import { parseCniEnv } from './cni-env.js';
import { CNI_CODE, CniError } from './cni-error.js';
import { CniLog } from './cni-log.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const e = err as Error & { code?: string };
  if (err instanceof DatastoreError) return new CniError(CNI_CODE.TryAgainLater, 'datastore unavailable', e.message);
  if (e?.code === 'IPAM_EXHAUSTED') return new CniError(CNI_CODE.IpamExhausted, 'no free address', e.message);
  return new CniError(CNI_CODE.Internal, e?.code ? `${e.code.toLowerCase()} error` : 'plugin error', e?.message ?? String(err));
}

/** The configuration's etcd TLS files, read as the environment's would be (ETCD_*_FILE). */
async function etcdTls(conf: NetConf) {
  if (!conf.etcdTls) return {};
  const { etcdOptionsFromEnv } = await import('../datastore/etcd-options.js');
  return etcdOptionsFromEnv({ ETCD_CA_CERT_FILE: conf.etcdTls.ca, ETCD_CERT_FILE: conf.etcdTls.cert, ETCD_KEY_FILE: conf.etcdTls.key });
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function main(): Promise<number> {
  const log = new CniLog();
  let version = '1.0.0';
  let store: Datastore | undefined;
  try {
    let raw: string;
    try {
      raw = await readStdin();
    } catch (err) {
      throw new CniError(CNI_CODE.IoFailure, 'failed to read the network configuration from stdin', (err as Error).message);
    }
    version = versionOf(raw) ?? version;
    const env = parseCniEnv(process.env);
    if (env.command === 'VERSION') {
      print({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS });
      return 0;
    }
    const conf = parseNetConf(raw);
    requireVersionFor(env.command, conf.cniVersion);
    log.configure(conf.logLevel, conf.logFile);
    log.bind({ command: env.command, containerID: env.containerID, ifname: env.ifname, network: conf.name });
    const plugin = await import('./plugin.js');
    // Patient with etcd, as Calico's plugin is (90 s for IPAM): a node starting many
    // containers at once is busy, and a failed ADD costs the runtime a whole retry.
    const open = async () => {
      const etcd = { connectTimeoutMs: 30_000, requestTimeoutMs: 30_000, retryWindowMs: 60_000, ...(await etcdTls(conf)) };
      return openDatastore(plugin.datastoreUri(conf), { etcd });
    };
    const ctx = { env, conf, log, store: async () => (store ??= await open()) };
    switch (env.command) {
      case 'ADD':
        print(await plugin.cniAdd(ctx));
        break;
      case 'DEL':
        await plugin.cniDel(ctx);
        break;
      case 'CHECK':
        await plugin.cniCheck(ctx);
        break;
      case 'STATUS':
        await plugin.cniStatus(ctx);
        break;
      case 'GC':
        await plugin.cniGc(ctx);
        break;
    }
    return 0;
  } catch (err) {
    const e = asCniError(err);
    log.error({ code: e.cniCode, details: e.details }, e.msg);
    print(e.toJSON(version));
    return 1;
  } finally {
    await store?.close().catch(() => undefined);
    await log.flush().catch(() => undefined);
  }
}

/** Runs one CNI command and exits: an etcd client would otherwise keep the process alive a while. */
export function runPlugin(argv: string[] = process.argv): void {
  if (argv.includes('-v') || argv.includes('--version')) {
    print({ plugin: 'tabby-cni', supportedVersions: SUPPORTED_VERSIONS });
    process.exit(0);
  }
  main().then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
