// Next-hop tracking against the kernel: can the main routing table reach a BGP next hop?
// The rule follows calico-node's BIRD (`gateway recursive` over the kernel table its
// `protocol kernel { learn; }` imports): the longest matching route decides, and it
// must be a unicast route — a blackhole, unreachable or prohibit route resolves
// nothing. The default route counts, as in BIRD (FRR's nexthop tracking would ignore it
// unless `ip nht resolve-via-default`). Tabby's own BGP routes never count, so a path
// cannot hold itself up. An IPv6 link-local next hop is on-link and always resolves.
//
// The watch reads the table once, then again shortly after route events from the kernel
// (the addon's RTNLGRP_IPV4_ROUTE / RTNLGRP_IPV6_ROUTE socket, which drops the events
// of Tabby's own routes in the kernel), never by polling; a burst makes one dump.

import { Address4, Address6 } from 'ip-address';
import { isLinkLocal6 } from '../../api/net.js';
import { routeDump, type Route } from '../../native/routes.js';
import { routeWatch, type RouteWatchHandle } from '../../native/route-watch.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { RTPROT_TABBY } from './route-protocol.js';

const MAIN_TABLE = 254;
interface Covering {
  readonly subnet: Address4 | Address6;
  readonly length: number;
  readonly unicast: boolean;
}

/** The routes that may resolve a next hop, parsed once per dump. */
export class ResolvingTable {
  private readonly v4: Covering[] = [];
  private readonly v6: Covering[] = [];

  constructor(routes: readonly Route[]) {
    for (const r of routes) {
      if (r.protocol === RTPROT_TABBY || r.table !== MAIN_TABLE) continue;
      const subnet = r.family === 4 ? new Address4(r.dst) : new Address6(r.dst);
      (r.family === 4 ? this.v4 : this.v6).push({ subnet, length: subnet.subnetMask, unicast: r.type === 'unicast' });
    }
    // Longest first: the first match is the kernel's choice.
    this.v4.sort((a, b) => b.length - a.length);
    this.v6.sort((a, b) => b.length - a.length);
  }

  reachable(nextHop: string): boolean {
    if (nextHop.includes(':')) {
      if (isLinkLocal6(nextHop)) return true;
      const a = new Address6(nextHop);
      return this.v6.find((c) => a.isInSubnet(c.subnet))?.unicast === true;
    }
    const a = new Address4(nextHop);
    return this.v4.find((c) => a.isInSubnet(c.subnet))?.unicast === true;
  }
}

export interface NextHopWatchOptions {
  /** The table changed: resolve next hops again (reachable() answers from the new dump). */
  onChange: () => void;
  logger?: Logger;
  /** Wait after an event before dumping, so a burst costs one dump. Default 20 ms. */
  settleMs?: number;
}

export class NextHopWatch {
  private table: ResolvingTable | undefined;
  private watch: RouteWatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dumping = false;
  private again = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly opts: NextHopWatchOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'nexthop-watch' });
  }

  /** Reads the table, then follows the kernel's route events. */
  async start(): Promise<void> {
    try {
      this.watch = routeWatch(() => this.schedule(), RTPROT_TABBY);
    } catch (err) {
      this.log.error({ err }, 'cannot follow route events: next hops are resolved only at start');
    }
    await this.refresh();
  }

  /** Whether the kernel can reach `nextHop`; true until the first dump. */
  reachable(nextHop: string): boolean {
    return this.table === undefined || this.table.reachable(nextHop);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.watch?.stop();
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, this.opts.settleMs ?? 20);
  }

  private async refresh(): Promise<void> {
    if (this.dumping) {
      this.again = true;
      return;
    }
    this.dumping = true;
    try {
      const routes = await routeDump({ table: MAIN_TABLE, excludeProtocol: RTPROT_TABBY });
      if (this.stopped) return;
      this.table = new ResolvingTable(routes);
      this.opts.onChange();
    } catch (err) {
      this.log.error({ err }, 'route dump for next-hop tracking failed');
    } finally {
      this.dumping = false;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.refresh();
      }
    }
  }
}
