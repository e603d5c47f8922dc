// `tabby node run` settings from flags and environment, with calico-node's names and
// parsing. Expectations follow calico-node: node/pkg/lifecycle/utils/utils.go
// DetermineNodeName (NODENAME, then HOSTNAME lowercased), node/pkg/lifecycle/startup/
// startup.go configureIPsAndSubnets (IP and IP6: unset, autodetect, none or ADDRESS),
// configureIPPools/createIPPool (default-ipv4-ippool, 192.168.0.0/16, NAT_OUTGOING default
// true, modes "", off, never / crosssubnet, cross-subnet / always, block sizes 20-32 and
// 116-128, NO_DEFAULT_POOLS with a CIDR is an error) and evaluateENVBool.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { envBool } from '../../../src/agent/default-pools.js';
import { resolveNodeConfig } from '../../../src/agent/node-config.js';
import { chooseAddress, parseMethod, resolveNodeAddress, type AddressSetting } from '../../../src/agent/autodetect.js';
import { ValidationError } from '../../../src/errors.js';
import { parseLogLevel } from '../../../src/util/log.js';

const cfg = (env: Record<string, string>, flags: Record<string, string | boolean | undefined> = {}) => resolveNodeConfig(flags, env);
const fails = (env: Record<string, string>, re: RegExp, flags = {}) =>
  assert.throws(() => cfg(env, flags), (e: unknown) => e instanceof ValidationError && re.test(e.message), JSON.stringify(env));

test('node name: NODENAME as given, then HOSTNAME lowercased, then the hostname lowercased; the flag wins', () => {
  assert.equal(cfg({ NODENAME: 'Node-A', HOSTNAME: 'other' }).nodeName, 'Node-A');
  assert.equal(cfg({ HOSTNAME: ' Worker-7 ' }).nodeName, 'worker-7');
  assert.equal(cfg({}).nodeName, hostname().toLowerCase());
  assert.equal(cfg({ NODENAME: 'env' }, { name: 'flag' }).nodeName, 'flag');
});

// calico-node node/pkg/lifecycle/startup/startup.go configureIPsAndSubnets: IP and IP6 are
// unset, autodetect, none or an address; the autodetection method comes with them.
test('IP: unset by default; autodetect uses IP_AUTODETECTION_METHOD; an address is taken as it is; none is allowed', () => {
  assert.deepEqual(cfg({}).ip, { mode: 'unset', method: 'first-found' });
  assert.deepEqual(cfg({ IP: 'autodetect', IP_AUTODETECTION_METHOD: 'interface=eth.*' }).ip, { mode: 'autodetect', method: 'interface=eth.*' });
  assert.deepEqual(cfg({ IP: '10.0.0.5' }).ip, { mode: 'explicit', method: '10.0.0.5' });
  assert.deepEqual(cfg({ IP: '10.0.0.5/24' }).ip, { mode: 'explicit', method: '10.0.0.5/24' });
  assert.deepEqual(cfg({ IP: '10.0.0.5' }, { ip: 'can-reach=10.0.0.1' }).ip, { mode: 'autodetect', method: 'can-reach=10.0.0.1' }, 'the flag (still taking a method) wins');
  assert.deepEqual(cfg({}, { 'ip-autodetection-method': 'cidr=10.0.0.0/8' }).ip, { mode: 'unset', method: 'cidr=10.0.0.0/8' });
  assert.deepEqual(cfg({ IP: 'none' }).ip, { mode: 'none', method: 'first-found' }, 'an IPv6-only node');
  fails({ IP_AUTODETECTION_METHOD: 'bogus=1' }, /IP_AUTODETECTION_METHOD: unknown autodetection method "bogus"/);
  fails({ IP: 'fd00::1' }, /IP: not an IPv4 address/);
});

test('IP6: unset by default (the Node\'s IPv6 address if it has one); autodetect uses IP6_AUTODETECTION_METHOD', () => {
  assert.deepEqual(cfg({}).ip6, { mode: 'unset', method: 'first-found' });
  assert.deepEqual(cfg({ IP6: 'none' }).ip6, { mode: 'none', method: 'first-found' });
  assert.deepEqual(cfg({ IP6: 'autodetect' }).ip6, { mode: 'autodetect', method: 'first-found' });
  assert.deepEqual(cfg({ IP6: 'autodetect', IP6_AUTODETECTION_METHOD: 'interface=eth1' }).ip6, { mode: 'autodetect', method: 'interface=eth1' });
  assert.deepEqual(cfg({ IP6: 'fd00::5/64' }).ip6, { mode: 'explicit', method: 'fd00::5/64' });
  fails({ IP6: '10.0.0.5' }, /IP6: not an IPv6 address/);
});

