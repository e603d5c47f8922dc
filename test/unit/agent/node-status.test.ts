// CalicoNodeStatus filled as calico-node fills it. Expectations from Calico's
// node/tests/k8st node_status_test.go (TestNodeMeshStatus): birdV4 and birdV6 Ready with the
// node's IPv4 address as router id; Established/not-established counts per family;
// each mesh peer as {peerIP, type NodeMesh, state Established}; each learned route as a
// FIB route over the node's interface with the peer as gateway and sourceType NodeMesh.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeStatusReport, type NodeStatusFacts } from '../../../src/agent/node-status-report.js';
import { NodeStatusWriter } from '../../../src/agent/node-status-writer.js';
import { ResourceClient } from '../../../src/client/resource-client.js';
import type { CalicoNodeStatus } from '../../../src/api/types.js';
import type { SpeakerPeerStatus } from '../../../src/bgp/speaker.js';
import { emptyCounters } from '../../../src/bgp/session/index.js';
import { openDatastore } from '../../../src/datastore/open.js';
import { silentLogger } from '../../../src/util/log.js';

const since = new Date('2026-12-07T10:00:00Z');
const session = (id: string, address: string, state: SpeakerPeerStatus['state']): SpeakerPeerStatus => ({
  id, address, port: 179, family: address.includes(':') ? 'ipv6' : 'ipv4', remoteAsn: 64512, localAsn: 64512, type: 'ibgp', passive: false, rrClient: false,
  state, since, info: state, prefixes: { received: 0, accepted: 0, advertised: 0 }, counters: emptyCounters(),
});

const facts = (): NodeStatusFacts => ({
  routerId: '172.18.0.3',
  version: '0.1.0',
  bootTime: new Date('2026-12-07T09:00:00Z'),
  now: new Date('2026-12-07T11:00:00Z'),
  sessions: [
    { s: session('Mesh_172_18_0_2', '172.18.0.2', 'Established'), type: 'node-to-node mesh' },
    { s: session('Mesh_172_18_0_4', '172.18.0.4', 'Established'), type: 'node-to-node mesh' },
    { s: session('Global_10_0_0_254', '10.0.0.254', 'Active'), type: 'global' },
    { s: session('Mesh_fd00__2', 'fd00::2', 'Established'), type: 'node-to-node mesh' },
  ],
  routes: [
    { family: 'ipv4', prefix: '10.244.2.0/26', nexthops: ['172.18.0.2'], peerId: 'Mesh_172_18_0_2' },
    { family: 'ipv6', prefix: 'fd10::/122', nexthops: ['fd00::2'], peerId: 'Mesh_fd00__2' },
  ],
  ifname: 'eth0',
});

test('every class: the daemon Ready with the router id, sessions and counts per family, learned routes as FIB routes', () => {
  const st = nodeStatusReport({ classes: ['Agent', 'BGP', 'Routes'] }, facts());
  assert.equal(st.lastUpdated, '2026-12-07T11:00:00.000Z');
  assert.deepEqual(st.agent!.birdV4, { state: 'Ready', version: '0.1.0', routerID: '172.18.0.3', lastBootTime: '2026-12-07T09:00:00.000Z' });
  assert.deepEqual(st.agent!.birdV6, st.agent!.birdV4, 'one speaker for both families: same router id');
  assert.deepEqual(
    [st.bgp!.numberEstablishedV4, st.bgp!.numberNotEstablishedV4, st.bgp!.numberEstablishedV6, st.bgp!.numberNotEstablishedV6],
    [2, 1, 1, 0],
  );
  assert.deepEqual(st.bgp!.peersV4![0], { peerIP: '172.18.0.2', type: 'NodeMesh', state: 'Established', since: since.toISOString() });
  assert.deepEqual(st.bgp!.peersV4![2], { peerIP: '10.0.0.254', type: 'GlobalPeer', state: 'Active', since: since.toISOString() });
  assert.deepEqual(st.routes!.routesV4, [
    { type: 'FIB', destination: '10.244.2.0/26', gateway: '172.18.0.2', interface: 'eth0', learnedFrom: { sourceType: 'NodeMesh', peerIP: '172.18.0.2' } },
  ]);
  assert.equal((st.routes!.routesV6 as { gateway: string }[])[0]!.gateway, 'fd00::2');
});

test('only the classes asked for', () => {
  const st = nodeStatusReport({ classes: ['BGP'] }, facts());
  assert.deepEqual(Object.keys(st).sort(), ['bgp', 'lastUpdated']);
});

test('the writer fills this node\'s resources on their own period; 0 never; a deleted one is not recreated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tabby-cns-'));
  const store = await openDatastore(`file:${dir}`);
  try {
    const client = new ResourceClient(store);
    const cns = (name: string, node: string, updatePeriodSeconds: number) => ({ apiVersion: 'projectcalico.org/v3', kind: 'CalicoNodeStatus', metadata: { name }, spec: { node, classes: ['BGP'], updatePeriodSeconds } });
    await client.write('apply', [cns('fast', 'n1', 10), cns('never', 'n1', 0), cns('other', 'n2', 10)] as never);
    let now = 1_000_000;
    const list = async () => (await client.list('CalicoNodeStatus')).items as CalicoNodeStatus[];
    let cached = await list();
    const writer = new NodeStatusWriter({ node: 'n1', client, list: () => cached, facts, log: silentLogger, now: () => now });
    assert.deepEqual(await writer.tick(), ['fast']);
    assert.equal(((await client.get('CalicoNodeStatus', 'fast')) as CalicoNodeStatus).status!.bgp!.numberEstablishedV4, 2);
    assert.equal(((await client.get('CalicoNodeStatus', 'never')) as CalicoNodeStatus).status, undefined);
    assert.equal(((await client.get('CalicoNodeStatus', 'other')) as CalicoNodeStatus).status, undefined);
    now += 9_000;
    assert.deepEqual(await writer.tick(), [], 'not due yet');
    now += 1_000;
    assert.deepEqual(await writer.tick(), ['fast']);
    await client.delete('CalicoNodeStatus', 'fast');
    now += 10_000;
    assert.deepEqual(await writer.tick(), []);
    cached = await list();
    assert.deepEqual(cached.map((r) => r.metadata.name).sort(), ['never', 'other']);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
