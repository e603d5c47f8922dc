// The RIB: Adj-RIB-In per peer, Loc-RIB with best-path and ECMP selection, Adj-RIB-Out
// per peer with export policy. Pure: paths in, diffs of best paths out.
//
// Speaker usage, in order:
//   const rib = new Rib({ localAsn, routerId, clusterId? });
//   rib.setPeer(descriptor, importPolicy?)            on session configuration / Established
//   rib.applyUpdate(peerId, decodedUpdate) → diff     for every UPDATE received
//   rib.setOriginated(family, routes) → diff          for the node's own blocks
//   rib.markStale / sweepStale / removePeer → diff    on session loss, End-of-RIB, timers
//   const out = new AdjRibOut(descriptor, rib.options, exportFilter)   per Established peer
//   out.sync(family, rib.bestPaths(family))           initial dump
//   out.apply(diff) → Outbound[]                      after every RIB change
//   announcement(...) / withdrawal(...)               Outbound groups → wire Updates

export * from './types.js';
export { Rib } from './rib.js';
export { DECISION_STEPS, MULTIPATH_LAST_STEP, comparePaths, localPrefOf, neighbourAs, selectBest, type DecisionStep, type Selection } from './best-path.js';
export { multipathSet, sameNextHops, samePath } from './multipath.js';
export { badNextHop, ebgpAsPathError, importLoop, importRejection, martianNextHop, type ImportLoop, type ImportRejection } from './import-checks.js';
export { exportAttributes, exportBlock } from './export-policy.js';
export { AdjRibOut, announcement, withdrawal, type Outbound, type OutboundGroup } from './adj-rib-out.js';
export {
  BgpFilter,
  bgpFilterExportFilter,
  bgpFilterImportPolicy,
  type BgpFilterRule,
  type BgpFilterSpec,
  type FilterDirection,
  type FilterVerdict,
  type RouteFacts,
} from './bgp-filter.js';
export { AddPathRibOut, type PathsOf } from './adj-rib-out-add-path.js';
export { PathIds } from './path-ids.js';
