import { ValidationError } from '../../errors.js';
import { parseCidr, parseIP } from '../net.js';
import { arrayOf, cidr, int, ip, mac, object, oneOf, str } from '../schema.js';
import { workloadEndpointName } from '../workload-endpoint-name.js';
import type { KindDef } from './kind.js';

// Calico's WorkloadEndpoint (libcalico-go/lib/apis/v3/workloadendpoint.go): what a CNI
// plugin writes for each container interface. Namespaced, default "default".
export const workloadEndpoint: KindDef = {
  kind: 'WorkloadEndpoint',
  // calicoctl's resourcemgr/workloadendpoint.go names.
  aliases: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'],
  namespaced: true,
  spec: object({
    orchestrator: str,
    workload: str,
    node: str,
    containerID: str,
    pod: str,
    endpoint: str,
    serviceAccountName: str,
    ipNetworks: arrayOf(cidr({ masked: true })),
    ipNATs: arrayOf(object({ internalIP: ip(), externalIP: ip() }, ['internalIP', 'externalIP'])),
    ipv4Gateway: ip(4),
    ipv6Gateway: ip(6),
    profiles: arrayOf(str),
    interfaceName: str,
    mac,
    ports: arrayOf(object({ name: str, protocol: oneOf('TCP', 'UDP', 'SCTP'), port: int(1, 65535), hostPort: int(0, 65535), hostIP: str }, ['port'])),
    allowSpoofedSourcePrefixes: arrayOf(cidr({ masked: true })),
  }),
  // libcalico-go/lib/validator/v3/validator.go validateWorkloadEndpointSpec, and the name
  // check of clientv3/workloadendpoint.go assignOrValidateName.
  rules(spec, name) {
    for (const [i, n] of ((spec.ipNetworks as string[]) ?? []).entries()) {
      const c = parseCidr(n)!;
      if (c.prefixLength !== (c.family === 4 ? 32 : 128)) throw new ValidationError(`spec.ipNetworks[${i}]`, 'IP network contains multiple addresses');
    }
    for (const [i, nat] of ((spec.ipNATs as { internalIP: string; externalIP: string }[]) ?? []).entries()) {
      if (parseIP(nat.internalIP)!.family !== parseIP(nat.externalIP)!.family) throw new ValidationError(`spec.ipNATs[${i}].externalIP`, 'mismatched IP versions');
      if (!((spec.ipNetworks as string[]) ?? []).some((n) => parseCidr(n)!.address === nat.internalIP)) {
        throw new ValidationError(`spec.ipNATs[${i}].internalIP`, 'NAT is not in the endpoint networks');
      }
    }
    const expected = workloadEndpointName(spec);
    if (name !== expected) {
      throw new ValidationError('metadata.name', `the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name ${expected}`);
    }
  },
};
