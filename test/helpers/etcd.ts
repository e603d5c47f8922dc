// Real etcd servers for tests: one member or a cluster on 127.0.0.1 with random free
// ports, a temporary data dir, no auto-compaction. Members are stopped by PID (SIGTERM,
// then SIGKILL) and every dir is removed by stop(); a process 'exit' hook kills and
// removes whatever a failed test left behind.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { etcdArgs, etcdEnv, relayConnection } from '../../src/lab/etcd-process.js';

export const ETCD_BIN = process.env.TABBY_TEST_ETCD ?? 'etcd';
export const ETCDCTL_BIN = process.env.TABBY_TEST_ETCDCTL ?? 'etcdctl';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
function cleanupNow(): void {
  for (const p of live) {
    try {
      if (p.pid) process.kill(p.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanupNow);
// A test process killed by the runner (timeout) or ^C must not leave etcd behind either.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanupNow();
    process.kill(process.pid, sig);
  });
}

/** `n` distinct free TCP ports on 127.0.0.1 (held together while choosing, so distinct). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

/** Waits for the process to exit, at most `ms`; true if it did. */
async function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
  if (exited(p)) return true;
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    new Promise<boolean>((r) => p.once('exit', () => r(true))),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return ok;
}

/** SIGTERM (or the given signal), then SIGKILL after `graceMs`. */
export async function stopProcess(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  try {
    if (!exited(p) && p.pid) process.kill(p.pid, signal);
    if (!(await waitExit(p, graceMs)) && p.pid) {
      process.kill(p.pid, 'SIGKILL');
      await waitExit(p, 5000);
    }
  } catch {
    // Already gone.
  } finally {
    live.delete(p);
  }
}

