// The iptables INPUT guard's rules: Felix's pair per tunnel kind (felix/rules/static.go,
// filterInputChain): "Allow IPv4 VXLAN packets from allowed hosts" (UDP to the VXLAN
// port, source in the all-hosts set, destination a local address), then "Drop IPv4
// VXLAN packets from non-allowed hosts"; "Allow IPIP packets from Calico hosts", then
// drop the rest of protocol 4.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../../src/errors.js';
import { TunnelGuard, tunnelGuardRules, TUNNEL_CHAIN, TUNNEL_SET } from '../../../../src/dataplane/encap/tunnel-guard.js';

test('tunnel guard: allow from the node set, then drop, for VXLAN on its port and for IPIP when asked', () => {
  const vx = tunnelGuardRules({ vxlanPort: 4789, ipip: false }, 't');
  assert.equal(vx.length, 2);
  assert.match(vx[0]!, new RegExp(`^-A ${TUNNEL_CHAIN} -p udp -m udp --dport 4789 -m set --match-set ${TUNNEL_SET} src -m addrtype --dst-type LOCAL .* -j RETURN$`));
  assert.match(vx[1]!, /^-A tabby-tunnel-in -p udp -m udp --dport 4789 -m addrtype --dst-type LOCAL .* -j DROP$/);
  const both = tunnelGuardRules({ vxlanPort: 8472, ipip: true }, 't');
  assert.equal(both.length, 4);
  assert.match(both[2]!, /-p 4 -m set --match-set tabby-all-hosts src -m addrtype --dst-type LOCAL .* -j RETURN$/);
  assert.match(both[3]!, /-p 4 -m addrtype --dst-type LOCAL .* -j DROP$/);
  assert.ok(both.every((r) => r.includes('--comment "t ')));
});

test('tunnel guard refuses a bad port or a non-IPv4 source before touching the kernel', () => {
  assert.throws(() => new TunnelGuard({ vxlanPort: 0, ipip: false }), ValidationError);
  const g = new TunnelGuard({ vxlanPort: 4789, ipip: false });
  assert.throws(() => g.setSources(['10.0.0.1', 'fd00::1']), (e: unknown) => e instanceof ValidationError && e.path === 'sources[1]');
});
