// `apiVersion: crd.projectcalico.org/v1` documents, as `kubectl get -o yaml` prints them from a
// Kubernetes-datastore cluster, converted to projectcalico.org/v3. The spec already uses the v3
// field names (Calico generates these CRDs from the v3 types); what differs is metadata:
// Kubernetes bookkeeping is dropped, and so is the projectcalico.org/metadata annotation in
// which Calico keeps the v3 object's own metadata (as Calico's v1-to-v3 datastore migration,
// copyLabelsAndAnnotations, drops it too). Labels and other annotations are kept.
import { ValidationError } from '../errors.js';
import { isPlainObject } from './schema.js';
import { API_VERSION } from './types.js';

export const CRD_API_VERSION = 'crd.projectcalico.org/v1';

/** The Calico CRDs for the kinds Tabby handles; Nodes live in Kubernetes Node objects. */
const CRD_KINDS = ['BGPConfiguration', 'BGPPeer', 'IPPool', 'BGPFilter', 'CalicoNodeStatus'];

/** Set by the Kubernetes API server, meaningless in another datastore. */
const K8S_METADATA = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'managedFields',
  'generation',
  'selfLink',
  'finalizers',
  'ownerReferences',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generateName',
];

/** Calico's annotation holding the v3 metadata (uid, creationTimestamp…) of a CRD object. */
const CALICO_METADATA_ANNOTATION = 'projectcalico.org/metadata';

export function isCrdV1(raw: unknown): boolean {
  return isPlainObject(raw) && raw.apiVersion === CRD_API_VERSION;
}

/** The projectcalico.org/v3 document for a crd.projectcalico.org/v1 one (validated later). */
export function convertCrdV1(raw: Record<string, unknown>): Record<string, unknown> {
  if (!CRD_KINDS.includes(raw.kind as string)) {
    const hint = raw.kind === 'Node' ? ' (Calico keeps nodes in Kubernetes Node objects; export them with calicoctl get nodes -o yaml)' : '';
    throw new ValidationError('kind', `${JSON.stringify(raw.kind)} is not a ${CRD_API_VERSION} kind Tabby converts; known: ${CRD_KINDS.join(', ')}${hint}`);
  }
  const meta = isPlainObject(raw.metadata) ? { ...raw.metadata } : {};
  for (const key of K8S_METADATA) delete meta[key];
  if (isPlainObject(meta.annotations)) {
    const { [CALICO_METADATA_ANNOTATION]: _calico, ...rest } = meta.annotations;
    if (Object.keys(rest).length > 0) meta.annotations = rest;
    else delete meta.annotations;
  }
  return { ...raw, apiVersion: API_VERSION, metadata: meta };
}
