// Two agents started as the DaemonSet starts them: `tabby node run` with environment
// variables only (calico-node's names: NODENAME, IP, IP_AUTODETECTION_METHOD,
// CALICO_IPV4POOL_*, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE), while
// their etcd is down. etcd serves TLS and demands client certificates (made here with
// openssl). One topology: a fabric with an etcd namespace and two node namespaces.
//
// - The CLI works through TLS with the client certificate, and is refused without one.
// - The agents wait (readiness 503 with the reason, a log line per attempt, no exit);
//   etcd comes up 20 s later and they proceed without a restart: the default pool
//   appears (startup.go configureIPPools), each Node carries its detected address, and the
//   mesh comes up with the MD5 password read from the exact Secret layout that
//   deploy/daemonset.yaml mounts (TCP option 19 seen on the wire by tshark).
// - promtool check metrics passes on a live agent's /metrics.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { askAgent } from '../../src/agent/status-server.js';
import type { NodeStatusJson } from '../../src/agent/status.js';
import { ENV_TABLE } from '../../src/agent/env-table.js';
import { Fabric } from '../../src/lab/topology.js';
import { etcdArgs, etcdEnv } from '../../src/lab/etcd-process.js';
import { run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { TABBY } from '../helpers/cli.js';
import { ETCD_BIN, ETCDCTL_BIN, makePki, type TestPki } from '../helpers/etcd.js';
import { daemonSetSecretMount, kubeletSecretMount } from '../helpers/kubelet-secret.js';
import { httpGet } from '../helpers/netns-http.js';
import { alive } from '../helpers/daemon.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'sysctl', 'python3', 'tcpdump', 'tshark', 'promtool', 'openssl', ETCD_BIN, ETCDCTL_BIN] });

const ETCD_IP = '10.123.0.2';
const ENDPOINT = `https://${ETCD_IP}:2379`;
const NODES = [
  { name: 'node1', cidr: '10.123.0.11/24' },
  { name: 'node2', cidr: '10.123.0.12/24' },
];

const dir = mkdtempSync(join(tmpdir(), 'tabby-env-start-'));
const fabric = new Fabric(`tbe${randomBytes(3).toString('hex')}`);
const ns = (name: string) => `${fabric.prefix}-${name}`;
let pki: TestPki;
const pids: number[] = [];
let etcdPid: number | undefined;


async function startEtcdInNetns(): Promise<void> {
  const argv = [
    ETCD_BIN,
    ...etcdArgs({
      name: 'm0',
      dataDir: join(dir, 'etcd-data'),
      listenClientUrls: ENDPOINT,
      advertiseClientUrl: ENDPOINT,
      peerUrl: 'http://127.0.0.1:2380',
      initialCluster: 'm0=http://127.0.0.1:2380',
      token: fabric.prefix,
      extra: [`--cert-file=${pki.serverCert}`, `--key-file=${pki.serverKey}`, `--trusted-ca-file=${pki.ca}`, '--client-cert-auth'],
    }),
  ];
  const child = startDaemon(argv, { netns: ns('etcd'), logFile: join(dir, 'etcd.log'), env: etcdEnv() });
  etcdPid = child.pid!;
  pids.push(etcdPid);
  const health = [ETCDCTL_BIN, `--endpoints=${ENDPOINT}`, `--cacert=${pki.ca}`, `--cert=${pki.clientCert}`, `--key=${pki.clientKey}`, 'endpoint', 'health'];
  await waitFor('etcd to be healthy', async () => {
    if (!alive(etcdPid!)) throw new Error(`etcd exited: ${readFileSync(join(dir, 'etcd.log'), 'utf8').slice(-2000)}`);
    return (await run(health, { netns: ns('etcd'), allowFail: true, timeoutMs: 5000 })).code === 0;
  }, 20_000, 200);
}

/** The environment a node gets; `clientCert: false` leaves out the client certificate. */
function etcdEnvVars(clientCert = true): string[] {
  return [`ETCD_ENDPOINTS=${ENDPOINT}`, `ETCD_CA_CERT_FILE=${pki.ca}`, ...(clientCert ? [`ETCD_CERT_FILE=${pki.clientCert}`, `ETCD_KEY_FILE=${pki.clientKey}`] : [])];
}

/** The CLI from node1's namespace with only the given variables (env -i). */
function tabby(args: string[], vars: string[], input?: string) {
  return run(['env', '-i', `PATH=${process.env.PATH}`, ...vars, process.execPath, TABBY, ...args], { netns: ns('node1'), input, allowFail: true, timeoutMs: 30_000 });
}

before(async () => {
  if (NEEDS.skip) return;
  pki = makePki(join(dir, 'pki'), [ETCD_IP]);
  await fabric.create();
  await fabric.addHost('etcd', `${ETCD_IP}/24`);
  for (const n of NODES) await fabric.addHost(n.name, n.cidr);
});

after(async () => {
  if (NEEDS.skip) return;
  for (const pid of pids.reverse()) await stopPid(pid, 5000);
  await fabric.destroy([ns('etcd'), ...NODES.map((n) => ns(n.name))]);
  rmSync(dir, { recursive: true, force: true });
});

test('agents from env only: etcd over TLS with client certificates, down for 20 s at start', { ...NEEDS, timeout: 240_000 }, async () => {
  // The cluster's configuration goes in through the CLI, over TLS with the client certificate.
  await startEtcdInNetns();
  const meshPassword = { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeMeshPassword: { secretKeyRef: { name: 'tabby-bgp-passwords', key: 'mesh' } } } };
  const applied = await tabby(['apply', '-f', '-'], etcdEnvVars(), JSON.stringify(meshPassword));
  assert.equal(applied.code, 0, applied.stderr);
  // etcd --client-cert-auth: no certificate, no connection; one clear line, exit 1.
  const refused = await tabby(['get', 'bgpconfiguration'], etcdEnvVars(false));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^tabby: etcd https:\/\/10\.123\.0\.2:2379: cannot reach etcd/);
  assert.equal(refused.stderr.trimEnd().split('\n').length, 1);
  await stopPid(etcdPid!, 5000);

  // The password Secret, laid out as the kubelet mounts deploy/daemonset.yaml's volume.
  const rootfs = join(dir, 'rootfs');
  kubeletSecretMount(rootfs, daemonSetSecretMount('tabby-bgp-passwords'), { mesh: 'mesh-md5-secret\n' });
  const secretsDir = join(rootfs, ENV_TABLE.find((s) => s.flag === 'secrets-dir')!.default);

  const pcap = join(dir, 'node1.pcap');
  const capture = startDaemon(['tcpdump', '-i', 'eth0', '-U', '-w', pcap, 'tcp port 179'], { netns: ns('node1'), logFile: join(dir, 'tcpdump.log') });
  pids.push(capture.pid!);

  const started = Date.now();
  for (const n of NODES) {
    const vars = [
      `NODENAME=${n.name}`,
      ...etcdEnvVars(),
      'IP=autodetect',
      'IP_AUTODETECTION_METHOD=interface=eth0',
      'CALICO_IPV4POOL_CIDR=10.244.0.0/16',
      'CALICO_IPV4POOL_IPIP=Always',
      'TABBY_DATAPLANE=none',
      `TABBY_STATE_DIR=${join(dir, n.name)}`,
      `TABBY_SECRETS_DIR=${secretsDir}`,
      'TABBY_LOG_LEVEL=Info',
    ];
    const child = startDaemon(['env', '-i', `PATH=${process.env.PATH}`, ...vars, process.execPath, TABBY, 'node', 'run'], { netns: ns(n.name), logFile: join(dir, `${n.name}.log`) });
    pids.push(child.pid!);
    (n as { pid?: number }).pid = child.pid!;
  }
  const log = (n: string) => (existsSync(join(dir, `${n}.log`)) ? readFileSync(join(dir, `${n}.log`), 'utf8') : '');

  // Waiting: a clear line per attempt, readiness false with the reason, alive.
  for (const n of NODES) {
    await waitFor(`${n.name} to log its second attempt`, async () => /datastore unreachable \(attempt 2\)/.test(log(n.name)), 30_000, 250);
    const ready = await httpGet(ns(n.name), 'http://127.0.0.1:9099/readiness');
    assert.equal(ready.status, 503);
    assert.match(ready.body, /datastore unreachable \(attempt \d+\): etcd https:\/\/10\.123\.0\.2:2379: cannot reach etcd/);
    assert.equal((await httpGet(ns(n.name), 'http://127.0.0.1:9099/liveness')).status, 200);
  }
  // Logs: level names and ISO timestamps.
  const line = JSON.parse(log('node1').split('\n').find((l) => l.includes('datastore unreachable'))!) as { level: string; time: string };
  assert.equal(line.level, 'warn');
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const wait = 20_000 - (Date.now() - started);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  for (const n of NODES) assert.ok(alive((n as { pid?: number }).pid!), `${n.name} kept running without its datastore`);
  await startEtcdInNetns();

  const status = async (n: string) => (await askAgent(join(dir, n), 'status').catch(() => undefined)) as NodeStatusJson | undefined;
  for (const n of NODES) {
    await waitFor(`${n} mesh session Established`, async () => {
      const st = await status(n.name);
      return st?.peers.length === 1 && st.peers[0]!.info === 'Established';
    }, 90_000, 500);
  }
  for (const n of NODES) assert.ok(alive((n as { pid?: number }).pid!), `${n.name} was not restarted`);

  // The default pool from CALICO_IPV4POOL_*, the detected addresses on the Nodes.
  const get = async (args: string[]) => {
    const r = await tabby(['get', ...args, '-o', 'json'], etcdEnvVars());
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const pool = await get(['ippool', 'default-ipv4-ippool']);
  assert.deepEqual([pool.spec.cidr, pool.spec.ipipMode, pool.spec.vxlanMode, pool.spec.natOutgoing, pool.spec.blockSize], ['10.244.0.0/16', 'Always', 'Never', true, 26]);
  const nodes = await get(['nodes']);
  assert.deepEqual(
    nodes.items.map((n: { metadata: { name: string }; spec: { bgp: { ipv4Address: string } } }) => [n.metadata.name, n.spec.bgp.ipv4Address]),
    NODES.map((n) => [n.name, n.cidr]),
  );
  const st = (await status('node1'))!;
  assert.equal(st.peers[0]!.type, 'node-to-node mesh');
  assert.equal(st.peers[0]!.address, '10.123.0.12');
  assert.match(st.build!.version, /^\d+\.\d+\.\d+/);

  // The mesh password from the mounted Secret is on the wire: TCP MD5 signatures (option 19).
  await stopPid(capture.pid!, 5000);
  const signed = await run(['tshark', '-r', pcap, '-Y', 'tcp.option_kind == 19 && tcp.port == 179', '-T', 'fields', '-e', 'frame.number']);
  assert.ok(signed.stdout.trim().split('\n').filter(Boolean).length > 0, 'BGP segments carry TCP MD5 signatures');

  // promtool (Debian's prometheus package) on the live /metrics, served apart from the probes.
  const metrics = await httpGet(ns('node1'), 'http://127.0.0.1:9091/metrics');
  assert.equal(metrics.status, 200);
  assert.equal((await httpGet(ns('node1'), 'http://127.0.0.1:9099/metrics')).status, 404, 'the probe listener does not serve metrics');
  const file = join(dir, 'metrics.txt');
  writeFileSync(file, metrics.body);
  const lint = await run(['promtool', 'check', 'metrics'], { input: metrics.body, allowFail: true });
  assert.equal(lint.code, 0, `promtool: ${lint.stdout}${lint.stderr}`);
  assert.match(metrics.body, /^tabby_build_info\{version="\d+\.\d+\.\d+",commit="[^"]+",node="v\d+[^"]*",addon="[^"]+",bpf="[^"]*"\} 1$/m);
  assert.match(metrics.body, /^tabby_bgp_session_established\{peer="Mesh_10_123_0_12",address="10\.123\.0\.12",family="ipv4",peer_type="node-to-node mesh"\} 1$/m);
  assert.match(metrics.body, /^tabby_bgp_session_uptime_seconds\{peer="Mesh_10_123_0_12"[^}]*\} \d/m);
  assert.match(metrics.body, /^tabby_bgp_session_flaps_total\{peer="Mesh_10_123_0_12"[^}]*\} \d/m);
  assert.match(metrics.body, /^tabby_process_cpu_seconds_total /m);
  assert.doesNotMatch(metrics.body, /tabby_process_process_/);
  assert.match(metrics.body, /^tabby_datastore_ready 1$/m);
});
