// tabby-cni run as a runtime runs it, inside a namespace that plays the node (uplink eth0
// with a default route, forwarding on), against a file: datastore. Wiring expectations
// come from Calico's cni-plugin/pkg/dataplane/linux/dataplane_linux.go (DoNetworking,
// configureSysctls, SetupRoutes); results, errors and codes from the CNI SPEC.md 1.0.0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { etcdArgs, etcdEnv } from '../../src/lab/etcd-process.js';
import { waitFor as waitUntil } from '../../src/util/exec.js';
import { BLOCK_KIND, type IpamBlock } from '../../src/ipam/ipam.js';
import { runCni, type CniCall } from '../helpers/cni.js';
import { TABBY, tabby, tempDir } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';
import { readFileSync } from 'node:fs';
import { needs } from '../helpers/require.js';
import { TestNetns, run } from './netlink-netns.js';

const POOLS = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v4}
spec: {cidr: 10.244.0.0/16, blockSize: 26, ipipMode: Always}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v6}
spec: {cidr: 'fd00:10::/48', blockSize: 122}
`;

describe('tabby-cni in a node namespace', { ...needs({ root: true, tools: ['ip', 'sysctl', 'ping', 'etcd', '/usr/lib/cni/tuning'] }), timeout: 600_000 }, () => {
  let host: TestNetns;
  let uplink: TestNetns;
  const boxes: TestNetns[] = [];
  let tmp: ReturnType<typeof tempDir>;
  let conf: Record<string, unknown>;

  const box = () => {
    const b = new TestNetns('tbt-cni-c');
    boxes.push(b);
    return b;
  };
  const call = (c: Omit<CniCall, 'hostNetns'>) => runCni({ hostNetns: host.name, ...c });
  const add = (b: TestNetns, id: string, extra: Partial<CniCall> = {}) => call({ command: 'ADD', containerID: id, netns: `/var/run/netns/${b.name}`, ifname: 'eth0', conf, ...extra });
  const del = (b: TestNetns | undefined, id: string, extra: Partial<CniCall> = {}) => call({ command: 'DEL', containerID: id, netns: b ? `/var/run/netns/${b.name}` : '', ifname: 'eth0', conf, ...extra });
  const sysctl = (ns: string, key: string) => run('ip', 'netns', 'exec', ns, 'sysctl', '-n', key).trim();
  const store = () => new FileDatastore(`${tmp.dir}/ds`);
  async function allocations(): Promise<Record<string, string>> {
    const s = store();
    try {
      const blocks = (await s.list(BLOCK_KIND)).items as IpamBlock[];
      return Object.assign({}, ...blocks.map((b) => b.spec.allocations));
    } finally {
      await s.close();
    }
  }
  async function endpoints(): Promise<Record<string, any>[]> {
    const s = store();
    try {
      return (await s.list('WorkloadEndpoint')).items as Record<string, any>[];
    } finally {
      await s.close();
    }
  }
  const caliLinks = () => (JSON.parse(host.ip('-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith('cali'));

  before(() => {
    tmp = tempDir('tabby-cni-');
    const r = tabby(`${tmp.dir}/ds`, ['apply', '-f', '-'], POOLS);
    assert.equal(r.code, 0, r.stderr);
    host = new TestNetns('tbt-cni-h');
    uplink = new TestNetns('tbt-cni-u');
    run('ip', 'link', 'add', 'eth0', 'netns', host.name, 'type', 'veth', 'peer', 'name', 'up0', 'netns', uplink.name);
    host.ip('addr', 'add', '10.255.0.11/24', 'dev', 'eth0');
    host.ip('-6', 'addr', 'add', '2001:db8:ff::11/64', 'dev', 'eth0', 'nodad');
    for (const [ns, dev] of [[host, 'eth0'], [host, 'lo'], [uplink, 'up0'], [uplink, 'lo']] as const) ns.ip('link', 'set', dev, 'up');
    uplink.ip('addr', 'add', '10.255.0.1/24', 'dev', 'up0');
    uplink.ip('-6', 'addr', 'add', '2001:db8:ff::1/64', 'dev', 'up0', 'nodad');
    // Proxy ARP answers for 169.254.1.1 because the node has a route (its default) for it.
    host.ip('route', 'add', 'default', 'via', '10.255.0.1');
    host.ip('-6', 'route', 'add', 'default', 'via', '2001:db8:ff::1');
    run('ip', 'netns', 'exec', host.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    uplink.ip('route', 'add', '10.244.0.0/16', 'via', '10.255.0.11');
    uplink.ip('-6', 'route', 'add', 'fd00:10::/48', 'via', '2001:db8:ff::11');
    conf = { cniVersion: '1.0.0', name: 'net1', type: 'tabby-cni', datastore: `file:${tmp.dir}/ds`, nodename: 'node1', ipam_lock_file: `${tmp.dir}/ipam.lock` };
  });

  after(() => {
    for (const b of boxes) b.destroy();
    host?.destroy();
    uplink?.destroy();
    tmp?.cleanup();
  });

  test('VERSION answers without a configuration or a datastore', async () => {
    const r = await runCni({ command: 'VERSION', conf: { cniVersion: '1.0.0' } });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json, { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  test('start-up loads only what the command needs: no package for VERSION, no etcd client or pino for a quiet ADD on file:', async () => {
    const packages = async (c: Omit<CniCall, 'env'>) => {
      const log = `${tmp.dir}/load-${randomBytes(4).toString('hex')}.log`;
      const r = await runCni({ ...c, env: { NODE_OPTIONS: `--require ${fixture('cjs-load-log.cjs')}`, TABBY_LOAD_LOG: log } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch {
        // Nothing CommonJS was loaded at all.
      }
      return new Set(text.split('\n').map((p) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter(Boolean));
    };
    assert.deepEqual([...(await packages({ command: 'VERSION', conf: { cniVersion: '1.0.0' } }))], []);
    const b = box();
    const quiet = { ...conf, log_level: 'warn' };
    const loaded = await packages({ hostNetns: host.name, command: 'ADD', containerID: 'lean01', netns: `/var/run/netns/${b.name}`, ifname: 'eth0', conf: quiet });
    for (const heavy of ['etcd3', '@grpc/grpc-js', 'protobufjs', 'pino', 'yargs', 'yaml']) assert.ok(!loaded.has(heavy), `ADD on file: loaded ${heavy}`);
    assert.ok(loaded.has('proper-lockfile') && loaded.has('ip-address'), 'what it does need');
    assert.equal((await del(b, 'lean01')).code, 0);
  });

  test('ADD wires the container as Calico does; CHECK passes; DEL removes all of it, twice', async () => {
    const b = box();
    const r = await add(b, 'c0ffee01');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = r.json as any;
    const [hostIf, contIf] = result.interfaces;
    assert.match(hostIf.name, /^cali[0-9a-f]{11}$/);
    assert.equal(hostIf.mac, 'ee:ee:ee:ee:ee:ee');
    assert.equal(hostIf.sandbox, undefined);
    assert.deepEqual([contIf.name, contIf.sandbox], ['eth0', `/var/run/netns/${b.name}`]);
    assert.equal(result.ips.length, 1);
    const [ip] = result.ips;
    assert.match(ip.address, /^10\.244\.\d+\.\d+\/32$/);
    assert.equal(ip.interface, 1);
    assert.equal(ip.version, undefined, '1.0.0 results carry no version');
    const addr = ip.address.split('/')[0];

    // Container side: the /32, a link route to 169.254.1.1 and the default via it; MTU for IPIP.
    const inside = JSON.parse(b.ip('-j', 'addr', 'show', 'eth0'))[0];
    assert.deepEqual(inside.addr_info.filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`), [`${addr}/32`]);
    assert.equal(inside.mtu, 1480);
    assert.equal(inside.address, contIf.mac);
    assert.match(b.ip('route', 'show'), /^default via 169\.254\.1\.1 dev eth0/m);
    assert.match(b.ip('route', 'show'), /^169\.254\.1\.1 dev eth0 scope link/m);
    assert.equal(sysctl(b.name, 'net.ipv4.ip_forward'), '0', 'allow_ip_forwarding defaults to off');

    // Host side: up, proxy ARP without delay, forwarding, route_localnet, and a /32 through it.
    const veth = JSON.parse(host.ip('-j', 'link', 'show', hostIf.name))[0];
    assert.ok(veth.flags.includes('UP'));
    for (const [key, want] of [['proxy_arp', '1'], ['forwarding', '1'], ['route_localnet', '1']]) assert.equal(sysctl(host.name, `net.ipv4.conf.${hostIf.name}.${key}`), want, key);
    assert.equal(sysctl(host.name, `net.ipv4.neigh.${hostIf.name}.proxy_delay`), '0');
    const hostRoute = JSON.parse(host.ip('-j', 'route', 'show', `${addr}/32`))[0];
    // iproute2 prints no protocol for "boot" (what netlink libraries write, and so Calico):
    // the plugin's routes are not the agent's (protocol 88), so the agent leaves them alone.
    assert.deepEqual([hostRoute.dev, hostRoute.scope, hostRoute.protocol], [hostIf.name, 'link', undefined]);

    // Traffic: to the node, and routed beyond it.
    run('ip', 'netns', 'exec', b.name, 'ping', '-c', '1', '-W', '2', '10.255.0.11');
    run('ip', 'netns', 'exec', b.name, 'ping', '-c', '1', '-W', '2', '10.255.0.1');

    // The datastore: the endpoint and the allocation under the handle.
    const [wep] = await endpoints();
    assert.equal(wep.metadata.name, 'node1-cni-c0ffee01-eth0');
    assert.equal(wep.metadata.namespace, 'default');
    assert.deepEqual(wep.spec, { orchestrator: 'cni', node: 'node1', containerID: 'c0ffee01', endpoint: 'eth0', ipNetworks: [ip.address], profiles: ['net1'], interfaceName: hostIf.name, mac: contIf.mac });
    assert.deepEqual(await allocations(), { [addr]: 'net1.c0ffee01.eth0' });
    const list = tabby(`${tmp.dir}/ds`, ['get', 'workloadendpoints', '-o', 'wide']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+WORKLOAD\s+NODE\s+NETWORKS\s+INTERFACE\s+PROFILES\s+NATS$/m);
    assert.match(list.stdout, new RegExp(`node1-cni-c0ffee01-eth0\\s+node1\\s+${ip.address.replace(/\./g, '\\.')}\\s+${hostIf.name}\\s+net1`));

    const check = await call({ command: 'CHECK', containerID: 'c0ffee01', netns: `/var/run/netns/${b.name}`, ifname: 'eth0', conf: { ...conf, prevResult: result } });
    assert.equal(check.code, 0, check.stdout);
    assert.equal(check.stdout, '', 'CHECK prints nothing on success');
    host.ip('route', 'del', `${addr}/32`);
    const broken = await call({ command: 'CHECK', containerID: 'c0ffee01', netns: `/var/run/netns/${b.name}`, ifname: 'eth0', conf: { ...conf, prevResult: result } });
    assert.equal(broken.code, 1);
    assert.equal((broken.json as any).code, 102);
    assert.match((broken.json as any).details, /no host route/);

    // ADD again for the same interface: SPEC.md says an existing interface is an error.
    const again = await add(b, 'c0ffee01');
    assert.notEqual(again.code, 0);
    assert.match((again.json as any).msg, /eth0 already exists/);
    assert.deepEqual(await allocations(), { [addr]: 'net1.c0ffee01.eth0' }, 'the failed ADD left the first one alone');

    for (let i = 0; i < 2; i++) {
      const d = await del(b, 'c0ffee01');
      assert.equal(d.code, 0, d.stdout);
      assert.equal(d.stdout, '');
    }
    assert.deepEqual(await allocations(), {});
    assert.deepEqual(await endpoints(), []);
    assert.deepEqual(caliLinks(), []);
    assert.doesNotMatch(b.ip('link', 'show'), /eth0/);
  });

  test('in a conflist chain: the next plugin (containernetworking tuning) takes the result as prevResult', async () => {
    // libcni runs a conflist's ADDs in order, each with the previous result as prevResult, and
    // the DELs in reverse (SPEC.md "Network configuration lists"); Calico's own conflist
    // chains portmap and bandwidth the same way.
    const b = box();
    const r = await add(b, 'chain01');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const tuning = (command: string, prevResult?: unknown) =>
      spawnSync('ip', ['netns', 'exec', host.name, '/usr/lib/cni/tuning'], {
        input: JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.rp_filter': '2' }, ...(prevResult ? { prevResult } : {}) }),
        env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: 'chain01', CNI_NETNS: `/var/run/netns/${b.name}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const t = tuning('ADD', r.json);
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.deepEqual(JSON.parse(t.stdout).ips, (r.json as any).ips, "tuning passes tabby-cni's result on");
    assert.equal(sysctl(b.name, 'net.ipv4.conf.eth0.rp_filter'), '2');
    assert.equal(tuning('DEL').status, 0);
    assert.equal((await del(b, 'chain01')).code, 0);
    assert.deepEqual(await allocations(), {});
  });

  test('DEL after the namespace is gone, or without CNI_NETNS, still releases everything', async () => {
    const b = box();
    assert.equal((await add(b, 'gone01')).code, 0);
    b.destroy();
    const d = await del(b, 'gone01');
    assert.equal(d.code, 0, d.stdout);
    const c = box();
    assert.equal((await add(c, 'gone02')).code, 0);
    assert.equal((await del(undefined, 'gone02')).code, 0);
    assert.deepEqual(await allocations(), {});
    assert.deepEqual(await endpoints(), []);
    assert.deepEqual(caliLinks(), [], 'the host side goes even without the netns');
  });

  test('dual stack: a /128 and a default route via the host side\'s link-local address', async () => {
    const b = box();
    const r = await add(b, 'dual01', { conf: { ...conf, cniVersion: '0.4.0', ipam: { assign_ipv6: 'true' } } });
    assert.equal(r.code, 0, r.stdout);
    const result = r.json as any;
    assert.deepEqual(result.ips.map((i: any) => i.version), ['4', '6'], '0.4.0 results carry the IP version');
    const v6 = result.ips[1].address as string;
    assert.match(v6, /^fd00:10::[0-9a-f:]+\/128$/);
    const hostIf = result.interfaces[0].name;
    const ll = JSON.parse(host.ip('-j', '-6', 'addr', 'show', 'dev', hostIf))[0].addr_info.find((a: any) => a.scope === 'link').local;
    assert.match(b.ip('-6', 'route', 'show', 'default'), new RegExp(`default via ${ll} dev eth0`));
    assert.deepEqual(result.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0', gw: ll }]);
    assert.equal(sysctl(host.name, `net.ipv6.conf.${hostIf}.proxy_ndp`), '1');
    assert.equal(sysctl(b.name, 'net.ipv6.conf.eth0.accept_dad'), '0');
    assert.match(host.ip('-6', 'route', 'show', v6), new RegExp(`dev ${hostIf}`));
    run('ip', 'netns', 'exec', b.name, 'ping', '-6', '-c', '1', '-W', '3', '2001:db8:ff::1');
    assert.equal((await del(b, 'dual01')).code, 0);
    assert.deepEqual(await allocations(), {});
  });

  test('malformed configuration, unknown versions and missing environment: the spec\'s error, nothing allocated', async () => {
    const b = box();
    const base = { command: 'ADD', containerID: 'bad01', netns: `/var/run/netns/${b.name}`, ifname: 'eth0' };
    const cases: [string, Partial<CniCall>, number, RegExp][] = [
      ['not JSON', { conf: '{"cniVersion": "1.0.0", ' }, 6, /decode/],
      ['not an object', { conf: '"just a string"' }, 6, /decode/],
      ['no cniVersion', { conf: { name: 'net1', type: 'tabby-cni' } }, 7, /cniVersion is required/],
      ['unknown CNI version', { conf: { ...conf, cniVersion: '9.9.9' } }, 1, /incompatible CNI version/],
      ['pre-0.3 version', { conf: { ...conf, cniVersion: '0.2.0' } }, 1, /incompatible CNI version/],
      ['bad network name', { conf: { ...conf, name: 'no/slashes' } }, 7, /network name/],
      ['another IPAM plugin', { conf: { ...conf, ipam: { type: 'host-local', subnet: '10.1.0.0/16' } } }, 2, /unsupported field/],
      ['unknown pool', { conf: { ...conf, ipam: { pools: ['nosuchpool'] } } }, 7, /invalid ipam.pools/],
      ['bad datastore', { conf: { ...conf, datastore: 'ftp://x' } }, 7, /invalid datastore/],
      ['no CNI_COMMAND', { env: { CNI_COMMAND: undefined }, conf }, 4, /CNI_COMMAND/],
      ['unknown CNI_COMMAND', { command: 'FROB', conf }, 4, /CNI_COMMAND/],
      ['no CNI_CONTAINERID', { containerID: undefined, env: { CNI_CONTAINERID: undefined }, conf }, 4, /CNI_CONTAINERID/],
      ['no CNI_NETNS', { env: { CNI_NETNS: undefined }, conf }, 4, /CNI_NETNS/],
      ['no CNI_IFNAME', { env: { CNI_IFNAME: undefined }, conf }, 4, /CNI_IFNAME/],
      ['bad CNI_IFNAME', { ifname: 'way-too-long-name0', conf }, 4, /CNI_IFNAME/],
      ['CHECK on 0.3.1', { command: 'CHECK', conf: { ...conf, cniVersion: '0.3.1' } }, 1, /does not allow CHECK/],
      ['GC on 1.0.0', { command: 'GC', conf }, 1, /does not allow GC/],
      ['a namespace that does not exist', { netns: '/var/run/netns/tbt-cni-nosuch', conf }, 3, /namespace not found/],
    ];
    for (const [what, c, code, msg] of cases) {
      const r = await call({ ...base, ...c } as CniCall);
      assert.notEqual(r.code, 0, what);
      const e = r.json as { cniVersion: string; code: number; msg: string; details?: string };
      assert.ok(e, `${what}: error JSON on stdout, got ${JSON.stringify(r.stdout)}`);
      assert.equal(e.code, code, `${what}: ${JSON.stringify(e)}`);
      assert.match(e.msg, msg, what);
      assert.equal(typeof e.cniVersion, 'string', what);
    }
    assert.deepEqual(await allocations(), {});
    assert.deepEqual(await endpoints(), []);
    assert.deepEqual(caliLinks(), []);
    assert.doesNotMatch(b.ip('link', 'show'), /eth0/);
  });

  test('50 containers added and deleted concurrently: no address twice, none leaked', async () => {
    const n = 50;
    const ids = Array.from({ length: n }, (_, i) => `par${i}-${randomBytes(3).toString('hex')}`);
    const bs = ids.map(() => box());
    // 50 plugin processes at once on a small machine: each gets its share of two cores.
    const slow = { timeoutMs: 300_000 };
    const added = await Promise.all(ids.map((id, i) => add(bs[i]!, id, slow)));
    for (const r of added) assert.equal(r.code, 0, r.stdout + r.stderr);
    const addrs = added.map((r) => (r.json as any).ips[0].address);
    assert.equal(new Set(addrs).size, n, 'no address assigned twice');
    assert.equal(Object.keys(await allocations()).length, n);
    assert.equal((await endpoints()).length, n);
    assert.equal(caliLinks().length, n);
    const deleted = await Promise.all(ids.map((id, i) => del(bs[i]!, id, slow)));
    for (const r of deleted) assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await allocations(), {}, 'none leaked');
    assert.deepEqual(await endpoints(), []);
    assert.deepEqual(caliLinks(), []);
  });

  test('GC (1.1.0) releases what is not among the valid attachments; STATUS answers', async () => {
    const [a, b] = [box(), box()];
    assert.equal((await add(a, 'keep01')).code, 0);
    assert.equal((await add(b, 'drop01')).code, 0);
    const gc = await call({ command: 'GC', conf: { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep01', ifname: 'eth0' }] } });
    assert.equal(gc.code, 0, gc.stdout);
    assert.deepEqual(Object.values(await allocations()), ['net1.keep01.eth0']);
    assert.deepEqual((await endpoints()).map((w) => w.metadata.name), ['node1-cni-keep01-eth0']);
    assert.equal(caliLinks().length, 1);
    const status = await call({ command: 'STATUS', conf: { ...conf, cniVersion: '1.1.0' } });
    assert.equal(status.code, 0, status.stdout);
    const down = await call({ command: 'STATUS', conf: { ...conf, cniVersion: '1.1.0', ipam: { pools: ['nosuchpool'] } } });
    assert.equal((down.json as any).code, 50);
    assert.equal((await del(a, 'keep01')).code, 0);
  });

  test('on etcd: two nodes, 10 ADDs at once on each, then the DELs: no address twice, none leaked', async () => {
    // etcd runs in the uplink namespace; a second node namespace hangs off it too.
    const node2 = new TestNetns('tbt-cni-h2');
    boxes.push(node2);
    run('ip', 'link', 'add', 'eth0', 'netns', node2.name, 'type', 'veth', 'peer', 'name', 'up1', 'netns', uplink.name);
    node2.ip('addr', 'add', '10.255.1.12/24', 'dev', 'eth0');
    uplink.ip('addr', 'add', '10.255.1.1/24', 'dev', 'up1');
    for (const [ns, dev] of [[node2, 'eth0'], [node2, 'lo'], [uplink, 'up1']] as const) ns.ip('link', 'set', dev, 'up');
    node2.ip('route', 'add', 'default', 'via', '10.255.1.1');
    run('ip', 'netns', 'exec', node2.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    const argv = ['ip', 'netns', 'exec', uplink.name, '/usr/bin/etcd', ...etcdArgs({ name: 'cni', dataDir: `${tmp.dir}/etcd`, listenClientUrls: 'http://0.0.0.0:2379', advertiseClientUrl: 'http://10.255.0.1:2379', peerUrl: 'http://127.0.0.1:2380', initialCluster: 'cni=http://127.0.0.1:2380', token: 'cni-test' })];
    const etcd: ChildProcess = spawn(argv[0]!, argv.slice(1), { env: etcdEnv(), stdio: 'ignore' });
    try {
      // The CLI reaches this etcd from the uplink namespace only.
      const cli = (args: string[], input?: string) => {
        const r = spawnSync('ip', ['netns', 'exec', uplink.name, process.execPath, TABBY, '--datastore', 'etcd:http://10.255.0.1:2379', ...args], { input, encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      await waitUntil('etcd to answer', () => spawnSync('ip', ['netns', 'exec', uplink.name, process.execPath, TABBY, '--datastore', 'etcd:http://10.255.0.1:2379', 'get', 'ippool'], { timeout: 20_000 }).status === 0, 30_000, 250);
      cli(['apply', '-f', '-'], POOLS);
      const nodes = [
        { hostNetns: host.name, conf: { ...conf, datastore: 'etcd:http://10.255.0.1:2379', nodename: 'node1' } },
        { hostNetns: node2.name, conf: { ...conf, datastore: 'etcd:http://10.255.1.1:2379', nodename: 'node2', ipam_lock_file: `${tmp.dir}/ipam2.lock` } },
      ];
      // Each plugin process loads the etcd client (~0.3 s of CPU): 20 at once is what a busy
    // two-core node can take inside the suite's budget; IPAM itself is raced harder in ipam-etcd.
    const jobs = nodes.flatMap((n, ni) => Array.from({ length: 10 }, (_, i) => ({ ...n, id: `etcd${ni}-${i}`, netns: box() })));
      const slow = { timeoutMs: 300_000 };
      const added = await Promise.all(jobs.map((j) => runCni({ hostNetns: j.hostNetns, command: 'ADD', containerID: j.id, netns: `/var/run/netns/${j.netns.name}`, ifname: 'eth0', conf: j.conf, ...slow })));
      for (const r of added) assert.equal(r.code, 0, r.stdout + r.stderr);
      const addrs = added.map((r) => (r.json as any).ips[0].address as string);
      assert.equal(new Set(addrs).size, 20, 'no address assigned twice');
      const usage = JSON.parse(cli(['ipam', 'show', '--show-blocks', '-o', 'json']));
      const v4 = usage.pools.find((p: any) => p.name === 'v4');
      assert.equal(v4.inUse, 20);
      assert.deepEqual(v4.blocks.map((b: any) => b.affinity).sort(), ['host:node1', 'host:node2'], 'one block per node holds them all');
      const deleted = await Promise.all(jobs.map((j) => runCni({ hostNetns: j.hostNetns, command: 'DEL', containerID: j.id, netns: `/var/run/netns/${j.netns.name}`, ifname: 'eth0', conf: j.conf, ...slow })));
      for (const r of deleted) assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(JSON.parse(cli(['ipam', 'show', '-o', 'json'])).pools.find((p: any) => p.name === 'v4').inUse, 0, 'none leaked');
      assert.equal(JSON.parse(cli(['get', 'wep', '-o', 'json'])).items.length, 0);
    } finally {
      etcd.kill('SIGKILL');
    }
  });
});
