// The router ID: CALICO_ROUTER_ID (an address, or `hash`), else the IPv4 address. `hash` is
// confd's HashToIPv4 (confd/pkg/resource/template/template_funcs.go): SHA-256 of the node
// name, first four octets, the first lowered by 32 above 223. The expected values are the
// digests' first octets from `printf %s NAME | sha256sum`: node-1 35971be6, node-18 f5c28be3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashRouterId, routerIdFor } from '../../../src/agent/router-id.js';

test('hash: the first four octets of SHA-256(node name), never above 223', () => {
  assert.equal(hashRouterId('node-1'), '53.151.27.230');
  assert.equal(hashRouterId('node-18'), '213.194.139.227', '0xf5 = 245 > 223: 245 - 32');
});

test('router ID: CALICO_ROUTER_ID, else the IPv4 address, else (an IPv6-only node) the hash', () => {
  assert.equal(routerIdFor('node-1', '10.0.0.1', undefined), '10.0.0.1');
  assert.equal(routerIdFor('node-1', '10.0.0.1', '10.9.9.9'), '10.9.9.9');
  assert.equal(routerIdFor('node-1', '10.0.0.1', 'hash'), '53.151.27.230');
  assert.equal(routerIdFor('node-1', undefined, undefined), '53.151.27.230');
});
