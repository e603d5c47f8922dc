// Tunnel MTUs, Calico's VTEP MACs, the route that goes with an eBPF tunnel entry,
// and the load-time globals of host.bpf.o's encap step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../../src/errors.js';
import { ENCAP_OVERHEAD, hostMtu, tunnelMtu } from '../../../../src/dataplane/encap/encap-mtu.js';
import { vtepMac } from '../../../../src/dataplane/encap/vtep-mac.js';
import { tunnelRoute } from '../../../../src/dataplane/encap/tunnel-route.js';
import { encapGlobals } from '../../../../src/dataplane/encap/bpf-encap.js';

test('tunnel MTU is host MTU minus Calico\'s overheads', () => {
  assert.deepEqual(ENCAP_OVERHEAD, { ipip: 20, vxlan: 50, vxlanV6: 70 });
  assert.equal(tunnelMtu(1500, 'ipip'), 1480);
  assert.equal(tunnelMtu(1500, 'vxlan'), 1450);
  assert.equal(tunnelMtu(9001, 'vxlanV6'), 8931);
  assert.throws(() => tunnelMtu(600, 'vxlan'), ValidationError);
  assert.throws(() => tunnelMtu(1500.5, 'ipip'), ValidationError);
  assert.throws(() => tunnelMtu(1500, 'gre' as never), ValidationError);
});

test('host MTU is the smallest among interfaces that are up', () => {
  assert.equal(hostMtu([{ mtu: 9000, up: true }, { mtu: 1400, up: false }, { mtu: 1500, up: true }]), 1500);
  assert.equal(hostMtu([{ mtu: 1500, up: false }]), undefined);
});

test('VTEP MAC: 0x66 then the first five bytes of sha1(node name)', () => {
  assert.equal(vtepMac('node-a'), '66:07:02:c1:cc:60');
  assert.equal(vtepMac('worker-1.example.com'), '66:79:5c:76:d6:59');
});

test('tunnel route: block via the remote node out of the host interface, on-link, reduced MTU', () => {
  assert.deepEqual(tunnelRoute({ block: '10.244.3.0/26', remoteIP: '192.168.0.3', kind: 'ipip', dev: 'eth0', hostMtu: 1500 }),
    { dst: '10.244.3.0/26', gateway: '192.168.0.3', dev: 'eth0', onlink: true, mtu: 1480 });
  assert.equal(tunnelRoute({ block: '10.244.3.0/26', remoteIP: '192.168.9.3', via: '192.168.0.1', kind: 'vxlan', dev: 'eth0', hostMtu: 9000 }).gateway,
    '192.168.0.1');
  assert.throws(() => tunnelRoute({ block: '10.244.3.1/26', remoteIP: '192.168.0.3', kind: 'ipip', dev: 'eth0', hostMtu: 1500 }), ValidationError);
});

test('encap globals: network-order node address, defaults VNI 4096 and port 4789', () => {
  assert.deepEqual(encapGlobals({ nodeIP: '192.168.0.2' }), {
    node_ip: Buffer.from([192, 168, 0, 2]), vxlan_vni: 4096, vxlan_port: 4789, check_peers: 1,
  });
  const g = encapGlobals({ nodeIP: '192.168.0.2', vtepMac: '66:07:02:c1:cc:60', checkPeers: false });
  assert.deepEqual(g.vtep_mac, Buffer.from([0x66, 0x07, 0x02, 0xc1, 0xcc, 0x60]));
  assert.equal(g.vxlan_enabled, 1);
  assert.equal(g.check_peers, 0);
  for (const bad of [{ nodeIP: '0.0.0.0' }, { nodeIP: 'fd00::1' }, { vxlanVNI: 1 << 24 }, { vxlanPort: 0 }, { vtepMac: 'ff:ff:ff:ff:ff:ff' }]) {
    assert.throws(() => encapGlobals({ nodeIP: '192.168.0.2', ...bad }), ValidationError, JSON.stringify(bad));
  }
});
