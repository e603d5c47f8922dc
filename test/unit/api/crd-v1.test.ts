// crd.projectcalico.org/v1 documents, as `kubectl get -o yaml` prints them from a cluster on the
// Kubernetes datastore, read as projectcalico.org/v3 resources.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readResources } from '../../../src/api/documents.js';
import { ValidationError } from '../../../src/errors.js';

// The shape kubectl prints for Calico's default pool (projectcalico.org/metadata holds the v3
// uid and creationTimestamp; the rest of metadata is the API server's).
const KUBECTL_POOL = `apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  annotations:
    projectcalico.org/metadata: '{"uid":"4dd82395-8bbb-4689-b440-d20bdcdca127","creationTimestamp":"2020-12-28T07:07:27Z"}'
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"crd.projectcalico.org/v1","kind":"IPPool"}'
  creationTimestamp: "2020-12-28T07:07:27Z"
  generation: 1
  managedFields:
  - manager: calico-node
    operation: Update
  labels:
    tier: pods
  name: default-ipv4-ippool
  resourceVersion: "739"
  selfLink: /apis/crd.projectcalico.org/v1/ippools/default-ipv4-ippool
  uid: 4bd56231-01bc-4739-93d8-43598d5fe2e5
spec:
  blockSize: 26
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
  nodeSelector: all()
  vxlanMode: Never
`;

test('a kubectl-printed IPPool becomes a v3 IPPool without Kubernetes bookkeeping', () => {
  const [pool] = readResources(KUBECTL_POOL);
  assert.deepEqual(pool, {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: {
      name: 'default-ipv4-ippool',
      labels: { tier: 'pods' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"crd.projectcalico.org/v1","kind":"IPPool"}' },
    },
    spec: {
      cidr: '10.244.0.0/16',
      blockSize: 26,
      ipipMode: 'Always',
      vxlanMode: 'Never',
      natOutgoing: true,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
    },
  });
});

test('kubectl lists of every converted kind', () => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPConfiguration', metadata: { name: 'default', resourceVersion: '5', uid: 'u', generation: 2 }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: false } },
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: 'tor', annotations: { 'projectcalico.org/metadata': '{}' } }, spec: { peerIP: '192.20.30.40', asNumber: 64567 } },
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPFilter', metadata: { name: 'f' }, spec: { exportV4: [{ action: 'Reject' }] } },
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'CalicoNodeStatus', metadata: { name: 's' }, spec: { node: 'n1' }, status: { lastUpdated: null } },
    ],
  };
  const rs = readResources(JSON.stringify(list));
  assert.deepEqual(rs.map((r) => [r.apiVersion, r.kind, r.metadata]), [
    ['projectcalico.org/v3', 'BGPConfiguration', { name: 'default' }],
    ['projectcalico.org/v3', 'BGPPeer', { name: 'tor' }],
    ['projectcalico.org/v3', 'BGPFilter', { name: 'f' }],
    ['projectcalico.org/v3', 'CalicoNodeStatus', { name: 's' }],
  ]);
  assert.equal((rs[0]!.spec as { nodeToNodeMeshEnabled: boolean }).nodeToNodeMeshEnabled, false);
});

test('a crd v1 document is validated like any other, naming the document', () => {
  assert.throws(
    () => readResources('apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: p, uid: x}\nspec: {cidr: 10.0.0.1/16}\n', 'pools.yaml'),
    (err: unknown) => err instanceof ValidationError && err.message === 'pools.yaml: document 1 (IPPool "p"): spec.cidr: "10.0.0.1/16" has host bits set; did you mean 10.0.0.0/16?',
  );
  assert.throws(
    () => readResources('apiVersion: crd.projectcalico.org/v1\nkind: Node\nmetadata: {name: n}\nspec: {}\n'),
    /kind: "Node" is not a crd\.projectcalico\.org\/v1 kind Tabby converts.*Kubernetes Node objects/,
  );
});
