// The names an attachment goes by: the host-side veth, the IPAM handle and the
// WorkloadEndpoint identifiers, all derived from the CNI parameters alone so that DEL
// finds what ADD made without any state of its own.
import { createHash } from 'node:crypto';
import { workloadEndpointName, type WorkloadEndpointIds } from '../api/workload-endpoint-name.js';
import type { CniEnv } from './cni-env.js';

export interface AttachmentNames {
  hostVeth: string;
  handle: string;
  ids: WorkloadEndpointIds & { namespace: string };
  wepName: string;
}

/**
 * `cali` + the first 11 hex digits of sha1(`namespace.pod`), libcalico-go's
 * VethNameForWorkload (backend/k8s/conversion). Calico's plain-CNI path uses the container
 * ID's first 11 characters instead; Tabby hashes `containerID.ifname` there, so two
 * interfaces of one container (two networks) never collide.
 */
export function vethName(workload: string): string {
  return `cali${createHash('sha1').update(workload).digest('hex').slice(0, 11)}`;
}

/**
 * Kubernetes runtimes pass K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS; Calico then
 * names the endpoint after the pod (orchestrator k8s), otherwise after the container (cni).
 * The IPAM handle is Calico's `network.containerID` (cni-plugin utils.GetHandleID) plus the
 * interface: SPEC.md keys plugin state by (network name, CNI_CONTAINERID, CNI_IFNAME).
 */
export function attachmentNames(env: Pick<CniEnv, 'containerID' | 'ifname' | 'args'>, network: string, node: string): AttachmentNames {
  const pod = env.args.K8S_POD_NAME;
  const podNamespace = env.args.K8S_POD_NAMESPACE;
  const k8s = Boolean(pod && podNamespace);
  const ids: AttachmentNames['ids'] = k8s
    ? { node, orchestrator: 'k8s', pod, endpoint: env.ifname, containerID: env.containerID, namespace: podNamespace! }
    : { node, orchestrator: 'cni', containerID: env.containerID, endpoint: env.ifname, namespace: 'default' };
  return {
    hostVeth: vethName(k8s ? `${podNamespace}.${pod}` : `${env.containerID}.${env.ifname}`),
    handle: `${network}.${env.containerID}.${env.ifname}`,
    ids,
    wepName: workloadEndpointName(ids),
  };
}
