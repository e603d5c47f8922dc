// The network configuration and the spec's error codes (SPEC.md 1.0.0 section 5, "Error"):
// 1 incompatible version, 2 unsupported field (naming key and value), 6 undecodable,
// 7 invalid. CHECK needs 0.4.0+, STATUS and GC 1.1.0 (SPEC.md 1.1.0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVersions, parseNetConf, requireVersionFor, versionOf } from '../../../src/cni/cni-config.js';
import { CniError } from '../../../src/cni/cni-error.js';

const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'tabby-cni', ...extra });
const code = (raw: string, want: number, re?: RegExp) =>
  assert.throws(() => parseNetConf(raw), (e: unknown) => e instanceof CniError && e.cniCode === want && (!re || re.test(e.message)), raw);

test('defaults: IPv4 only, warn level, the host-wide lock, no forwarding', () => {
  const c = parseNetConf(conf());
  assert.deepEqual(c.ipam, { assignIpv4: true });
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.ipamLockFile, '/var/run/tabby/ipam.lock');
  assert.equal(c.allowIpForwarding, false);
});

test('every field Tabby reads, in Calico\'s spelling', () => {
  const c = parseNetConf(conf({
    datastore: 'etcd:http://10.0.0.1:2379', nodename: 'n1', mtu: 1400, log_level: 'DEBUG', log_file_path: '/var/log/tabby/cni.log',
    ipam_lock_file: '/tmp/l', ipam: { type: 'tabby-cni', pools: ['default-ipv4-ippool', 'fd00::/48'], assign_ipv4: 'true', assign_ipv6: 'true' },
    container_settings: { allow_ip_forwarding: true }, prevResult: { ips: [] }, 'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'eth0' }],
    runtimeConfig: { portMappings: [] }, args: {}, unknownPluginKey: 1,
  }));
  assert.deepEqual(c.ipam, { pools: ['default-ipv4-ippool', 'fd00::/48'], assignIpv4: true, assignIpv6: true });
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.mtu, 1400);
  assert.equal(c.allowIpForwarding, true);
  assert.deepEqual(c.validAttachments, [{ containerID: 'c', ifname: 'eth0' }]);
  // Calico's etcd keys (cni-plugin/pkg/types NetConf: etcd_endpoints, etcd_*_file).
  const e = parseNetConf(conf({ etcd_endpoints: 'https://10.0.0.1:2379,https://10.0.0.2:2379', etcd_ca_cert_file: '/etc/cni/net.d/tabby-tls/etcd-ca', etcd_cert_file: '/c', etcd_key_file: '/k' }));
  assert.equal(e.datastore, 'etcd:https://10.0.0.1:2379,https://10.0.0.2:2379');
  assert.deepEqual(e.etcdTls, { ca: '/etc/cni/net.d/tabby-tls/etcd-ca', cert: '/c', key: '/k' });
});

test('malformed configurations get the spec\'s codes', () => {
  code('{not json', 6);
  code('[1,2]', 6);
  code(JSON.stringify({ name: 'n', type: 't' }), 7, /cniVersion is required/);
  code(conf({ cniVersion: '0.2.0' }), 1, /"0.2.0" is not supported/);
  code(conf({ cniVersion: '2.0.0' }), 1);
  code(conf({ name: '-bad' }), 7, /network name/);
  code(conf({ name: 'has space' }), 7);
  code(conf({ datastore: 'mysql://x' }), 7, /unknown scheme/);
  code(conf({ datastore: 'file:/x', etcd_endpoints: 'http://a:2379' }), 7, /not both/);
  code(conf({ etcd_endpoints: 'nope' }), 7, /etcd_endpoints/);
  code(conf({ etcd_key_file: 'relative' }), 7, /absolute path/);
  code(conf({ mtu: 9_999_999 }), 7, /mtu/);
  code(conf({ log_level: 'loud' }), 7);
  code(conf({ ipam: { type: 'host-local' } }), 2, /ipam\.type="host-local"/);
  code(conf({ ipam: { pools: [] } }), 7);
  code(conf({ ipam: { assign_ipv6: 'maybe' } }), 7, /assign_ipv6/);
  code(conf({ prevResult: 'x' }), 7);
  code(conf({ 'cni.dev/valid-attachments': [{ containerID: 1 }] }), 7);
});

test('versions: the error result reuses the given one; CHECK, STATUS and GC need theirs', () => {
  assert.equal(versionOf(conf({ cniVersion: '0.4.0' })), '0.4.0');
  assert.equal(versionOf('garbage'), undefined);
  assert.ok(compareVersions('0.4.0', '1.0.0') < 0 && compareVersions('1.1.0', '1.0.0') > 0 && compareVersions('1.0.0', '1.0.0') === 0);
  assert.throws(() => requireVersionFor('CHECK', '0.3.1'), (e: unknown) => e instanceof CniError && e.cniCode === 1);
  assert.throws(() => requireVersionFor('GC', '1.0.0'), /GC needs cniVersion 1.1.0/);
  assert.throws(() => requireVersionFor('STATUS', '1.0.0'), /STATUS/);
  requireVersionFor('CHECK', '0.4.0');
  requireVersionFor('ADD', '0.3.0');
});
