// The lab's etcd: one real etcd (Debian's /usr/bin/etcd) in its own namespace on the lab
// fabric, serving the agents at http://ADDRESS:2379. It also listens on a Unix socket in
// the lab dir: paths are shared by every namespace, so the lab process (root namespace,
// which has no route to the fabric) reaches the same etcd through a local TCP relay.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Datastore } from '../datastore/datastore.js';
import { openDatastore } from '../datastore/open.js';
import { etcdArgs, etcdEnv, relayConnection } from './etcd-process.js';
import { inNetns, stopPid, waitFor } from '../util/exec.js';
import { LabError, saveState, type LabEtcd, type LabState } from './lab-state.js';

export const ETCD_BIN = process.env.TABBY_LAB_ETCD ?? '/usr/bin/etcd';
export const ETCD_CLIENT_PORT = 2379;
/** etcd takes `unix://HOST:PORT`, HOST a path relative to its working directory. */
const SOCKET_NAME = 'etcd.sock';

export function labEtcdConfig(dir: string, netns: string, address: string): LabEtcd {
  const base = join(dir, 'etcd');
  const clientUrl = `http://${address}:${ETCD_CLIENT_PORT}`;
  const argv = [
    ETCD_BIN,
    ...etcdArgs({
      name: 'lab',
      dataDir: join(base, 'data'),
      listenClientUrls: `${clientUrl},unix://${SOCKET_NAME}:0`,
      advertiseClientUrl: clientUrl,
      peerUrl: 'http://127.0.0.1:2380',
      initialCluster: 'lab=http://127.0.0.1:2380',
      token: 'tabby-lab',
    }),
  ];
  return { namespace: netns, address, clientUrl, dir: base, socket: join(base, `${SOCKET_NAME}:0`), logFile: join(base, 'etcd.log'), argv };
}

/** HTTP GET /health over the Unix socket. */
function healthy(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    let body = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n'));
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('end', () => done(/"health":"true"/.test(body)));
  });
}

/** Start (or restart, on the same data dir and address) the lab's etcd; records the PID. */
export async function startLabEtcd(state: LabState, timeoutMs = 20_000): Promise<number> {
  const e = state.etcd;
  if (!e) throw new LabError('this lab has no etcd');
  mkdirSync(e.dir, { recursive: true });
  const full = inNetns(e.namespace, e.argv);
  const fd = openSync(e.logFile, 'a');
  let pid: number;
  try {
    const child = spawn(full[0]!, full.slice(1), { cwd: e.dir, detached: true, stdio: ['ignore', fd, fd], env: etcdEnv() });
    child.unref();
    pid = child.pid!;
  } finally {
    closeSync(fd);
  }
  e.pid = pid;
  state.pids.push(pid);
  saveState(state);
  await waitFor('the lab etcd to be healthy', async () => {
    try {
      process.kill(pid, 0);
    } catch {
      throw new LabError(`etcd exited while starting; see ${e.logFile}`);
    }
    return healthy(e.socket);
  }, timeoutMs, 100);
  return pid;
}

/** Stop the lab's etcd (SIGTERM, then SIGKILL); the data dir stays for a restart. */
export async function stopLabEtcd(state: LabState): Promise<void> {
  const pid = state.etcd?.pid;
  if (pid) await stopPid(pid, 5000);
}

/** A TCP relay on 127.0.0.1 to the etcd Unix socket, for clients in the root namespace. */
class UnixRelay {
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(socket: string): Promise<UnixRelay> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const relay = new UnixRelay(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    server.on('connection', (client) => relayConnection(client, connect(socket), relay.sockets));
    return relay;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

/** The lab's datastore as seen from the lab process; close() also ends the relay. */
export async function openLabDatastore(state: LabState): Promise<Datastore> {
  if (!state.etcd) return openDatastore(state.datastore);
  const relay = await UnixRelay.start(state.etcd.socket);
  let store: Datastore;
  try {
    store = await openDatastore(`etcd:${relay.url}`);
  } catch (err) {
    await relay.close();
    throw err;
  }
  const close = store.close.bind(store);
  store.close = async () => {
    try {
      await close();
    } finally {
      await relay.close();
    }
  };
  return store;
}
