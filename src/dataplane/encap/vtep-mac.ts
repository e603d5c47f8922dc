// The VXLAN tunnel MAC Calico gives a node: 0x66 ('f') followed by the first five
// bytes of sha1(node name), so every node computes every other node's MAC alike.

import { createHash } from 'node:crypto';

export function vtepMac(nodeName: string): string {
  const sha = createHash('sha1').update(nodeName, 'utf8').digest();
  return [0x66, ...sha.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
