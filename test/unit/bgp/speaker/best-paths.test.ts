// Which address a learned IPv6 path is routed through. BIRD's rule (proto/bgp/packets.c:
// bgp_decode_next_hop_ip moves a link-local first address into the link-local slot;
// bgp_apply_next_hop takes the global next hop when it is non-zero, else the link-local one)
// for the 32-octet MP_REACH next hop of RFC 2545 §3 (global, then link-local).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardingNextHop } from '../../../../src/bgp/speaker/best-paths.js';

test('forwarding next hop: the global address when there is one, else the link-local one', () => {
  assert.equal(forwardingNextHop({ nextHop: '10.0.0.2' }), '10.0.0.2');
  assert.equal(forwardingNextHop({ nextHop: 'fd00:1::2' }), 'fd00:1::2', '16-octet form');
  assert.equal(forwardingNextHop({ nextHop: 'fd00:1::2', linkLocalNextHop: 'fe80::2' }), 'fd00:1::2', '32-octet form: global first');
  assert.equal(forwardingNextHop({ nextHop: '::', linkLocalNextHop: 'fe80::2' }), 'fe80::2', 'unspecified global');
  assert.equal(forwardingNextHop({ nextHop: 'fe80::3', linkLocalNextHop: 'fe80::2' }), 'fe80::2');
  assert.equal(forwardingNextHop({ nextHop: 'fe80::3' }), 'fe80::3', 'a lone link-local address is routed through');
  assert.equal(forwardingNextHop({ nextHop: '::' }), undefined);
  assert.equal(forwardingNextHop({}), undefined);
});
