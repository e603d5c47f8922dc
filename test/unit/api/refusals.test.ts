// Fields Calico accepts but Tabby has no effect for are refused when written: one line naming
// the field, nothing stored. And Calico's overlap rule for new IP pools, which needs the store.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ResourceClient } from '../../../src/client/resource-client.js';
import { readResources } from '../../../src/api/documents.js';
import { REFUSALS, UnsupportedFieldError, refusalsOf } from '../../../src/api/refusals.js';
import type { Resource } from '../../../src/api/types.js';
import { validateResource } from '../../../src/api/validate.js';
import type { Datastore } from '../../../src/datastore/datastore.js';
import { openDatastore } from '../../../src/datastore/open.js';
import { ValidationError } from '../../../src/errors.js';

const res = (kind: string, spec: unknown, extra: Record<string, unknown> = {}) =>
  validateResource({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name: kind === 'BGPConfiguration' ? 'default' : 'x' }, spec, ...extra });

const wep = (spec: Record<string, unknown>) =>
  validateResource({
    apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name: 'n1-cni-c1-eth0' },
    spec: { node: 'n1', orchestrator: 'cni', containerID: 'c1', endpoint: 'eth0', interfaceName: 'cali0123456789a', ipNetworks: ['10.244.0.5/32'], ...spec },
  });

