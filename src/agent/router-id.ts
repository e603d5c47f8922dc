// The BGP router ID as calico-node's BIRD gets it: CALICO_ROUTER_ID when set (an IPv4
// address, or `hash`), else the node's IPv4 address. `hash` is confd's HashToIPv4
// (confd/pkg/resource/template/template_funcs.go): the first four octets of
// SHA-256(node name), the first lowered by 32 when above 223 (no class D/E router IDs).
// Calico needs CALICO_ROUTER_ID on an IPv6-only node; Tabby uses `hash` there by itself.
import { createHash } from 'node:crypto';

export function hashRouterId(nodeName: string): string {
  const b = createHash('sha256').update(nodeName).digest();
  const first = b[0]! > 223 ? b[0]! - 32 : b[0]!;
  return `${first}.${b[1]}.${b[2]}.${b[3]}`;
}

export function routerIdFor(nodeName: string, ipv4: string | undefined, setting?: string): string {
  if (setting === 'hash') return hashRouterId(nodeName);
  return setting ?? ipv4 ?? hashRouterId(nodeName);
}
