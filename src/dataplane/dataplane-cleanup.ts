// Removes what Tabby programmed into a namespace without knowing the agent's
// configuration: `tabby node cleanup`, and at agent start the other dataplane mode's
// leftovers (a bpf agent after an iptables one, or the reverse).
//
//   bpf:      the host programs in Tabby's tc slot on every interface, the pins
//   iptables: the nat chains and sets, the tunnel guard chain and set, vxlan.tabby and vxlan-v6.tabby
//   routes:   every route with Tabby's rtm_protocol (all modes; not on a mode switch)

import { constants } from 'node:os';
import { NetlinkError } from '../errors.js';
import { linkDelete, linkList } from '../native/links.js';
import { routeApply, routeDump } from '../native/routes.js';
import { tcQuery } from '../native/tc.js';
import { silentLogger, type Logger } from '../util/log.js';
import { HOST_PROGRAMS, hostSlot, HostProgram } from './bpf/host-program.js';
import { removePins } from './bpf/host-pins.js';
import { VXLAN_DEVICE, VXLAN_DEVICE_V6 } from './dataplane-plan.js';
import { TunnelGuard } from './encap/tunnel-guard.js';
import { IptablesNat } from './nat/iptables-nat.js';
import { RTPROT_TABBY } from './routes/route-protocol.js';

export type CleanupMode = 'bpf' | 'iptables' | 'all';

export interface CleanupOptions {
  /** Namespace under /var/run/netns; absent: this process's. */
  netns?: string;
  /** The bpf dataplane's pin root, removed whole. */
  pinRoot?: string;
  /** Also Tabby's routes (default true). */
  routes?: boolean;
  logger?: Logger;
}

export interface CleanupReport {
  /** Interfaces whose Tabby tc filters were removed. */
  tcInterfaces: string[];
  pinsRemoved: boolean;
  iptables: boolean;
  vxlanDevice: boolean;
  routes: number;
}

/** Removes every program, pin, rule, chain, set, device and route of the given mode(s). */
export async function dataplaneCleanup(mode: CleanupMode, o: CleanupOptions = {}): Promise<CleanupReport> {
  const ns = o.netns === undefined ? {} : { netns: o.netns };
  const log = (o.logger ?? silentLogger).child({ component: 'dataplane', op: 'cleanup', mode });
  const report: CleanupReport = { tcInterfaces: [], pinsRemoved: false, iptables: false, vxlanDevice: false, routes: 0 };
  if (mode === 'bpf' || mode === 'all') {
    for (const link of await linkList(ns)) {
      if (await holdsHostProgram(link.name, o.netns)) {
        await HostProgram.detach({ ifname: link.name, ...ns });
        report.tcInterfaces.push(link.name);
      }
    }
    if (o.pinRoot !== undefined) {
      removePins(o.pinRoot);
      report.pinsRemoved = true;
    }
  }
  if (mode === 'iptables' || mode === 'all') {
    await new IptablesNat(ns).cleanup();
    await new TunnelGuard({ ...ns, vxlanPort: 4789, ipip: false }).cleanup();
    report.iptables = true;
    for (const l of await linkList(ns)) {
      if (l.name !== VXLAN_DEVICE && l.name !== VXLAN_DEVICE_V6) continue;
      await linkDelete({ name: l.name, ...ns });
      report.vxlanDevice = true;
    }
  }
  if (o.routes !== false) {
    const routes = await routeDump({ family: 0, protocol: RTPROT_TABBY, ...ns });
    const out = await routeApply(routes.map((r) => ({ op: 'delete' as const, route: { dst: r.dst, table: r.table, protocol: RTPROT_TABBY, ...(r.metric !== undefined ? { metric: r.metric } : {}) } })), ns);
    // ESRCH: gone meanwhile.
    const failed = out.results.flatMap((r, i) => (r.ok || r.errno === constants.errno.ESRCH ? [] : [{ dst: routes[i]!.dst, ...r }]));
    if (failed.length > 0) throw new NetlinkError('route delete', failed[0]!.errno, failed.map((e) => `${e.dst} ${e.message}`).join('; '));
    report.routes = routes.length;
  }
  log.info(report, 'dataplane cleaned up');
  return report;
}

// Tabby's slot holds one of the host programs (by name: another tool may use the slot).
async function holdsHostProgram(ifname: string, netns: string | undefined): Promise<boolean> {
  for (const direction of ['egress', 'ingress'] as const) {
    try {
      const q = await tcQuery({ ifname, direction, ...(netns === undefined ? {} : { netns }), ...hostSlot({ ifname }) });
      if (q && Object.values(HOST_PROGRAMS).some((p) => p.slice(0, 15) === q.progName)) return true;
    } catch (err) {
      // No clsact qdisc (EINVAL) or no such filter (ENOENT).
      if (err instanceof NetlinkError && (err.errno === constants.errno.ENOENT || err.errno === constants.errno.EINVAL)) continue;
      throw err;
    }
  }
  return false;
}
