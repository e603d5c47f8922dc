// The agent's per-peer policy through real speakers on an in-memory network. Expectations
// from Calico's confd: calico_export_to_bgp_peers (bird_ipam.cfg.template and
// bgp_processor.go processIPPool) accepts every route inside an enabled pool, so an edge
// node passes blocks it learned over the mesh on to its eBGP ToR, never a disableBGPExport
// pool and nothing outside the pools, and (calico_aggr, bird_aggr.cfg.template) nothing
// beneath one of its own blocks, such as a /32 another node borrowed; `next hop keep` for keepOriginalNextHop on eBGP
// peers (buildPeerFromData); buildExportFilter/buildImportFilter run the peer's BGPFilters
// first, in its order, then the default (export) or accept (import).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerPolicies } from '../../../src/agent/peer-policy.js';
import type { BGPFilterSpec } from '../../../src/api/types.js';
import type { SpeakerPeer } from '../../../src/bgp/speaker.js';
import type { NextHopMode } from '../../../src/bgp/rib/types.js';
import { MemoryNet, table, until } from '../bgp/speaker/helpers.js';

const POOLS = { advertise: ['10.244.0.0/16', '10.96.0.0/16'], deny: ['10.96.0.0/16'] };
/** n1's policy: it owns 10.244.1.0/26; n2 owns 10.244.2.0/26. */
const EXPORT = { ...POOLS, blocks: ['10.244.1.0/26'] };

/** n1 (edge node) meshes with n2 and peers with an eBGP ToR; returns the ToR's table. */
async function torTable(opts: { n2Borrowed?: string[]; nextHopMode?: NextHopMode; torFilters?: { name: string; spec: BGPFilterSpec }[]; meshFilters?: { name: string; spec: BGPFilterSpec }[] }) {
  const net = new MemoryNet();
  const n1 = net.speaker('10.0.0.1', { localAsn: 64512 });
  const n2 = net.speaker('10.0.0.2', { localAsn: 64512 });
  const tor = net.speaker('10.0.0.9', { localAsn: 65009 });
  const policies = new PeerPolicies();
  const planned = [
    { id: 'Mesh_10_0_0_2', address: '10.0.0.2', remoteAsn: 64512, export: EXPORT, filters: opts.meshFilters ?? [] },
    { id: 'Global_10_0_0_9', address: '10.0.0.9', remoteAsn: 65009, export: EXPORT, filters: opts.torFilters ?? [], nextHopMode: opts.nextHopMode ?? 'Auto' },
  ];
  const fns = policies.forPeers(planned);
  n1.speaker.setPeers(planned.map(({ export: _e, filters: _f, ...p }) => ({ ...p, localAddress: '10.0.0.1', ...fns.get(p.id)! }) as SpeakerPeer));
  const fromN2 = policies.forPeers([{ id: 'Mesh_10_0_0_1', export: { ...POOLS, blocks: ['10.244.2.0/26'] }, filters: [] }]).get('Mesh_10_0_0_1')!;
  n2.speaker.setPeers([{ id: 'Mesh_10_0_0_1', address: '10.0.0.1', remoteAsn: 64512, localAddress: '10.0.0.2', ...fromN2 }]);
  tor.speaker.setPeers([{ id: 'n1', address: '10.0.0.1', remoteAsn: 64512, localAddress: '10.0.0.9' }]);
  // Its block, and a route outside every pool (only a BGPFilter can let that out).
  n1.speaker.setLocalRoutes([{ prefix: '10.244.1.0/26' }, { prefix: '192.168.60.0/24' }]);
  // A block, a disableBGPExport pool's block, and a route outside every pool.
  n2.speaker.setLocalRoutes([{ prefix: '10.244.2.0/26' }, { prefix: '10.96.2.0/26' }, { prefix: '192.168.50.0/24' }, ...(opts.n2Borrowed ?? []).map((prefix) => ({ prefix }))]);
  tor.speaker.setLocalRoutes([{ prefix: '10.99.0.0/16' }, { prefix: '10.98.0.0/16' }]);
  for (const n of [n1, n2, tor]) await n.speaker.start();
  await until(net, () => n1.speaker.status().every((s) => s.state === 'Established') && n1.speaker.bestPaths().length > 0);
  await net.advance(5000);
  const out = { tor: table(tor.speaker), n1: table(n1.speaker), n2: table(n2.speaker) };
  for (const n of [n1, n2, tor]) await n.speaker.stop();
  return out;
}

test('an eBGP peer gets every enabled-pool route, the mesh-learned block included, with next hop self', async () => {
  const { tor } = await torTable({});
  assert.deepEqual(tor, ['10.244.1.0/26 10.0.0.1 n1', '10.244.2.0/26 10.0.0.1 n1']);
});

