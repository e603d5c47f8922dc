// The WorkloadEndpoint the plugin writes on ADD, as Calico's cni-plugin/pkg/plugin/plugin.go
// fills it for a plain CNI runtime: identifiers, the network name as profile, the addresses
// as ipNetworks, the host-side interface and the container's MAC. Labels as clientv3's
// updateLabelsForStorage adds them; the namespace path in an annotation so `tabby ipam
// check` can tell a container that is gone.
import type { StoredResource } from '../datastore/datastore.js';
import type { AttachmentNames } from './cni-names.js';

export const WEP_KIND = 'WorkloadEndpoint';
export const NETNS_ANNOTATION = 'tabby/netns';

export interface WorkloadEndpointSpec {
  orchestrator: string;
  node: string;
  containerID?: string;
  pod?: string;
  workload?: string;
  endpoint: string;
  ipNetworks: string[];
  profiles?: string[];
  interfaceName?: string;
  mac?: string;
}

export type WorkloadEndpoint = StoredResource & { spec: WorkloadEndpointSpec };

export function workloadEndpointResource(o: { names: AttachmentNames; network: string; netns: string; addresses: string[]; mac: string }): WorkloadEndpoint {
  const { ids } = o.names;
  const spec: WorkloadEndpointSpec = {
    orchestrator: ids.orchestrator!,
    node: ids.node!,
    ...(ids.containerID ? { containerID: ids.containerID } : {}),
    ...(ids.pod ? { pod: ids.pod } : {}),
    endpoint: ids.endpoint!,
    ipNetworks: o.addresses,
    profiles: [o.network],
    interfaceName: o.names.hostVeth,
    ...(o.mac ? { mac: o.mac } : {}),
  };
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: WEP_KIND,
    metadata: {
      name: o.names.wepName,
      namespace: ids.namespace,
      labels: { 'projectcalico.org/namespace': ids.namespace, 'projectcalico.org/orchestrator': ids.orchestrator! },
      annotations: { [NETNS_ANNOTATION]: o.netns },
    },
    spec,
  };
}
