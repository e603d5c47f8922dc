// No field in src/api/kinds is accepted without an effect: every leaf of every schema has a
// consumer (a module that reads it, checked to exist and to name the field), a refusal
// (src/api/refusals.ts), is never accepted by validation, or is on the pending list of an
// issue that will give it its effect. The pending list is printed, so it shrinks visibly.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KINDS } from '../../../src/api/kinds/index.js';
import { REFUSALS } from '../../../src/api/refusals.js';
import type { Check } from '../../../src/api/schema.js';
import { validateResource } from '../../../src/api/validate.js';
import { ROOT } from '../../helpers/paths.js';

/** Field path (a subtree when it has children) → the module that reads it from the resource. */
const CONSUMED: [kind: string, path: string, module: string][] = [
  ['BGPConfiguration', 'spec.asNumber', 'src/calc/bgp-config.ts'],
  ['BGPConfiguration', 'spec.nodeToNodeMeshEnabled', 'src/calc/bgp-config.ts'],
  ['BGPConfiguration', 'spec.listenPort', 'src/calc/bgp-config.ts'],
  ['BGPConfiguration', 'spec.bindMode', 'src/calc/bgp-config.ts'],
  ['BGPConfiguration', 'spec.nodeMeshPassword', 'src/calc/bgp-config.ts'],
  ['BGPConfiguration', 'spec.nodeMeshMaxRestartTime', 'src/calc/bgp-config.ts'],
  ['BGPConfiguration', 'spec.communities', 'src/calc/node-plan.ts'],
  ['BGPConfiguration', 'spec.prefixAdvertisements', 'src/calc/node-plan.ts'],
  ['BGPConfiguration', 'spec.serviceClusterIPs', 'src/calc/export-policy.ts'],
  ['BGPConfiguration', 'spec.serviceExternalIPs', 'src/calc/export-policy.ts'],
  ['BGPConfiguration', 'spec.serviceLoadBalancerIPs', 'src/calc/export-policy.ts'],
  ['BGPPeer', 'spec.node', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.nodeSelector', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.peerIP', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.asNumber', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.peerSelector', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.keepOriginalNextHop', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.nextHopMode', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.password', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.maxRestartTime', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.restartMode', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.keepaliveTime', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.numAllowedLocalASNumbers', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.ttlSecurity', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.localASNumber', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.reversePeering', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.failureDetectionMode', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.sourceAddress', 'src/calc/peers.ts'],
  ['BGPPeer', 'spec.filters', 'src/calc/node-plan.ts'],
  ['BGPConfiguration', 'spec.logSeverityScreen', 'src/calc/bgp-config.ts'],
  ['CalicoNodeStatus', 'spec.node', 'src/agent/node-status-writer.ts'],
  ['CalicoNodeStatus', 'spec.updatePeriodSeconds', 'src/agent/node-status-writer.ts'],
  ['CalicoNodeStatus', 'spec.classes', 'src/agent/node-status-report.ts'],
  // BGPFilter rules as src/agent/peer-policy.ts hands them to the RIB's filter.
  ...['exportV4', 'importV4', 'exportV6', 'importV6'].flatMap((list) =>
    ['cidr', 'matchOperator', 'prefixLength', 'source', 'interface', 'peerType', 'action'].map((f): [string, string, string] => ['BGPFilter', `spec.${list}[].${f}`, 'src/bgp/rib/bgp-filter.ts']),
  ),
  ['Node', 'spec.bgp.ipv4Address', 'src/calc/peers.ts'],
  ['Node', 'spec.bgp.ipv6Address', 'src/calc/peers.ts'],
  ['Node', 'spec.bgp.asNumber', 'src/calc/bgp-config.ts'],
  ['Node', 'spec.bgp.routeReflectorClusterID', 'src/calc/peers.ts'],
  ['Node', 'spec.ipv4VXLANTunnelAddr', 'src/calc/node-plan.ts'],
  ['Node', 'spec.vxlanTunnelMACAddr', 'src/calc/node-plan.ts'],
  ['Node', 'spec.ipv6VXLANTunnelAddr', 'src/calc/node-plan.ts'],
  ['Node', 'spec.vxlanTunnelMACAddrV6', 'src/calc/node-plan.ts'],
  ['IPPool', 'spec.cidr', 'src/ipam/ipam.ts'],
  ['IPPool', 'spec.blockSize', 'src/ipam/ipam.ts'],
  ['IPPool', 'spec.ipipMode', 'src/calc/routes.ts'],
  ['IPPool', 'spec.vxlanMode', 'src/calc/node-plan.ts'],
  ['IPPool', 'spec.natOutgoing', 'src/dataplane/nat/nat-pools.ts'],
  ['IPPool', 'spec.disabled', 'src/ipam/ipam.ts'],
  ['IPPool', 'spec.disableBGPExport', 'src/calc/export-policy.ts'],
  ['IPPool', 'spec.nodeSelector', 'src/ipam/ipam.ts'],
  ['WorkloadEndpoint', 'spec.orchestrator', 'src/api/workload-endpoint-name.ts'],
  ['WorkloadEndpoint', 'spec.node', 'src/api/workload-endpoint-name.ts'],
  ['WorkloadEndpoint', 'spec.workload', 'src/api/workload-endpoint-name.ts'],
  ['WorkloadEndpoint', 'spec.pod', 'src/api/workload-endpoint-name.ts'],
  ['WorkloadEndpoint', 'spec.containerID', 'src/api/workload-endpoint-name.ts'],
  ['WorkloadEndpoint', 'spec.endpoint', 'src/api/workload-endpoint-name.ts'],
  ['WorkloadEndpoint', 'spec.ipNetworks', 'src/ipam/ipam-report.ts'],
  ['WorkloadEndpoint', 'spec.profiles', 'src/cni/plugin.ts'],
  ['WorkloadEndpoint', 'spec.interfaceName', 'src/cni/plugin.ts'],
  ['WorkloadEndpoint', 'spec.mac', 'src/cni/plugin.ts'],
];