test('a /32 n2 borrowed from n1\'s block reaches n1 but n1 does not pass it on: beneath its own block', async () => {
  const { tor, n1 } = await torTable({ n2Borrowed: ['10.244.1.7/32'] });
  assert.ok(n1.includes('10.244.1.7/32 10.0.0.2 Mesh_10_0_0_2'), 'n1 learns it over the mesh');
  assert.deepEqual(tor, ['10.244.1.0/26 10.0.0.1 n1', '10.244.2.0/26 10.0.0.1 n1']);
});

test('keepOriginalNextHop (next hop keep): the mesh-learned block keeps its owner as next hop', async () => {
  const { tor } = await torTable({ nextHopMode: 'Keep' });
  assert.deepEqual(tor, ['10.244.1.0/26 10.0.0.1 n1', '10.244.2.0/26 10.0.0.2 n1']);
});

test('BGPFilters decide first, in the peer\'s order; no match falls to the default export, and import accepts', async () => {
  const rejectN2 = { name: 'no-n2', spec: { exportV4: [{ cidr: '10.244.2.0/26', matchOperator: 'Equal' as const, action: 'Reject' as const }] } };
  // Accept overrides the default: a route outside every pool goes out.
  const extra = { name: 'extra', spec: { exportV4: [{ cidr: '192.168.0.0/16', matchOperator: 'In' as const, action: 'Accept' as const }, { cidr: '10.244.2.0/26', matchOperator: 'Equal' as const, action: 'Accept' as const }] } };
  const importing = { name: 'imp', spec: { importV4: [{ cidr: '10.99.0.0/16', matchOperator: 'Equal' as const, action: 'Reject' as const }] } };
  const { tor, n1 } = await torTable({ torFilters: [rejectN2, extra, importing] });
  assert.deepEqual(tor, ['10.244.1.0/26 10.0.0.1 n1', '192.168.60.0/24 10.0.0.1 n1'], 'the first filter rejects n2\'s block before the second could accept it');
  assert.deepEqual(n1.filter((l) => l.startsWith('10.9')), ['10.98.0.0/16 10.0.0.9 Global_10_0_0_9'], 'imported: all but the rejected prefix');
});

test('peerType: a rule for eBGP peers leaves iBGP sessions alone', async () => {
  const ebgpOnly = { name: 'ebgp', spec: { exportV4: [{ cidr: '10.244.0.0/16', matchOperator: 'In' as const, peerType: 'eBGP' as const, action: 'Reject' as const }] } };
  const { tor, n2 } = await torTable({ torFilters: [ebgpOnly], meshFilters: [ebgpOnly] });
  assert.deepEqual(tor, []);
  assert.deepEqual(n2, ['10.244.1.0/26 10.0.0.1 Mesh_10_0_0_1']);
});

test('unchanged policies keep their functions (no re-sync); a changed filter gets a new one', () => {
  const p = new PeerPolicies();
  const f = { name: 'f', spec: { importV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In' as const, action: 'Reject' as const }] } };
  const a = p.forPeers([{ id: 'x', export: EXPORT, filters: [f] }, { id: 'y', export: EXPORT, filters: [] }]);
  const b = p.forPeers([{ id: 'x', export: EXPORT, filters: [f] }, { id: 'y', export: EXPORT, filters: [] }]);
  assert.equal(a.get('x')!.exportFilter, b.get('x')!.exportFilter);
  assert.equal(a.get('x')!.importPolicy, b.get('x')!.importPolicy);
  assert.equal(a.get('y')!.importPolicy, undefined, 'no import rules: no policy');
  const c = p.forPeers([{ id: 'x', export: EXPORT, filters: [{ ...f, spec: { importV4: [{ ...f.spec.importV4[0]!, action: 'Accept' as const }] } }] }]);
  assert.notEqual(c.get('x')!.importPolicy, a.get('x')!.importPolicy);
});

test('a filter that cannot be compiled blocks its own peer only, and says why', () => {
  const errors = new Map<string, string>();
  const bad = { name: 'bad', spec: { exportV4: [{ cidr: 'fd00::/64', matchOperator: 'In' as const, action: 'Accept' as const }] } };
  const fns = new PeerPolicies().forPeers([{ id: 'x', export: EXPORT, filters: [bad] }, { id: 'y', export: EXPORT, filters: [] }], errors);
  assert.deepEqual([...errors.keys()], ['x']);
  assert.match(errors.get('x')!, /BGPFilter: bad ipv4 cidr "fd00::\/64"/);
  const path = { peer: { type: 'local' } } as never;
  const target = { type: 'ebgp' } as never;
  assert.equal(fns.get('x')!.exportFilter('10.244.1.0/26', path, target, 'ipv4'), false, 'sends nothing');
  assert.equal(fns.get('x')!.importPolicy!('10.9.0.0/16', {} as never, target, 'ipv4'), 'reject', 'takes nothing');
  assert.equal(fns.get('y')!.exportFilter('10.244.1.0/26', path, target, 'ipv4'), true);
});
