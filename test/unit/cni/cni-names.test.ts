// Names derived from the CNI parameters alone. Expectations from Calico:
// libcalico-go/lib/backend/k8s/conversion/conversion_test.go "generate a veth name with the
// right prefix": VethNameForWorkload("namespace", "podname") = prefix + "82111e10a96";
// cni-plugin/internal/pkg/utils GetHandleID: "<network>.<containerID>";
// names/workloadendpoint.go: "<node>-cni-<containerID>-<endpoint>", "<node>-k8s-<pod>-<endpoint>".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachmentNames, vethName } from '../../../src/cni/cni-names.js';

test('a Kubernetes pod: Calico\'s veth name, k8s endpoint name, namespace', () => {
  const n = attachmentNames({ containerID: 'abc', ifname: 'eth0', args: { K8S_POD_NAMESPACE: 'namespace', K8S_POD_NAME: 'podname' } }, 'k8s-pod-network', 'node-1');
  assert.equal(n.hostVeth, 'cali82111e10a96');
  assert.equal(n.wepName, 'node--1-k8s-podname-eth0');
  assert.equal(n.ids.namespace, 'namespace');
  assert.equal(n.handle, 'k8s-pod-network.abc.eth0');
});

test('a plain container: cni endpoint in "default"; two interfaces of one container never share a veth', () => {
  const a = attachmentNames({ containerID: 'f00d', ifname: 'eth0', args: {} }, 'net1', 'n1');
  const b = attachmentNames({ containerID: 'f00d', ifname: 'eth1', args: {} }, 'net1', 'n1');
  assert.equal(a.wepName, 'n1-cni-f00d-eth0');
  assert.equal(a.ids.namespace, 'default');
  assert.equal(a.handle, 'net1.f00d.eth0');
  assert.match(a.hostVeth, /^cali[0-9a-f]{11}$/);
  assert.equal(a.hostVeth, vethName('f00d.eth0'));
  assert.notEqual(a.hostVeth, b.hostVeth);
  assert.ok(a.hostVeth.length <= 15, 'fits IFNAMSIZ');
});
