import { ValidationError } from '../../errors.js';
import { parseCidr, parseIP } from '../net.js';
import { arrayOf, cidr, fail, int, ip, mac, matching, object, str, type Check } from '../schema.js';
import { workloadEndpointName } from '../workload-endpoint-name.js';
import type { KindDef } from './kind.js';

// Field formats from libcalico-go/lib/validator/v3/validator.go (nameRegex, containerIDRegex,
// interfaceRegex; "net" takes a masked CIDR or a bare address) and the tags of
// libcalico-go/lib/apis/v3/workloadendpoint.go (`omitempty` ones may be "").
const orEmpty = (re: RegExp) => new RegExp(`^$|${re.source}`);
const name = matching(orEmpty(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/), 'a lower-case DNS name');
const containerID = matching(orEmpty(/^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/), 'a container ID (letters, digits and inner dashes)');
const interfaceName = matching(/^(\*|[a-zA-Z0-9_.-]{1,15})$/, 'an interface name (1-15 letters, digits, "_", "." or "-")');
const net = cidr({ masked: true, bareIP: true });

/** k8s IsValidPortName (Calico's portName, omitempty): an IANA service name, or "". */
const portName: Check<string> = (v, p) => {
  const s = str(v, p);
  const ok = s === '' || s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
  return ok ? s : fail(p, `${JSON.stringify(s)} is not a port name (at most 15 lower-case letters, digits and single inner dashes, with a letter)`);
};

/** numorstring.Protocol with SupportsPorts: TCP, UDP, SCTP, by name or number. */
const portProtocol: Check<string | number> = (v, p) => {
  if (['TCP', 'UDP', 'SCTP'].includes(v as string) || [6, 17, 132].includes(v as number)) return v as string | number;
  return fail(p, `${JSON.stringify(v)} is not a protocol with ports (TCP, UDP or SCTP)`);
};

const port = object({ name: portName, protocol: portProtocol, port: int(1, 65535), hostPort: int(0, 65535), hostIP: net }, ['protocol', 'port']);

// Calico's WorkloadEndpoint (libcalico-go/lib/apis/v3/workloadendpoint.go): what a CNI
// plugin writes for each container interface. Namespaced, default "default".
export const workloadEndpoint: KindDef = {
  kind: 'WorkloadEndpoint',
  // calicoctl's resourcemgr/workloadendpoint.go names.
  aliases: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'],
  namespaced: true,
  spec: object(
    {
      orchestrator: name,
      workload: name,
      node: name,
      containerID,
      pod: name,
      endpoint: name,
      serviceAccountName: name,
      ipNetworks: arrayOf(net),
      ipNATs: arrayOf(object({ internalIP: ip(), externalIP: ip() }, ['internalIP', 'externalIP'])),
      ipv4Gateway: ip(4),
      ipv6Gateway: ip(6),
      profiles: arrayOf(name),
      interfaceName,
      mac,
      ports: arrayOf(port),
      // An address or a prefix (validator_test.go "an ip or prefix in the source spoofing config").
      allowSpoofedSourcePrefixes: arrayOf(cidr({ masked: false, bareIP: true })),
    },
    // `validate:"interface"` has no omitempty: every endpoint names its host interface.
    ['interfaceName'],
  ),
  // libcalico-go/lib/validator/v3/validator.go validateWorkloadEndpointSpec and
  // validateWorkloadEndpointPort, and the name check of clientv3/workloadendpoint.go
  // assignOrValidateName.
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
    for (const [i, p] of ((spec.ports as { name?: string; hostPort?: number }[]) ?? []).entries()) {
      if (!p.name && !p.hostPort) throw new ValidationError(`spec.ports[${i}].name`, 'WorkloadEndpointPort name must not be empty if no HostPort is specified');
    }
    const expected = workloadEndpointName(spec);
    if (name !== expected) {
      throw new ValidationError('metadata.name', `the WorkloadEndpoint name does not match the primary identifiers assigned in the Spec: expected name ${expected}`);
    }
  },
};