/** PEM files of a throwaway CA, a server cert for 127.0.0.1 and a client cert (CN=tabby). */
export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate valid for `serverIps`, and a client certificate, made with openssl. */
export function makePki(dir: string, serverIps = ['127.0.0.1']): TestPki {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 10_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=tabby-test-ca');
  const certs: [string, string, string[]][] = [
    ['server', 'etcd', [`subjectAltName=${serverIps.map((a) => `IP:${a}`).join(',')}`, 'extendedKeyUsage=serverAuth,clientAuth']],
    ['client', 'tabby', ['extendedKeyUsage=clientAuth']],
  ];
  for (const [who, cn, ext] of certs) {
    writeFileSync(f(`${who}.ext`), `${ext.join('\n')}\n`);
    ssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.crt`), '-days', '1', '-extfile', f(`${who}.ext`));
  }
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}

function httpsHealthy(clientUrl: string, pki: TestPki): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${clientUrl}/health`,
      { ca: readFileSync(pki.ca), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), timeout: 1000 },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function healthy(clientUrl: string, pki?: TestPki): Promise<boolean> {
  if (pki) return httpsHealthy(clientUrl, pki);
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc?: ChildProcess;
  /** The last few KB of its log, for error messages. */
  log: string;
}

export interface EtcdStartOptions {
  /** Serve clients over TLS and require client certificates (see `pki`). */
  tls?: boolean;
  timeoutMs?: number;
}

export class EtcdCluster {
  private constructor(
    readonly baseDir: string,
    readonly members: EtcdMember[],
    private readonly token: string,
    readonly pki?: TestPki,
  ) {}

  /** Client URLs of all members. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** The datastore URI listing every member. */
  get uri(): string {
    return `etcd:${this.endpoints.join(',')}`;
  }

  static async start(size: number, opts: EtcdStartOptions = {}): Promise<EtcdCluster> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    for (let attempt = 1; ; attempt++) {
      const baseDir = mkdtempSync(join(tmpdir(), 'tabby-etcd-'));
      dirs.add(baseDir);
      const ports = await freePorts(size * 2);
      const scheme = opts.tls ? 'https' : 'http';
      const members: EtcdMember[] = Array.from({ length: size }, (_, i) => ({
        name: `m${i}`,
        clientUrl: `${scheme}://127.0.0.1:${ports[2 * i]}`,
        peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
        dataDir: join(baseDir, `m${i}`),
        log: '',
      }));
      let cluster: EtcdCluster | undefined;
      try {
        const pki = opts.tls ? makePki(join(baseDir, 'pki')) : undefined;
        cluster = new EtcdCluster(baseDir, members, `tabby-test-${process.pid}-${Date.now()}`, pki);
        await Promise.all(members.map((_, i) => cluster!.startMember(i, timeoutMs)));
        return cluster;
      } catch (err) {
        if (cluster) await cluster.stop();
        else rmSync(baseDir, { recursive: true, force: true });
        // A port taken between choosing and binding: try fresh ones.
        if (attempt >= 3 || !/address already in use/.test(String((err as Error).message))) throw err;
      }
    }
  }

  private args(m: EtcdMember): string[] {
    return etcdArgs({
      name: m.name,
      dataDir: m.dataDir,
      listenClientUrls: m.clientUrl,
      advertiseClientUrl: m.clientUrl,
      peerUrl: m.peerUrl,
      initialCluster: this.members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      token: this.token,
      extra: [
        '--auto-compaction-retention=0',
        // Loopback: fast elections keep restarts and member failures short.
        '--heartbeat-interval=50',
        '--election-timeout=500',
        ...(this.pki
          ? [`--cert-file=${this.pki.serverCert}`, `--key-file=${this.pki.serverKey}`, `--trusted-ca-file=${this.pki.ca}`, '--client-cert-auth']
          : []),
      ],
    });
  }

  /** Runs etcdctl against the cluster (with the client certificate under TLS). */
  etcdctl(args: string[]): Promise<string> {
    const tls = this.pki ? [`--cacert=${this.pki.ca}`, `--cert=${this.pki.clientCert}`, `--key=${this.pki.clientKey}`] : [];
    return new Promise((resolve, reject) => {
      execFile(
        ETCDCTL_BIN,
        [`--endpoints=${this.endpoints.join(',')}`, ...tls, ...args],
        { timeout: 10_000, env: { ...process.env, ETCDCTL_API: '3' } },
        (err, out, stderr) => (err ? reject(new Error(`etcdctl ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(out)),
      );
    });
  }

  /** Starts member `i` (same ports and data dir as before) and waits until it is healthy. */
  async startMember(i: number, timeoutMs = 20_000): Promise<void> {
    const m = this.members[i]!;
    if (m.proc && !exited(m.proc)) throw new Error(`etcd ${m.name} is already running`);
    const proc = spawn(ETCD_BIN, this.args(m), { stdio: ['ignore', 'ignore', 'pipe'], env: etcdEnv() });
    live.add(proc);
    m.proc = proc;
    proc.stderr!.on('data', (d: Buffer) => (m.log = (m.log + d.toString()).slice(-4000)));
    proc.on('error', (e) => (m.log += `\nspawn error: ${e.message}`));
    const end = Date.now() + timeoutMs;
    while (!(await healthy(m.clientUrl, this.pki))) {
      if (exited(proc)) throw new Error(`etcd ${m.name} exited (${proc.exitCode ?? proc.signalCode}) while starting: ${m.log}`);
      if (Date.now() > end) {
        await stopProcess(proc, 'SIGKILL');
        throw new Error(`etcd ${m.name} not healthy within ${timeoutMs} ms: ${m.log}`);
      }
      await delay(50);
    }
  }

  /** Stops member `i` by PID: SIGTERM then SIGKILL, or SIGKILL straight away. */
  async stopMember(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.members[i]!.proc;
    if (p) await stopProcess(p, signal);
  }

  async restartMember(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stopMember(i, signal);
    await this.startMember(i);
  }

  /** Compacts the history up to `revision` (physically, so it is really gone). */
  async compact(revision: number): Promise<void> {
    await this.etcdctl(['compact', String(revision), '--physical']);
  }

  /** Stops every member and removes the data dirs. Safe to call twice. */
  async stop(): Promise<void> {
    try {
      // One by one: members stopped together wait on each other's leader transfer.
      for (let i = 0; i < this.members.length; i++) await this.stopMember(i);
    } finally {
      rmSync(this.baseDir, { recursive: true, force: true });
      dirs.delete(this.baseDir);
    }
  }
}

export const startEtcd = (opts?: EtcdStartOptions) => EtcdCluster.start(1, opts);
export const startEtcdCluster = (size = 3, opts?: EtcdStartOptions) => EtcdCluster.start(size, opts);

/**
 * A TCP relay on 127.0.0.1 in front of one etcd endpoint, to break a client's
 * connections while etcd itself stays up: block() drops every connection and refuses
 * new ones until unblock().
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private blocked = false;

  private constructor(private readonly server: Server, readonly url: string, private readonly target: URL) {
    server.on('connection', (client) => this.relay(client));
  }

  static async start(target: string): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new TcpProxy(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`, new URL(target));
  }

  private relay(client: Socket): void {
    if (this.blocked) return void client.destroy();
    relayConnection(client, connect(Number(this.target.port), this.target.hostname), this.sockets);
  }

  block(): void {
    this.blocked = true;
    for (const s of this.sockets) s.destroy();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise((r) => this.server.close(r));
  }
}
