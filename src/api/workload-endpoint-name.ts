// Calico's WorkloadEndpoint names (libcalico-go/lib/names/workloadendpoint.go):
// k8s `<node>-k8s-<pod>-<endpoint>`, cni `<node>-cni-<containerID>-<endpoint>`,
// libnetwork `<node>-libnetwork-libnetwork-<endpoint>`, other `<node>-<orch>-<workload>-<endpoint>`;
// a dash inside a segment is doubled, and a segment may not begin or end with one.
import { ValidationError } from '../errors.js';

export interface WorkloadEndpointIds {
  node?: string;
  orchestrator?: string;
  workload?: string;
  pod?: string;
  containerID?: string;
  endpoint?: string;
}

function segments(ids: WorkloadEndpointIds): [field: string, value: string | undefined][] {
  const node: [string, string | undefined] = ['node', ids.node];
  const orch: [string, string | undefined] = ['orchestrator', ids.orchestrator];
  const endpoint: [string, string | undefined] = ['endpoint', ids.endpoint];
  switch (ids.orchestrator) {
    case 'k8s':
      return [node, orch, ['pod', ids.pod], endpoint];
    case 'cni':
      return [node, orch, ['containerID', ids.containerID], endpoint];
    case 'libnetwork':
      return [node, orch, orch, endpoint];
    default:
      return [node, orch, ['workload', ids.workload], endpoint];
  }
}

/** The name Calico expects for these identifiers; throws a ValidationError naming the bad field. */
export function workloadEndpointName(ids: WorkloadEndpointIds): string {
  if (!ids.node) throw new ValidationError('spec.node', 'field should be assigned');
  return segments(ids)
    .map(([field, value]) => {
      if (!value) throw new ValidationError(`spec.${field}`, 'field should be assigned');
      if (value.startsWith('-')) throw new ValidationError(`spec.${field}`, "field must not begin with a '-'");
      if (value.endsWith('-')) throw new ValidationError(`spec.${field}`, "field must not end with a '-'");
      return value.replaceAll('-', '--');
    })
    .join('-');
}
