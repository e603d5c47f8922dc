// scripts/install-cni.sh, the DaemonSet's init container, into a scratch "host" root:
// the package and node binary, the /opt/cni/bin/tabby-cni wrapper, the conflist (each
// written then renamed, as Calico's install-cni does), and a second run replacing the first.
// The installed wrapper must work: VERSION through it answers as the plugin does.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';
import { needs } from '../helpers/require.js';

// Each run copies the package (~90 MB with node_modules): ~10 s, minutes on a busy disk.
const RUN_MS = 300_000;

test('install-cni puts the plugin and its configuration on the host', { ...needs({ tools: ['sh', 'cp', 'mv'] }), timeout: 3 * RUN_MS }, () => {
  const host = tempDir('tabby-install-cni-');
  try {
    const env = { ...process.env, HOST_ROOT: host.dir, NODENAME: 'node-7', TABBY_DATASTORE: 'etcd:http://10.0.0.10:2379', CNI_MTU: '1440' };
    for (let i = 0; i < 2; i++) execFileSync('sh', [join(ROOT, 'scripts', 'install-cni.sh')], { env, stdio: 'pipe', timeout: RUN_MS });
    const wrapper = join(host.dir, 'opt/cni/bin/tabby-cni');
    assert.equal(statSync(wrapper).mode & 0o777, 0o755);
    assert.equal(readFileSync(wrapper, 'utf8'), '#!/bin/sh\nexec /opt/tabby/bin/node /opt/tabby/dist/src/cni/main.js "$@"\n');
    const conf = JSON.parse(readFileSync(join(host.dir, 'etc/cni/net.d/10-tabby.conflist'), 'utf8'));
    assert.deepEqual(conf, { cniVersion: '1.0.0', name: 'k8s-pod-network', plugins: [{ type: 'tabby-cni', nodename: 'node-7', datastore: 'etcd:http://10.0.0.10:2379', log_file_path: '/var/log/tabby/cni.log', mtu: 1440 }] });
    assert.deepEqual(readdirSync(join(host.dir, 'opt')).sort(), ['cni', 'tabby'], 'no staging copies left');
    assert.deepEqual(readdirSync(join(host.dir, 'etc/cni/net.d')), ['10-tabby.conflist'], 'no temporary files left');
    // calico-node's etcd variables, as the DaemonSet sets them: endpoints and TLS files beside the conflist.
    const certs = join(host.dir, 'certs');
    mkdirSync(certs);
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(certs, f), `PEM ${f}\n`);
    const etcdEnv = { ...env, TABBY_DATASTORE: '', ETCD_ENDPOINTS: 'https://10.0.0.10:2379', ETCD_CA_CERT_FILE: join(certs, 'ca'), ETCD_CERT_FILE: join(certs, 'cert'), ETCD_KEY_FILE: join(certs, 'key') };
    execFileSync('sh', [join(ROOT, 'scripts', 'install-cni.sh')], { env: etcdEnv, stdio: 'pipe', timeout: RUN_MS });
    const etcdConf = JSON.parse(readFileSync(join(host.dir, 'etc/cni/net.d/10-tabby.conflist'), 'utf8')).plugins[0];
    assert.deepEqual(
      [etcdConf.etcd_endpoints, etcdConf.etcd_ca_cert_file, etcdConf.etcd_cert_file, etcdConf.etcd_key_file, etcdConf.datastore],
      ['https://10.0.0.10:2379', '/etc/cni/net.d/tabby-tls/etcd-ca', '/etc/cni/net.d/tabby-tls/etcd-cert', '/etc/cni/net.d/tabby-tls/etcd-key', undefined],
    );
    assert.equal(readFileSync(join(host.dir, 'etc/cni/net.d/tabby-tls/etcd-key'), 'utf8'), 'PEM key\n');
    assert.equal(statSync(join(host.dir, 'etc/cni/net.d/tabby-tls/etcd-key')).mode & 0o777, 0o600);
    for (const f of ['bin/node', 'package.json', 'dist/src/cni/main.js', 'addon/build/Release/tabby_native.node']) assert.ok(existsSync(join(host.dir, 'opt/tabby', f)), f);
    // The wrapper's paths are the host's view; run the installed copy the same way from here.
    const r = spawnSync(join(host.dir, 'opt/tabby/bin/node'), [join(host.dir, 'opt/tabby/dist/src/cni/main.js')], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}', encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).cniVersion, '1.0.0');
    const missing = spawnSync('sh', [join(ROOT, 'scripts', 'install-cni.sh')], { env: { ...env, NODENAME: '' }, encoding: 'utf8' });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /NODENAME must be set/);
  } finally {
    host.cleanup();
  }
});