// confd's bird.cfg template takes CALICO_ROUTER_ID as an address or `hash`.
test('CALICO_ROUTER_ID: hash or an IPv4 address', () => {
  assert.equal(cfg({}).routerId, undefined);
  assert.equal(cfg({ CALICO_ROUTER_ID: 'hash' }).routerId, 'hash');
  assert.equal(cfg({ CALICO_ROUTER_ID: '10.1.2.3' }).routerId, '10.1.2.3');
  assert.equal(cfg({}, { 'router-id': '10.9.9.9' }).routerId, '10.9.9.9');
  fails({ CALICO_ROUTER_ID: 'fd00::1' }, /CALICO_ROUTER_ID: must be hash or an IPv4 address/);
});

test('node address: calico-node\'s rules for unset, autodetect, none and an explicit address', async () => {
  const found = (v: string | undefined) => async () => v;
  const auto = (mode: AddressSetting['mode']): AddressSetting => ({ mode, method: 'first-found' });
  // IPv4 unset: autodetect only when the Node has no address ("We only autodetect IPv4 when it has not been specified").
  assert.equal(await resolveNodeAddress(auto('unset'), 4, undefined, found('10.0.0.5/24')), '10.0.0.5/24');
  assert.equal(await resolveNodeAddress(auto('unset'), 4, '10.0.0.9/24', found('10.0.0.5/24')), '10.0.0.9/24');
  // IPv6 must be asked for with autodetect; unset keeps what the Node has.
  assert.equal(await resolveNodeAddress(auto('unset'), 6, undefined, found('fd00::5/64')), undefined);
  assert.equal(await resolveNodeAddress(auto('unset'), 6, 'fd00::9/64', found('fd00::5/64')), 'fd00::9/64');
  assert.equal(await resolveNodeAddress(auto('autodetect'), 6, 'fd00::9/64', found('fd00::5/64')), 'fd00::5/64');
  // Autodetection that finds nothing keeps the stored address, or fails without one.
  assert.equal(await resolveNodeAddress(auto('autodetect'), 6, 'fd00::9/64', found(undefined)), 'fd00::9/64');
  await assert.rejects(resolveNodeAddress(auto('autodetect'), 6, undefined, found(undefined)), /failed to autodetect an IPv6 address/);
  // none: "Autodetection for IPv6 disabled, keeping existing value".
  assert.equal(await resolveNodeAddress(auto('none'), 4, undefined, found('10.0.0.5/24')), undefined);
  assert.equal(await resolveNodeAddress(auto('none'), 6, 'fd00::9/64', found('fd00::5/64')), 'fd00::9/64');
  assert.equal(await resolveNodeAddress({ mode: 'explicit', method: '10.0.0.7' }, 4, '10.0.0.9/24', async (m) => `${m}/24`), '10.0.0.7/24');
});

test('an explicit address takes the prefix length of the interface holding it (GetLocalCIDR)', () => {
  const links = [{ index: 2, name: 'eth0', up: true, lowerUp: true }] as never[];
  const addrs = [{ family: 4, address: '10.0.0.5', prefixLength: 24, cidr: '10.0.0.5/24', ifindex: 2, scope: 0 }] as never[];
  assert.equal(chooseAddress(parseMethod('10.0.0.5'), 4, links, addrs), '10.0.0.5/24');
  assert.equal(chooseAddress(parseMethod('10.0.0.5/16'), 4, links, addrs), '10.0.0.5/16');
  assert.equal(chooseAddress(parseMethod('10.9.9.9'), 4, links, addrs), '10.9.9.9/32', 'not on this host: as given');
  assert.equal(chooseAddress(parseMethod('10.0.0.5'), 6, links, addrs), undefined);
});

