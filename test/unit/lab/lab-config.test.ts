// The lab's pure pieces for dual stack: the ToR's BIRD configuration per family, the
// address a row of the matrix uses per family, the CNI configuration's IPAM switches and
// `lab status -o json`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torBirdConfig } from '../../../src/lab/bird.js';
import { familyAddress, statusJson, type LabState } from '../../../src/lab/lab-state.js';
import { labNetConf } from '../../../src/lab/lab-workloads.js';

const state = (ipFamily: LabState['ipFamily']): LabState => ({
  prefix: 'tabby', ipFamily, dir: '/tmp/x', datastore: 'file:/tmp/x/datastore', dataplane: 'bpf', encap: 'ipip', fabrics: [], pids: [],
  nodes: [{ name: 'node1', namespace: 'tabby-node1', address: '10.255.0.11', address6: 'fd00:255::11', cidr: '10.255.0.11/24', stateDir: '/tmp/x/node1', workloads: [{ namespace: 'tabby-node1-w1', address: '10.244.0.1', address6: 'fd00:244::1' }] }],
  tor: { namespace: 'tabby-tor', address: '10.255.0.1', address6: 'fd00:255::1', asn: 64567 },
  external: { namespace: 'tabby-ext', address: '10.254.0.100', address6: 'fd00:254::100' },
});

test('ToR: one BGP protocol per node and family, each with the channel of its neighbour, both kernels fed', () => {
  const conf = torBirdConfig({
    routerId: '10.255.0.1', asn: 64567,
    neighbors: [{ name: 'node1', address: '10.255.0.11', local: '10.255.0.1' }, { name: 'node1_v6', address: 'fd00:255::11', local: 'fd00:255::1' }],
  });
  const block = (name: string) => new RegExp(`protocol bgp ${name} \\{[^}]*\\n  (ipv4|ipv6) \\{`).exec(conf)?.[1];
  assert.equal(block('node1'), 'ipv4');
  assert.equal(block('node1_v6'), 'ipv6');
  assert.match(conf, /protocol kernel \{ ipv4 \{/);
  assert.match(conf, /protocol kernel \{ ipv6 \{/);
  const v4only = torBirdConfig({ routerId: '10.255.0.1', asn: 64567, neighbors: [{ name: 'node1', address: '10.255.0.11', local: '10.255.0.1' }] });
  assert.doesNotMatch(v4only, /ipv6/);
});

test('familyAddress: the address of each family, canonical; none for a family the host lacks', () => {
  assert.equal(familyAddress({ address: '10.0.0.1', address6: 'fd00:255:0::11' }, 6), 'fd00:255::11');
  assert.equal(familyAddress({ address: '10.0.0.1', address6: 'fd00::1' }, 4), '10.0.0.1');
  assert.equal(familyAddress({ address: 'fd00::1' }, 6), 'fd00::1', 'an IPv6-only host keeps its address in `address`');
  assert.equal(familyAddress({ address: 'fd00::1' }, 4), undefined);
  assert.equal(familyAddress({ address: '10.0.0.1' }, 6), undefined);
});

test("the lab's CNI configuration asks for one address per family of the lab (Calico's assign_ipv4 / assign_ipv6)", () => {
  const ipam = (f: LabState['ipFamily']) => labNetConf(state(f), state(f).nodes[0]!).ipam;
  assert.deepEqual(ipam('dual'), { assign_ipv4: 'true', assign_ipv6: 'true' });
  assert.deepEqual(ipam('ipv6'), { assign_ipv4: 'false', assign_ipv6: 'true' });
  assert.deepEqual(ipam('ipv4'), { assign_ipv4: 'true', assign_ipv6: 'false' });
  assert.deepEqual(ipam(undefined), { assign_ipv4: 'true', assign_ipv6: 'false' }, 'a lab from before dual stack');
});

test('lab status -o json: the contract fields, address6 and ipFamily beside them', () => {
  const j = statusJson(state('dual'));
  assert.equal(j.ipFamily, 'dual');
  assert.deepEqual(j.nodes[0], { name: 'node1', namespace: 'tabby-node1', address: '10.255.0.11', address6: 'fd00:255::11', workloads: [{ namespace: 'tabby-node1-w1', address: '10.244.0.1', address6: 'fd00:244::1' }] });
  assert.deepEqual(j.tor, { namespace: 'tabby-tor', address: '10.255.0.1', address6: 'fd00:255::1', asn: 64567 });
  assert.deepEqual(j.external, { namespace: 'tabby-ext', address: '10.254.0.100', address6: 'fd00:254::100' });
});
