// The reconciler's view of the kernel: dump the routes of one protocol, apply a batch
// of operations. The netlink implementation is the real one; tests may pass a model.

import type { NetlinkResult } from '../../native/batch.js';
import { type Route, routeApply, routeApplyEncoded, routeDump, RouteRecordBatch, type RouteOp } from '../../native/routes.js';

export interface RouteKernel {
  /** Every route of the protocol, all tables, both families. */
  dump(): Promise<Route[]>;
  /** One result per operation, in order; a failed operation fails only itself. */
  apply(ops: readonly RouteOp[]): Promise<NetlinkResult[]>;
  /** The fast path, when the kernel has one: a batch that encodes each route shape once. */
  batch?(capacity: number): RouteRecordBatch;
  applyBatch?(batch: RouteRecordBatch): Promise<NetlinkResult[]>;
}

export function netlinkRouteKernel(opts: { protocol: number; netns?: string }): RouteKernel {
  const ns = opts.netns === undefined ? {} : { netns: opts.netns };
  return {
    dump: () => routeDump({ ...ns, protocol: opts.protocol }),
    apply: async (ops) => (await routeApply(ops, { ...ns, protocol: opts.protocol })).results,
    batch: (capacity) => new RouteRecordBatch(opts.protocol, capacity),
    applyBatch: async (b) => (await routeApplyEncoded(b.finish(), ns)).results,
  };
}
