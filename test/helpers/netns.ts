// Namespaces shared by the integration tests.

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
