// Workload MTU as Felix derives it for the CNI plugin: the smallest MTU of the up host
// interfaces matching mtuIfacePattern (default ^((en|wl|ww|sl|ib)[opsx].*|(eth|wlan|wwan).*),
// Felix configuration reference) less the largest overhead in use: IPIP 20, VXLAN 50,
// VXLAN over IPv6 70 (calico docs "Configure MTU to maximize network performance").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IPPool } from '../../../src/api/types.js';
import { workloadMtu } from '../../../src/cni/workload-mtu.js';

const pool = (cidr: string, spec: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: cidr }, spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false, nodeSelector: 'all()', ...spec },
});
const links = [
  { name: 'lo', mtu: 65536, up: true },
  { name: 'eth0', mtu: 1500, up: true },
  { name: 'ens3', mtu: 9000, up: true },
  { name: 'eth1', mtu: 1400, up: false },
  { name: 'cali0123456789a', mtu: 1000, up: true },
  { name: 'docker0', mtu: 1200, up: true },
];

test('host MTU from matching up interfaces only, less the largest overhead', () => {
  assert.equal(workloadMtu(links, [pool('10.0.0.0/16')]), 1500);
  assert.equal(workloadMtu(links, [pool('10.0.0.0/16', { ipipMode: 'Always' })]), 1480);
  assert.equal(workloadMtu(links, [pool('10.0.0.0/16', { ipipMode: 'CrossSubnet' }), pool('10.1.0.0/16', { vxlanMode: 'Always' })]), 1450);
  assert.equal(workloadMtu(links, [pool('fd00::/48', { vxlanMode: 'Always' })]), 1430);
  assert.equal(workloadMtu(links, [pool('10.1.0.0/16', { vxlanMode: 'Always', disabled: true })]), 1500, 'disabled pools do not count');
  assert.equal(workloadMtu([{ name: 'lo', mtu: 65536, up: true }], []), 1500, 'nothing matches: 1500');
});