test('default pool: calico-node defaults, CALICO_ and TABBY_ names, TABBY_ first', () => {
  assert.deepEqual(cfg({}).pools, {
    ipv4: { name: 'default-ipv4-ippool', cidr: '192.168.0.0/16', ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, blockSize: 26, disableBGPExport: false },
    ipv6: undefined,
  });
  const p = cfg({ CALICO_IPV4POOL_CIDR: '10.244.1.7/16', CALICO_IPV4POOL_IPIP: 'always', TABBY_IPV4POOL_IPIP: 'cross-subnet', CALICO_IPV4POOL_NAT_OUTGOING: 'N', CALICO_IPV4POOL_BLOCK_SIZE: '28', CALICO_IPV4POOL_NODE_SELECTOR: "rack == 'a'" }).pools.ipv4!;
  assert.equal(p.cidr, '10.244.0.0/16', 'masked, as cnet.ParseCIDR does');
  assert.equal(p.ipipMode, 'CrossSubnet', 'TABBY_ before CALICO_');
  assert.equal(p.natOutgoing, false);
  assert.equal(p.blockSize, 28);
  assert.equal(p.nodeSelector, "rack == 'a'");
  assert.equal(cfg({ CALICO_IPV4POOL_CIDR: 'none' }).pools.ipv4, undefined);
  const v6 = cfg({ CALICO_IPV6POOL_CIDR: 'fd00:10::/48', CALICO_IPV6POOL_VXLAN: 'Always' }).pools.ipv6!;
  assert.deepEqual([v6.name, v6.cidr, v6.vxlanMode, v6.ipipMode, v6.natOutgoing, v6.blockSize], ['default-ipv6-ippool', 'fd00:10::/48', 'Always', 'Never', false, 122]);
  assert.deepEqual(cfg({ NO_DEFAULT_POOLS: 'true' }).pools, {});
  assert.deepEqual(cfg({}, { 'default-pools': false }).pools, {});
  assert.equal(cfg({ CALICO_IPV4POOL_VXLAN: 'Off' }, { 'ipv4-pool-vxlan': 'CrossSubnet' }).pools.ipv4!.vxlanMode, 'CrossSubnet', 'flag wins');
});

test('default pool: bad values stop the start naming the variable', () => {
  fails({ CALICO_IPV4POOL_CIDR: '10.0.0.0' }, /CALICO_IPV4POOL_CIDR: invalid IPv4 CIDR/);
  fails({ CALICO_IPV4POOL_CIDR: 'fd00::/48' }, /invalid IPv4 CIDR/);
  fails({ CALICO_IPV4POOL_BLOCK_SIZE: '19' }, /CALICO_IPV4POOL_BLOCK_SIZE: invalid block size "19" for IPv4: 20 to 32/);
  fails({ CALICO_IPV6POOL_CIDR: 'fd00::/48', CALICO_IPV6POOL_BLOCK_SIZE: '129' }, /116 to 128/);
  fails({ CALICO_IPV4POOL_IPIP: 'sometimes' }, /CALICO_IPV4POOL_IPIP: unrecognized mode "sometimes"/);
  fails({ NO_DEFAULT_POOLS: 'true', CALICO_IPV4POOL_CIDR: '10.0.0.0/16' }, /NO_DEFAULT_POOLS: conflicts with CALICO_IPV4POOL_CIDR/);
});

test('evaluateENVBool: false, 0, no, n, f (any case) are false; anything else set is true', () => {
  for (const f of ['false', 'FALSE', '0', 'no', 'N', 'f']) assert.equal(envBool(f, true), false, f);
  for (const t of ['true', '1', 'yes', 'anything']) assert.equal(envBool(t, false), true, t);
  assert.equal(envBool(undefined, true), true);
});

test('probes and metrics: separate defaults (9099 on loopback, 9091 on all addresses), -1 turns off', () => {
  const c = cfg({});
  assert.deepEqual(c.health, { address: '127.0.0.1', port: 9099 });
  assert.deepEqual(c.metrics, { address: '0.0.0.0', port: 9091 });
  assert.equal(cfg({ TABBY_METRICS_PORT: '-1' }).metrics, false);
  assert.deepEqual(cfg({ TABBY_METRICS_ADDRESS: '10.0.0.1' }, { 'metrics-port': '0' }).metrics, { address: '10.0.0.1', port: 0 });
  fails({ TABBY_HEALTH_PORT: '70000' }, /TABBY_HEALTH_PORT: must be -1 \(off\) or a port/);
});

test('log levels: Calico names in any case (logSeverityScreen, logrus ParseLevel), Panic is fatal', () => {
  const cases: [string, string][] = [['Trace', 'trace'], ['DEBUG', 'debug'], ['Info', 'info'], ['Warning', 'warn'], ['warn', 'warn'], ['Error', 'error'], ['Fatal', 'fatal'], ['Panic', 'fatal'], ['None', 'silent']];
  for (const [name, level] of cases) assert.equal(parseLogLevel(name), level, name);
  assert.throws(() => parseLogLevel('Verbose', 'TABBY_LOG_LEVEL'), /TABBY_LOG_LEVEL: unknown log level "Verbose"; use Trace, Debug, Info, Warning/);
  fails({ TABBY_LOG_LEVEL: 'loud' }, /TABBY_LOG_LEVEL: unknown log level/);
  assert.equal(cfg({ TABBY_LOG_LEVEL: 'Warning' }).logLevel, 'Warning');
});
