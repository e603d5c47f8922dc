// Each planned peer's import policy and export filter, as confd renders them for BIRD
// (bgp_processor.go): export runs the peer's BGPFilters in order, then
// calico_export_to_bgp_peers (pool routes, own and learned; never a disableBGPExport
// pool), then rejects; import runs the BGPFilters, then accepts. One function per
// distinct policy, kept across plans, so an unchanged policy never re-syncs a session.

import { bgpFilterExportFilter, bgpFilterImportPolicy, type BgpFilterSpec } from '../bgp/rib/bgp-filter.js';
import type { ExportFilter, ImportPolicy, SpeakerPeer } from '../bgp/speaker.js';
import { ExportRule, exportPolicyKey } from '../calc/export-policy.js';
import type { PlannedPeer } from '../calc/node-plan.js';

export interface PeerFunctions {
  exportFilter: ExportFilter;
  /** Absent when no filter has import rules: everything is accepted. */
  importPolicy?: ImportPolicy;
}

/** A peer whose filters cannot be compiled sends and takes nothing (never more than asked). */
const NOTHING: PeerFunctions = { exportFilter: () => false, importPolicy: () => 'reject' };

const hasImport = (s: BgpFilterSpec) => (s.importV4?.length ?? 0) + (s.importV6?.length ?? 0) > 0;

export class PeerPolicies {
  private exports = new Map<string, ExportFilter>();
  private imports = new Map<string, ImportPolicy>();

  /**
   * The functions for each peer of a plan; entries no peer uses any more are dropped. A
   * filter that cannot be compiled is reported in `errors` and blocks only its own peers.
   */
  forPeers(peers: readonly Pick<PlannedPeer, 'id' | 'export' | 'filters'>[], errors?: Map<string, string>): Map<string, PeerFunctions> {
    const exports = new Map<string, ExportFilter>();
    const imports = new Map<string, ImportPolicy>();
    const out = new Map<string, PeerFunctions>();
    for (const p of peers) {
      try {
        out.set(p.id, this.functions(p, exports, imports));
      } catch (err) {
        errors?.set(p.id, (err as Error).message);
        out.set(p.id, NOTHING);
      }
    }
    this.exports = exports;
    this.imports = imports;
    return out;
  }

  private functions(p: Pick<PlannedPeer, 'export' | 'filters'>, exports: Map<string, ExportFilter>, imports: Map<string, ImportPolicy>): PeerFunctions {
    const specs = p.filters.map((f) => f.spec as BgpFilterSpec);
    const filterKey = JSON.stringify(specs);
    const exportKey = `${exportPolicyKey(p.export)}|${filterKey}`;
    let exportFilter = exports.get(exportKey) ?? this.exports.get(exportKey);
    if (!exportFilter) {
      const rule = new ExportRule(p.export);
      const base: ExportFilter = (prefix) => rule.exports(prefix);
      exportFilter = bgpFilterExportFilter(specs, base);
    }
    exports.set(exportKey, exportFilter);
    const fns: PeerFunctions = { exportFilter };
    const importSpecs = specs.filter(hasImport);
    if (importSpecs.length > 0) {
      const importKey = JSON.stringify(importSpecs);
      const importPolicy = imports.get(importKey) ?? this.imports.get(importKey) ?? bgpFilterImportPolicy(importSpecs);
      imports.set(importKey, importPolicy);
      fns.importPolicy = importPolicy;
    }
    return fns;
  }
}

/** A planned peer as the speaker takes it: its policy functions and MD5 key in, plan-only fields out. */
export function speakerPeerOf(p: PlannedPeer, fns: PeerFunctions, md5Key?: string): SpeakerPeer {
  const { type: _t, filters: _f, password: _p, bfd: _b, export: _e, ...peer } = p;
  return { ...peer, ...(md5Key !== undefined ? { md5Key } : {}), ...fns };
}
