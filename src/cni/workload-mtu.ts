// The workload veth's MTU when the network configuration names none: as Felix computes it
// for Calico's CNI plugin (written to /var/lib/calico/mtu), the host MTU less the largest
// encapsulation overhead of the enabled pools. The host MTU is the smallest MTU among the
// up interfaces matching Felix's default mtuIfacePattern.
import type { IPPool } from '../api/types.js';
import { ENCAP_OVERHEAD } from '../dataplane/encap/encap-mtu.js';

/** Felix's default mtuIfacePattern (configuration reference, FELIX_MTUIFACEPATTERN). */
export const MTU_IFACE_PATTERN = /^((en|wl|ww|sl|ib)[opsx].*|(eth|wlan|wwan).*)/;
const FALLBACK_HOST_MTU = 1500;

export function workloadMtu(links: ReadonlyArray<{ name: string; mtu: number; up: boolean }>, pools: readonly IPPool[]): number {
  const matching = links.filter((l) => l.up && MTU_IFACE_PATTERN.test(l.name)).map((l) => l.mtu);
  const host = matching.length > 0 ? Math.min(...matching) : FALLBACK_HOST_MTU;
  let overhead = 0;
  for (const p of pools) {
    if (p.spec.disabled) continue;
    const v6 = p.spec.cidr.includes(':');
    if (p.spec.ipipMode && p.spec.ipipMode !== 'Never') overhead = Math.max(overhead, ENCAP_OVERHEAD.ipip);
    if (p.spec.vxlanMode && p.spec.vxlanMode !== 'Never') overhead = Math.max(overhead, v6 ? ENCAP_OVERHEAD.vxlanV6 : ENCAP_OVERHEAD.vxlan);
  }
  return host - overhead;
}
