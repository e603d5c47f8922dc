// WorkloadEndpoint naming and validation, from Calico:
// - names: libcalico-go/lib/names/workloadendpoint.go (segments per orchestrator, '-' → '--'),
//   e.g. libcalico-go/lib/clientv3/workloadendpoint_e2e_test.go creates node "node-1",
//   pod "pod-1", endpoint "eth0" as "node--1-k8s-pod--1-eth0".
// - spec: libcalico-go/lib/validator/v3/validator.go validateWorkloadEndpointSpec
//   ("IP network contains multiple addresses", "mismatched IP versions") and
//   clientv3/workloadendpoint.go assignOrValidateName.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateResource } from '../../../src/api/validate.js';
import { workloadEndpointName } from '../../../src/api/workload-endpoint-name.js';
import { ValidationError } from '../../../src/errors.js';

test('names per orchestrator, dashes doubled', () => {
  assert.equal(workloadEndpointName({ node: 'node-1', orchestrator: 'k8s', pod: 'pod-1', endpoint: 'eth0' }), 'node--1-k8s-pod--1-eth0');
  assert.equal(workloadEndpointName({ node: 'node1', orchestrator: 'cni', containerID: 'abc123', endpoint: 'eth0' }), 'node1-cni-abc123-eth0');
  assert.equal(workloadEndpointName({ node: 'n', orchestrator: 'libnetwork', endpoint: 'ep' }), 'n-libnetwork-libnetwork-ep');
  assert.equal(workloadEndpointName({ node: 'n', orchestrator: 'openstack', workload: 'vm1', endpoint: 'tap0' }), 'n-openstack-vm1-tap0');
  assert.throws(() => workloadEndpointName({ orchestrator: 'cni' }), /spec\.node: field should be assigned/);
  assert.throws(() => workloadEndpointName({ node: 'n', orchestrator: 'cni', endpoint: 'eth0' }), /spec\.containerID: field should be assigned/);
  assert.throws(() => workloadEndpointName({ node: '-n', orchestrator: 'cni', containerID: 'c', endpoint: 'e' }), /must not begin with a '-'/);
});

const wep = (spec: Record<string, unknown>, name = 'node1-cni-abc-eth0', metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'WorkloadEndpoint',
  metadata: { name, ...metadata },
  spec: { node: 'node1', orchestrator: 'cni', containerID: 'abc', endpoint: 'eth0', interfaceName: 'cali0123456789a', ...spec },
});

test('a valid endpoint is namespaced, "default" when none is given', () => {
  const r = validateResource(wep({ ipNetworks: ['10.244.1.5/32', 'fd00:10::5/128'], ipv4Gateway: '169.254.1.1', profiles: ['net1'], mac: 'AA:BB:CC:DD:EE:FF' }));
  assert.equal(r.metadata.namespace, 'default');
  assert.equal((r.spec as { mac: string }).mac, 'aa:bb:cc:dd:ee:ff');
  assert.equal(validateResource(wep({}, 'node1-cni-abc-eth0', { namespace: 'ns1' })).metadata.namespace, 'ns1');
});

test('"net" takes a bare address as a full-length prefix (ParseCIDROrIP)', () => {
  const r = validateResource(wep({ ipNetworks: ['10.244.1.5', 'fd00:10::5'] }));
  assert.deepEqual((r.spec as { ipNetworks: string[] }).ipNetworks, ['10.244.1.5/32', 'fd00:10::5/128']);
});

test('rejected as Calico rejects them', () => {
  const cases: [Record<string, unknown>, RegExp, string?][] = [
    [{ ipNetworks: ['10.244.1.0/24'] }, /spec\.ipNetworks\[0\]: IP network contains multiple addresses/],
    [{ ipNetworks: ['10.244.1.5/32'], ipNATs: [{ internalIP: '10.244.1.5', externalIP: 'fd00::1' }] }, /mismatched IP versions/],
    [{ ipNetworks: ['10.244.1.5/32'], ipNATs: [{ internalIP: '10.244.1.6', externalIP: '1.2.3.4' }] }, /not in the endpoint networks/],
    [{ ipv4Gateway: 'fe80::1' }, /spec\.ipv4Gateway/],
    [{ containerID: 'other' }, /does not match the primary identifiers assigned in the Spec: expected name node1-cni-other-eth0/],
    [{ nosuchfield: 1 }, /spec\.nosuchfield: unknown field/],
    // validator.go nameRegex for node, orchestrator, pod, endpoint, profiles; interfaceRegex; "net" is masked.
    [{ profiles: ['Net_1'] }, /spec\.profiles\[0\]: "Net_1" is not a lower-case DNS name/],
    [{ interfaceName: 'a-very-long-interface' }, /spec\.interfaceName: .* is not an interface name/],
    [{ interfaceName: undefined }, /spec\.interfaceName: is required/],
    [{ ipNetworks: ['10.244.1.5/24'] }, /spec\.ipNetworks\[0\]: .* has host bits set/],
  ];
  for (const [spec, re] of cases) assert.throws(() => validateResource(wep(spec)), (e: unknown) => e instanceof ValidationError && re.test(e.message), JSON.stringify(spec));
  // Cluster-scoped kinds still refuse a namespace.
  assert.throws(
    () => validateResource({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p', namespace: 'x' }, spec: { cidr: '10.0.0.0/16' } }),
    /metadata\.namespace: IPPool is cluster-scoped/,
  );
});