/** One valid resource per refusal that sets the refused field (or value). */
const SAMPLES: Record<string, () => Resource> = {
  'BGPConfiguration spec.serviceLoadBalancerAggregation': () => res('BGPConfiguration', { serviceLoadBalancerAggregation: 'Disabled' }),
  'BGPConfiguration spec.programClusterRoutes': () => res('BGPConfiguration', { programClusterRoutes: 'Enabled' }),
  'BGPConfiguration spec.localWorkloadPeeringIPV4': () => res('BGPConfiguration', { localWorkloadPeeringIPV4: '169.254.0.179' }),
  'BGPConfiguration spec.localWorkloadPeeringIPV6': () => res('BGPConfiguration', { localWorkloadPeeringIPV6: 'fe80::179' }),
  'BGPConfiguration spec.nodeMeshPassword.secretKeyRef.optional': () => res('BGPConfiguration', { nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k', optional: false } } }),
  'BGPPeer spec.password.secretKeyRef.optional': () => res('BGPPeer', { peerIP: '10.9.0.1', asNumber: 65000, password: { secretKeyRef: { name: 's', key: 'k', optional: true } } }),
  'BGPConfiguration spec.ignoredInterfaces': () => res('BGPConfiguration', { ignoredInterfaces: ['docker*'] }),
  'BGPPeer spec.reachableBy': () => res('BGPPeer', { peerIP: '10.9.0.1', asNumber: 65000, reachableBy: '10.0.0.254' }),
  'BGPPeer spec.localWorkloadSelector': () => res('BGPPeer', { asNumber: 65000, localWorkloadSelector: "app == 'router'" }),
  'BGPPeer spec.birdGatewayMode': () => res('BGPPeer', { peerIP: '10.9.0.1', asNumber: 65000, birdGatewayMode: 'DirectIfDirectlyConnected' }),
  ...Object.fromEntries(
    ['exportV4', 'importV4', 'exportV6', 'importV6'].flatMap((list) => {
      const cidr = list.endsWith('V4') ? '10.9.0.0/16' : 'fd00:9::/64';
      const rule = (extra: Record<string, unknown>) => () => res('BGPFilter', { [list]: [{ cidr, matchOperator: 'In', action: 'Accept', ...extra }] });
      return [
        [`BGPFilter spec.${list}[].communities`, rule({ communities: { values: ['65000:100'] } })],
        [`BGPFilter spec.${list}[].asPathPrefix`, rule({ asPathPrefix: [65000] })],
        [`BGPFilter spec.${list}[].priority`, rule({ priority: 512 })],
        [`BGPFilter spec.${list}[].operations`, rule({ operations: [{ setPriority: { value: 256 } }] })],
      ];
    }),
  ),
  'IPPool spec.namespaceSelector': () => res('IPPool', { cidr: '10.9.0.0/16', namespaceSelector: "team == 'a'" }),
  'IPPool spec.allowedUses': () => res('IPPool', { cidr: '10.9.0.0/16', allowedUses: ['LoadBalancer'] }),
  'IPPool spec.assignmentMode': () => res('IPPool', { cidr: '10.9.0.0/16', assignmentMode: 'Manual' }),
  'IPPool spec.cidr': () => res('IPPool', { cidr: '127.9.0.0/16' }),
  'IPPool spec.nat-outgoing': () => res('IPPool', { cidr: '10.9.0.0/16', 'nat-outgoing': false }),
  'Node spec.bgp.ipv4IPIPTunnelAddr': () => res('Node', { bgp: { ipv4Address: '10.0.0.9/24', ipv4IPIPTunnelAddr: '10.244.0.1' } }),
  'Node spec.addresses': () => res('Node', { addresses: [{ address: '10.0.0.9', type: 'InternalIP' }] }),
  'Node spec.orchRefs': () => res('Node', { orchRefs: [{ nodeName: 'x', orchestrator: 'k8s' }] }),
  'Node spec.interfaces': () => res('Node', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.9'] }] }),
  'Node spec.wireguard': () => res('Node', { wireguard: { interfaceIPv4Address: '10.0.0.9' } }),
  'Node status.wireguardPublicKey': () => res('Node', {}, { status: { wireguardPublicKey: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=' } }),
  'Node status.wireguardPublicKeyV6': () => res('Node', {}, { status: { wireguardPublicKeyV6: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=' } }),
  'Node status.podCIDRs': () => res('Node', {}, { status: { podCIDRs: ['10.244.0.0/24'] } }),
  'WorkloadEndpoint spec.serviceAccountName': () => wep({ serviceAccountName: 'sa' }),
  'WorkloadEndpoint spec.ipNATs': () => wep({ ipNATs: [{ internalIP: '10.244.0.5', externalIP: '192.0.2.5' }] }),
  'WorkloadEndpoint spec.ipv4Gateway': () => wep({ ipv4Gateway: '10.244.0.1' }),
  'WorkloadEndpoint spec.ipv6Gateway': () => wep({ ipv6Gateway: 'fe80::1' }),
  'WorkloadEndpoint spec.ports': () => wep({ ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  'WorkloadEndpoint spec.allowSpoofedSourcePrefixes': () => wep({ allowSpoofedSourcePrefixes: ['10.9.0.0/16'] }),
};

let dir: string;
let store: Datastore;
let client: ResourceClient;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabby-refusals-'));
  store = await openDatastore(`file:${dir}`);
  client = new ResourceClient(store);
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const snapshot = async () => JSON.stringify(await Promise.all(['BGPConfiguration', 'BGPPeer', 'BGPFilter', 'IPPool', 'Node', 'WorkloadEndpoint'].map((k) => client.list(k))));

test('every refusal has a sample, and each sample is refused with one line and nothing written', async () => {
  for (const r of REFUSALS) {
    const key = `${r.kind} ${r.path}`;
    const sample = SAMPLES[key];
    assert.ok(sample, `no sample for refusal ${key}`);
    const resource = sample();
    assert.deepEqual(refusalsOf(resource).map(([p]) => p.replace(/\[\d+\]/g, '[]')), [r.path], key);
    const before_ = await snapshot();
    await assert.rejects(client.write('apply', [resource]), (err: unknown) => {
      assert.ok(err instanceof UnsupportedFieldError, String(err));
      assert.equal(err.code, 'VALIDATION');
      const concrete = r.path.replace('[]', '[0]');
      assert.equal(err.path, concrete);
      assert.equal(err.message, `${r.kind} "${resource.metadata.name}": ${concrete} is not supported by Tabby: ${r.why}`);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.equal(await snapshot(), before_, `${key}: nothing written`);
  }
  assert.equal(Object.keys(SAMPLES).length, REFUSALS.length, 'a sample for a refusal that no longer exists');
});

test('values that take effect are not refused', async () => {
  const ok = [
    res('IPPool', { cidr: '10.8.0.0/16', allowedUses: ['Tunnel', 'Workload'], assignmentMode: 'Automatic' }),
    res('IPPool', { cidr: 'fd00:8::/64', vxlanMode: 'Never' }),
    // IPv6 VXLAN over an IPv6 underlay, as Calico's vxlan-v6.calico (vxlanModeV6), with the
    // Node fields calico-node writes for it (allocateip: ipv6VXLANTunnelAddr, vxlanTunnelMACAddrV6).
    res('IPPool', { cidr: 'fd00:7::/64', vxlanMode: 'CrossSubnet' }),
    res('Node', { bgp: { ipv6Address: 'fd00::9/64' }, ipv6VXLANTunnelAddr: 'fd00:7::1', vxlanTunnelMACAddrV6: '66:00:00:00:00:09' }),
    res('BGPConfiguration', { serviceLoadBalancerAggregation: 'Enabled' }),
    res('BGPPeer', { peerIP: '10.9.0.1', asNumber: 65000, password: { secretKeyRef: { name: 's', key: 'k' } } }),
    // RFC 9494, both roles (src/bgp/speaker/long-lived.ts).
    res('BGPPeer', { peerIP: '10.9.0.2', asNumber: 65000, restartMode: 'LongLivedGracefulRestart', maxRestartTime: '1h' }),
  ];
  ok.forEach((r, i) => (r.metadata.name = r.kind === 'BGPConfiguration' ? 'default' : `ok-${i}`));
  for (const r of ok) assert.deepEqual(refusalsOf(r), [], JSON.stringify(r.spec));
  await client.write('apply', ok);
  for (const r of ok) await client.delete(r.kind, r.metadata.name).catch(() => undefined);
});

test('a read-modify-write keeps a refused value that was already stored', async () => {
  // Stored behind the client's back (as an older Tabby might have), then patched elsewhere.
  const legacy = res('Node', { orchRefs: [{ nodeName: 'legacy', orchestrator: 'k8s' }] });
  legacy.metadata.name = 'legacy';
  await store.txn([{ op: 'create', resource: legacy as never }]);
  await client.patch('Node', 'legacy', { spec: { bgp: { ipv4Address: '10.0.0.7/24' } } });
  assert.equal(((await client.get('Node', 'legacy'))!.spec as { bgp: { ipv4Address: string } }).bgp.ipv4Address, '10.0.0.7/24');
  // A new refused value in the same patch is still refused.
  await assert.rejects(client.patch('Node', 'legacy', { spec: { wireguard: { interfaceIPv4Address: '10.0.0.7' } } }), UnsupportedFieldError);
});

// libcalico-go clientv3 ippool.go refuses a new pool whose CIDR overlaps an existing one.
test('overlapping IP pools are refused at write time, with the other pool named', async () => {
  const pool = (name: string, cidr: string) => {
    const p = res('IPPool', { cidr });
    p.metadata.name = name;
    return p;
  };
  await client.write('create', [pool('wide', '10.20.0.0/16')]);
  const before_ = await snapshot();
  for (const [name, cidr] of [['inside', '10.20.128.0/17'], ['around', '10.0.0.0/8'], ['same', '10.20.0.0/16']]) {
    await assert.rejects(client.write('apply', [pool(name!, cidr!)]), (err: unknown) => {
      assert.ok(err instanceof ValidationError && !(err instanceof UnsupportedFieldError));
      assert.equal(err.message, `IPPool "${name}": spec.cidr: ${cidr} overlaps IPPool "wide" (10.20.0.0/16); Calico refuses overlapping pools`);
      return true;
    });
  }
  // Two new pools in one write that overlap each other: all or nothing.
  await assert.rejects(client.write('apply', [pool('a', '10.30.0.0/16'), pool('b', '10.30.1.0/24')]), /IPPool "b".*overlaps IPPool "a"/);
  assert.equal(await snapshot(), before_, 'nothing written');
  // Re-applying the same pool, and disjoint pools, are fine.
  await client.write('apply', [pool('wide', '10.20.0.0/16'), pool('v6', 'fd00:20::/64'), pool('next', '10.21.0.0/16')]);
});

test('through the CLI reader: documents validate, then the write refuses', async () => {
  const [r] = readResources('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ns}\nspec: {cidr: 10.40.0.0/16, namespaceSelector: all()}\n');
  await assert.rejects(client.write('apply', [r!]), /IPPool "ns": spec\.namespaceSelector is not supported by Tabby/);
});