/**
 * Fields whose only accepted value is what the module always does (a conditional refusal
 * covers every other value), so the module need not name the field.
 */
const FIXED: [kind: string, path: string, module: string, what: string][] = [
  ['BGPConfiguration', 'spec.serviceLoadBalancerAggregation', 'src/calc/export-policy.ts', 'Enabled: service CIDRs are advertised whole'],
  ['IPPool', 'spec.allowedUses', 'src/ipam/ipam.ts', '[Workload, Tunnel]: every pool serves both'],
  ['IPPool', 'spec.assignmentMode', 'src/ipam/ipam.ts', 'Automatic: every enabled pool is allocated from'],
];

/** Fields validation never accepts (Calico's mustBeNil), with a value to prove it. */
const NEVER_ACCEPTED: [kind: string, path: string, spec: Record<string, unknown>][] = [['IPPool', 'spec.ipip', { cidr: '10.0.0.0/16', ipip: {} }]];

/** Accepted now, given their effect by an open issue. Reported by the test; nothing else may be here. */
const PENDING: [kind: string, path: string, issue: string][] = [];

/** Every leaf of a schema: `spec.a.b`, with `[]` for list elements that are objects. */
function leaves(check: Check, path: string): string[] {
  if (check.fields) return Object.entries(check.fields).flatMap(([k, c]) => leaves(c, `${path}.${k}`));
  if (check.items?.fields) return leaves(check.items, `${path}[]`);
  return [path];
}

const schemaLeaves = KINDS.flatMap((def) => [
  ...leaves(def.spec, 'spec').map((p) => [def.kind, p] as const),
  ...(typeof def.status === 'function' ? leaves(def.status, 'status').map((p) => [def.kind, p] as const) : []),
]);

/** `row` is the path itself or one of its ancestors. */
const covers = (row: string, path: string) => path === row || path.startsWith(`${row}.`) || path.startsWith(`${row}[]`);
const leafName = (path: string) => path.split('.').pop()!.replace('[]', '');
const source = (module: string) => readFileSync(join(ROOT, module), 'utf8');

type Coverage = 'refused' | 'never accepted' | 'consumed' | 'fixed' | { pending: string } | 'uncovered';

function coverage(kind: string, path: string): Coverage {
  const of = <R extends readonly [string, string, ...unknown[]]>(rows: readonly R[]) => rows.find((r) => r[0] === kind && covers(r[1], path));
  if (REFUSALS.some((r) => r.kind === kind && r.when === undefined && covers(r.path, path))) return 'refused';
  if (of(NEVER_ACCEPTED)) return 'never accepted';
  if (of(CONSUMED)) return 'consumed';
  if (of(FIXED)) return 'fixed';
  const p = of(PENDING);
  return p ? { pending: `${p[2]}: ${kind} ${p[1]}` } : 'uncovered';
}

test('every schema field has a consumer, a refusal, or an open issue', (t) => {
  const uncovered = schemaLeaves.filter(([kind, path]) => coverage(kind, path) === 'uncovered').map(([k, p]) => `${k} ${p}`);
  const pending = new Map<string, number>();
  for (const [kind, path] of schemaLeaves) {
    const c = coverage(kind, path);
    if (typeof c === 'object') pending.set(c.pending, (pending.get(c.pending) ?? 0) + 1);
  }
  for (const [row, n] of pending) t.diagnostic(`pending ${row}${n > 1 ? ` (${n} fields)` : ''}`);
  assert.deepEqual(uncovered, [], 'fields accepted with no consumer, no refusal and no open issue');
  // The check itself: a field nobody reads is caught.
  assert.equal(coverage('IPPool', 'spec.somethingNew'), 'uncovered');
});

test('consumer modules exist and read the field', () => {
  for (const [kind, path, module] of CONSUMED) {
    assert.ok(existsSync(join(ROOT, module)), `${kind} ${path}: ${module} does not exist`);
    assert.match(source(module), new RegExp(`\\b${leafName(path)}\\b`), `${kind} ${path}: ${module} never names ${leafName(path)}`);
  }
  for (const [kind, path, module] of FIXED) {
    assert.ok(existsSync(join(ROOT, module)), `${kind} ${path}: ${module} does not exist`);
    assert.ok(REFUSALS.some((r) => r.kind === kind && r.path === path && r.when !== undefined), `${kind} ${path}: the other values need a refusal`);
  }
});

test('never-accepted fields are refused by validation', () => {
  for (const [kind, path, spec] of NEVER_ACCEPTED) {
    assert.throws(() => validateResource({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name: 'x' }, spec }), new RegExp(path.replace(/\./g, '\\.')));
  }
});

test('every row names a field the schema has', () => {
  const known = (kind: string, path: string) => schemaLeaves.some(([k, p]) => k === kind && covers(path, p));
  const rows = [...CONSUMED, ...FIXED, ...NEVER_ACCEPTED, ...PENDING, ...REFUSALS.map((r) => [r.kind, r.path] as const)];
  for (const [kind, path] of rows) assert.ok(known(kind, path), `${kind} ${path} is not in the ${kind} schema`);
});
