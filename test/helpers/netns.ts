// Namespaces shared by the integration tests.

import { randomBytes, randomInt } from 'node:crypto';
import { ip } from '../../src/util/exec.js';
import { TestNetns } from '../integration/netlink-netns.js';

/**
 * A fresh namespace for route tests: lo up, veth v0 (10.0.0.1/24, 2001:db8:a::1/64)
 * and veth v1 (10.0.1.1/24, 2001:db8:b::1/64), then `more` for what a test adds.
 * Deleted again if any step fails.
 */
export function routingNetns(prefix: string, more?: (ns: TestNetns) => void): TestNetns {
  const ns = new TestNetns(prefix);
  try {
    ns.ip('link', 'set', 'lo', 'up');
    ns.veth('v0', 'v0p', '10.0.0.1/24');
    ns.veth('v1', 'v1p', '10.0.1.1/24');
    ns.ip('-6', 'addr', 'add', '2001:db8:a::1/64', 'dev', 'v0', 'nodad');
    ns.ip('-6', 'addr', 'add', '2001:db8:b::1/64', 'dev', 'v1', 'nodad');
    more?.(ns);
  } catch (err) {
    ns.destroy();
    throw err;
  }
  return ns;
}

/** Two namespaces joined by a veth pair (n0 ↔ r0), each end with IPv4 and IPv6. */
export interface NodeRouterPair {
  node: string;
  router: string;
  node4: string;
  router4: string;
  node6: string;
  router6: string;
}

/** A node and a router namespace with random names and subnets; the caller deletes them. `ipv4: false`: IPv6 only. */
export async function nodeRouterPair(prefix: string, opts: { ipv4?: boolean } = {}): Promise<NodeRouterPair> {
  const tag = randomBytes(3).toString('hex');
  const net = `10.${randomInt(16, 250)}.${randomInt(0, 255)}`;
  // Canonical text (no leading zeros), as the kernel and the agent's status show it.
  const net6 = `fd${tag.slice(0, 2)}:${parseInt(tag.slice(2), 16).toString(16)}`;
  const p: NodeRouterPair = {
    node: `${prefix}-${tag}-n`,
    router: `${prefix}-${tag}-r`,
    node4: `${net}.1`,
    router4: `${net}.2`,
    node6: `${net6}::1`,
    router6: `${net6}::2`,
  };
  await ip(['netns', 'add', p.node]);
  await ip(['netns', 'add', p.router]);
  for (const ns of [p.node, p.router]) await ip(['link', 'set', 'lo', 'up'], ns);
  await ip(['link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'r0', 'netns', p.router], p.node);
  for (const [ns, dev, a4, a6] of [[p.node, 'n0', p.node4, p.node6], [p.router, 'r0', p.router4, p.router6]] as const) {
    if (opts.ipv4 !== false) await ip(['addr', 'add', `${a4}/24`, 'dev', dev], ns);
    await ip(['addr', 'add', `${a6}/64`, 'dev', dev, 'nodad'], ns);
    await ip(['link', 'set', dev, 'up'], ns);
  }
  return p;
}
