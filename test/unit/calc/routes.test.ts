import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IPPool } from '../../../src/api/types.js';
import { desiredRoutes, encapsulates, poolFor, type RemoteVtep } from '../../../src/calc/routes.js';

const pool = (name: string, cidr: string, extra: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false, nodeSelector: 'all()', ...extra },
});
const me = ['10.0.0.1/24'];

test('encapsulation decision per mode and subnet', () => {
  assert.equal(encapsulates('Always', me, '10.0.0.2'), true);
  assert.equal(encapsulates('CrossSubnet', me, '10.0.0.2'), false);
  assert.equal(encapsulates('CrossSubnet', me, '10.0.1.2'), true);
  assert.equal(encapsulates('Never', me, '10.0.1.2'), false);
  assert.equal(encapsulates('CrossSubnet', ['10.0.0.1/32'], '10.0.0.2'), true, 'a /32 node address makes every peer cross-subnet');
});

test('most specific pool wins', () => {
  const pools = [pool('big', '10.244.0.0/16'), pool('small', '10.244.8.0/21')];
  assert.equal(poolFor('10.244.9.0/26', pools)?.metadata.name, 'small');
  assert.equal(poolFor('10.244.1.0/26', pools)?.metadata.name, 'big');
  assert.equal(poolFor('10.9.1.0/26', pools), undefined);
});

test('blackholes, learned routes with IPIP per next hop, VXLAN from the datastore', () => {
  const pools = [pool('ipip', '10.244.0.0/16', { ipipMode: 'CrossSubnet' }), pool('vx', '10.96.0.0/16', { vxlanMode: 'CrossSubnet' }), pool('one', '10.50.0.0/24', { blockSize: 32 })];
  const vteps: RemoteVtep[] = [
    { node: 'far', nodeIP: '10.0.5.9', tunnelIP: '10.96.3.0', mac: '66:00:00:00:00:01', blocks: ['10.96.3.0/26'] },
    { node: 'near', nodeIP: '10.0.0.2', tunnelIP: '10.96.4.0', mac: '66:00:00:00:00:02', blocks: ['10.96.4.0/26'] },
  ];
  const routes = desiredRoutes({
    nodeCidrs: me,
    pools,
    localBlocks: ['10.244.1.0/26', '10.50.0.7/32'],
    learned: [
      { prefix: '10.244.1.0/26', nexthops: ['10.0.0.2'] }, // our own block, learned back: ignored
      { prefix: '10.244.2.0/26', nexthops: ['10.0.0.2', '10.0.7.2'] }, // ECMP: encap per next hop
      { prefix: '10.96.3.0/26', nexthops: ['10.0.5.9'] }, // cross-subnet VXLAN block: datastore route wins
      { prefix: '10.96.4.0/26', nexthops: ['10.0.0.2'] }, // same-subnet VXLAN block: plain BGP route
      { prefix: '192.168.50.0/24', nexthops: ['10.0.0.254'] }, // outside every pool
    ],
    vteps,
  });
  assert.deepEqual(routes, [
    { kind: 'blackhole', dst: '10.244.1.0/26' },
    { kind: 'vxlan', dst: '10.96.3.0/26', vtep: vteps[0] },
    { kind: 'learned', dst: '10.244.2.0/26', nexthops: [{ address: '10.0.0.2', encap: 'none' }, { address: '10.0.7.2', encap: 'ipip' }] },
    { kind: 'learned', dst: '10.96.4.0/26', nexthops: [{ address: '10.0.0.2', encap: 'none' }] },
    { kind: 'learned', dst: '192.168.50.0/24', nexthops: [{ address: '10.0.0.254', encap: 'none' }] },
  ]);
});
