// Who may send this node IPIP and VXLAN: every other node in the datastore, as Felix's
// all-hosts set (felix/rules/static.go, filterInputChain), not only nodes we route to.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunnelSources } from '../../../src/calc/node-plan.js';
import type { Node } from '../../../src/api/types.js';

const node = (name: string, spec: Node['spec']): Node =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec }) as Node;

test('tunnelSources: every other node, blocks or not, by BGP address and listed addresses, both families', () => {
  const snap = {
    nodes: [
      node('me', { bgp: { ipv4Address: '192.168.0.1/24' } }),
      // Owns a block: also a next hop of our routes.
      node('worker', { bgp: { ipv4Address: '192.168.0.2/24' } }),
      // No block (a route reflector or control-plane node).
      node('rr', { bgp: { ipv4Address: '192.168.0.3/24', ipv6Address: 'fd00::3/64' } }),
      // Calico's Node.spec.addresses (InternalIP/ExternalIP/CalicoNodeIP), bare or CIDR.
      node('edge', { addresses: [{ address: '10.0.0.7', type: 'InternalIP' }, { address: '10.1.0.7/16', type: 'CalicoNodeIP' }, { address: 'fd00::7' }] }),
      node('joining', {}),
    ],
  };
  // IPv6 ones too, for IPv6 VXLAN: Felix's "Drop IPv6 VXLAN packets from non-allowed hosts"
  // in its IPv6 filter table takes the IPv6 all-hosts set (felix/rules/static.go).
  assert.deepEqual(tunnelSources('me', snap), ['10.0.0.7', '10.1.0.7', '192.168.0.2', '192.168.0.3', 'fd00::3', 'fd00::7']);
});
