// BGPFilter as Calico's open-source API (api/pkg/apis/projectcalico/v3/bgpfilter.go: validate
// tags, kubebuilder markers and CEL rules) and validator.go decide.
import { ValidationError } from '../../errors.js';
import { arrayOf, asn, cidr, int, matching, object, oneOf, type Check } from '../schema.js';
import type { KindDef } from './kind.js';

const fail = (path: string, reason: string): never => {
  throw new ValidationError(path, reason);
};

/** validator.go bgpFilterInterfaceRegex, or "*". */
const filterInterface = matching(/^([a-zA-Z0-9_.*-]{1,15}|\*)$/, 'an interface name or glob (1-15 of a-z A-Z 0-9 _ . * -)');

/** BGPCommunityValue's pattern: aa:nn with 16-bit parts or aa:nn:mm with 32-bit parts, at most 32 characters. */
const community: Check<string> = (v, p) => {
  const text = matching(/^\d{1,10}:\d{1,10}(:\d{1,10})?$/, 'a community (aa:nn or aa:nn:mm)')(v, p);
  const parts = text.split(':').map(Number);
  const max = parts.length === 2 ? 65535 : 4294967295;
  return parts.every((x) => x <= max) ? text : fail(p, `${JSON.stringify(text)} has a part above ${max}`);
};

const priority = int(1, 2147483646);
const asPath = (min: number, max: number): Check<number[]> => {
  const list = arrayOf(asn);
  const check: Check<number[]> = (v, p) => {
    const out = list(v, p);
    if (out.length < min || out.length > max) fail(p, `must have ${min} to ${max} AS numbers, got ${out.length}`);
    return out;
  };
  check.items = list.items;
  return check;
};

/** BGPFilterOperation: a union where exactly one member is set (CEL and min/maxProperties). */
const operation = object({
  addCommunity: object({ value: community }, ['value']),
  prependASPath: object({ prefix: asPath(1, 10) }, ['prefix']),
  setPriority: object({ value: priority }, ['value']),
});

function rules(family: 4 | 6) {
  const max = family === 4 ? 32 : 128;
  const operations = arrayOf(operation);
  const ops: Check = (v, p) => {
    const out = operations(v, p);
    if (out.length < 1 || out.length > 10) fail(p, `must have 1 to 10 operations, got ${out.length}`);
    out.forEach((op, i) => {
      if (Object.keys(op).length !== 1) fail(`${p}[${i}]`, `exactly one operation must be set (addCommunity, prependASPath or setPriority), got ${Object.keys(op).length}`);
    });
    return out;
  };
  ops.items = operation;
  return arrayOf(
    object(
      {
        cidr: cidr({ family, masked: true }),
        prefixLength: object({ min: int(0, max), max: int(0, max) }),
        source: oneOf('RemotePeers'),
        interface: filterInterface,
        matchOperator: oneOf('Equal', 'NotEqual', 'In', 'NotIn'),
        peerType: oneOf('eBGP', 'iBGP'),
        communities: object({ values: arrayOf(community) }, ['values']),
        asPathPrefix: arrayOf(asn),
        priority,
        action: oneOf('Accept', 'Reject'),
        operations: ops,
      },
      ['action'],
    ),
  );
}

const LISTS = ['exportV4', 'importV4', 'exportV6', 'importV6'] as const;

export const bgpFilter: KindDef = {
  kind: 'BGPFilter',
  aliases: ['bgpfilter', 'bgpfilters'],
  spec: object({ exportV4: rules(4), importV4: rules(4), exportV6: rules(6), importV6: rules(6) }),
  rules(spec) {
    for (const list of LISTS) {
      ((spec[list] ?? []) as Record<string, unknown>[]).forEach((rule, i) => {
        const path = `spec.${list}[${i}]`;
        // The rule's CEL rules, in bgpfilter.go's order.
        if ((rule.cidr === undefined) !== (rule.matchOperator === undefined)) fail(path, 'cidr and matchOperator must both be set or both be empty');
        if (rule.prefixLength !== undefined && rule.cidr === undefined) fail(`${path}.prefixLength`, 'cidr is required when prefixLength is set');
        if (rule.operations !== undefined && rule.action !== 'Accept') fail(`${path}.operations`, 'operations may only be used with action Accept');
        if (list.startsWith('import') && rule.source !== undefined) fail(`${path}.source`, 'source is not applicable to import rules');
        const values = (rule.communities as { values: string[] } | undefined)?.values;
        if (values !== undefined && values.length !== 1) fail(`${path}.communities.values`, `must hold exactly one community, got ${values.length}`);
      });
    }
  },
};
