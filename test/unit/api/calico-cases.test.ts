// Calico's own selector and validator cases for the six kinds, each row citing its source in
// projectcalico/calico, decided by Tabby's parser and validator as Calico decides them.
// Struct-level cases (a BGPPeerSpec, a BGPFilterRuleV4…) are wrapped in a resource, as the
// struct would be inside one. Rows Calico accepts but Tabby refuses at write time are marked
// `refused` (src/api/refusals.ts): they still validate, then the write names the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refusalsOf } from '../../../src/api/refusals.js';
import { parseSelector, type Labels } from '../../../src/api/selector.js';
import { validateResource } from '../../../src/api/validate.js';
import { workloadEndpointName } from '../../../src/api/workload-endpoint-name.js';
import { SelectorParseError } from '../../../src/errors.js';

const PARSER = 'libcalico-go/lib/selector/parser/parser_test.go';
const TOKENIZER = 'libcalico-go/lib/selector/tokenizer/tokenizer_test.go';
const VALIDATOR = 'libcalico-go/lib/validator/v3/validator_test.go';
const CRD = 'libcalico-go/lib/validator/v3/crd_validation_test.go';

// ---- selectors ----

// parser_test.go selectorTests: {selector, expMatches, expNonMatches}.
const SELECTOR_TESTS: [string, Labels[], Labels[]][] = [
  [`a == "b"`, [{ a: 'b' }, { a: 'b', c: 'd' }], [{}, { a: 'c' }, { c: 'd' }]],
  [`a == "b" && c == "d"`, [{ a: 'b', c: 'd' }], [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }]],
  [`a == "b" || c == "d"`, [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }], [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }]],
  [`a in {"'", '"', "c"}`, [{ a: 'c' }, { a: '"' }, { a: "'" }], [{}, { a: 'e' }]],
  [`a not in {"'", '"', "c"}`, [{}, { a: 'e' }], [{ a: 'c' }, { a: '"' }, { a: "'" }]],
  [`a == 'a'`, [{ a: 'a' }], []],
  [`a == "a"`, [{ a: 'a' }], []],
  [`a != "b"`, [{ a: 'a' }], []],
  [`a != "a"`, [{}], []],
  [`a contains "a"`, [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { b: 'aaa' }]],
  [`a starts with "a"`, [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }]],
  [`a ends with "a"`, [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }]],
  [`a in {"a"}`, [{ a: 'a' }], []],
  [`!a in {"a"}`, [{ a: 'b' }], []],
  [`a in {"a", "b"}`, [{ a: 'a' }], []],
  [`a in {"a", "b"}`, [{ a: 'b' }], []],
  [`a not in {"d", "e"}`, [{ a: 'a' }], []],
  [`has(a)`, [{ a: 'b' }], []],
  [`!has(a)`, [{ b: 'b' }], []],
  [``, [{}], []],
  [` `, [{}], []],
  [``, [{ a: 'b' }], []],
  [`all()`, [{}], []],
  [` all()`, [{}], []],
  [` all()`, [{ a: 'b' }], []],
  [`global()`, [{}], []],
  [` global()`, [{}], []],
  [` global()`, [{ a: 'b' }], []],
  [`a == 'a'`, [], [{ a: 'b' }]],
  [`a == 'a'`, [], [{}]],
  [`a != "a"`, [], [{ a: 'a' }]],
  [`a != 'a'`, [], [{ a: 'a' }]],
  [`a in {"a"}`, [], [{ a: 'b' }]],
  [`a not in {"a"}`, [], [{ a: 'a' }]],
  [`a in {"a", "b"}`, [], [{ a: 'c' }]],
  [`has(b)`, [], [{ a: 'b' }]],
  [`!!has(b)`, [], [{ a: 'b' }]],
  [`! has(a)`, [], [{ a: 'b' }]],
  [`!has(a)`, [], [{ a: 'b' }]],
  [`!!! has(a)`, [], [{ a: 'b' }]],
  [`!!!has(a)`, [], [{ a: 'b' }]],
  [`!! ! has(a)`, [], [{ a: 'b' }]],
  [`! !!has(a)`, [], [{ a: 'b' }]],
  [`a == 'a1' && b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && !b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`!a == 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`has(a) && !has(b)`, [{ a: 'a' }], []],
  [`!has(b) && has(a)`, [{ a: 'a' }], []],
  [`!(!has(a) || has(b))`, [{ a: 'a' }], []],
  [`!(has(b) || !has(a))`, [{ a: 'a' }], []],
  [`a == 'a1' || b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' || b != 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`! a == 'a1' || ! b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
];

// parser_test.go badSelectors.
const BAD_SELECTORS = [
  'b == b', 'b contains b', 'b starts with b', 'b ends with b', "'b1' == b", 'b', 'a b', '!', `foo == "bar" &`, `foo == "bar" |`,
  'foo != ||', `foo in {"", ||`, `foo in ""`, `"FOO`, `"FOO'`, `"FOO`, `'FOO`, '(', `(a == "foo"`, ')', '()', '%', `a == "b" && %`,
  `a == "b" || %`, 'a ', 'has(foo) &&',
];

// parser_test.go canonicalisationTests: input, canonical form.
const CANONICAL: [string, string][] = [
  ['', 'all()'],
  [' all() ', 'all()'],
  [' (all() )', 'all()'],
  ['! (has( b)||! has(a ))', '!(has(b) || !has(a))'],
  [`! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`],
  [`a == "'"`, `a == "'"`],
  [`a == '"'`, `a == '"'`],
  [`a contains '"'`, `a contains '"'`],
  [`a contains "'"`, `a contains "'"`],
  [`a startswith '"'`, `a starts with '"'`],
  [`a endswith "'"`, `a ends with "'"`],
  [`a!='"'`, `a != '"'`],
  [`a in {"d"}`, `a in {"d"}`],
  [`a in {"a", "b"}`, `a in {"a", "b"}`],
  [`a in {"d", "a", "b"}`, `a in {"a", "b", "d"}`],
  [`a in {"z", "x", "y", "a"}`, `a in {"a", "x", "y", "z"}`],
  [`a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`],
];

// parser_test.go "Visitor tests": the output with the PrefixVisitor's "visited/" removed is
// Calico's canonical form of the input.
const VISITOR: [string, string, string][] = [
  ['should visit a LabelEqValueNode', "k == 'v'", 'k == "v"'],
  ['should visit a LabelNeValueNode', "k != 'v'", 'k != "v"'],
  ['should visit a LabelContainsValueNode', "k contains 'v'", 'k contains "v"'],
  ['should visit a LabelStartWithValueNode', "k starts with 'v'", 'k starts with "v"'],
  ['should visit a LabelEndsWithValueNode', "k ends with 'v'", 'k ends with "v"'],
  ['should visit an AndNode', "k == 'v' && x == 'y'", '(k == "v" && x == "y")'],
  ['should visit an OrNode', "k == 'v' || has(x)", '(k == "v" || has(x))'],
  ['should visit a NotNode', "!(k == 'v')", '!k == "v"'],
  ['should visit a LabelInSetNode', "k in {'v'}", 'k in {"v"}'],
  ['should visit a LabelNotInSetNode', "k not in {'v'}", 'k not in {"v"}'],
  ['should visit a big complex selector', "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))", '!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})'],
];

// tokenizer_test.go tokenTests: inputs that tokenize, and that (with the set literal the
// parser needs after `in`) also parse; `nil` expectations are tokenizer errors.
const TOKENIZES = [
  'a=="b"', 'label == "value"', 'label contains "value"', 'contains contains "contains"', "contains contains 'contains'", 'label contains"value"',
  'label startswith "value"', 'label endswith "value"', 'label starts with "value"', 'startswith starts with "value"', 'label ends with "value"',
  'endswith ends with "value"', 'label starts  with "value"', 'label ends  with "value"', 'has(calico/k8s_ns)', 'has(calico/k8s_ns/role)',
  'has(calico/k8s_NS-.1/role)', 'calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"', 'a not in {}', 'a not in {"a"}', 'a not in {"a","B"}',
  'global()', 'all()',
];
const TOKEN_ERRORS = ['label starts foo "value"', 'label ends foo "value"', 'label squiggles "value"'];
// These tokenize, but the parser needs a {set} after `in` / `not in` (parser.go ErrExpectedSetLit).
const TOKENIZE_NOT_PARSE = ['a not in "bar" && !has(foo) || b in c', 'a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c ', 'a notin"bar"&&!has(foo)||b in"c"'];

const parses = (s: string) => {
  try {
    parseSelector(s);
    return true;
  } catch (err) {
    assert.ok(err instanceof SelectorParseError, String(err));
    return false;
  }
};

describe('Calico selector cases', () => {
  SELECTOR_TESTS.forEach(([sel, yes, no], i) => {
    test(`${PARSER} selectorTests[${i}] ${JSON.stringify(sel)}`, () => {
      const s = parseSelector(sel);
      // "should match (not match) after canonicalising" too.
      for (const x of [s, parseSelector(s.toString())]) {
        for (const l of yes) assert.equal(x.matches(l), true, `${JSON.stringify(l)} matches`);
        for (const l of no) assert.equal(x.matches(l), false, `${JSON.stringify(l)} does not match`);
      }
    });
  });
  test(`${PARSER} badSelectors (${BAD_SELECTORS.length})`, () => {
    for (const s of BAD_SELECTORS) assert.equal(parses(s), false, JSON.stringify(s));
  });
  CANONICAL.forEach(([input, want], i) => {
    test(`${PARSER} canonicalisationTests[${i}] ${JSON.stringify(input)}`, () => {
      const canon = parseSelector(input).toString();
      assert.equal(canon, want);
      assert.equal(parseSelector(canon).toString(), canon, 'round trip');
    });
  });
  for (const [name, input, want] of VISITOR) {
    test(`${PARSER} Visitor ${JSON.stringify(name)}`, () => assert.equal(parseSelector(input).toString(), want));
  }
  test(`${TOKENIZER} tokenTests`, () => {
    for (const s of TOKENIZES) assert.equal(parses(s), true, JSON.stringify(s));
    for (const s of [...TOKEN_ERRORS, ...TOKENIZE_NOT_PARSE]) assert.equal(parses(s), false, JSON.stringify(s));
  });
});

// ---- validator: the six kinds ----

interface Row {
  source: string;
  valid: boolean;
  resource: Record<string, unknown>;
  /** Calico accepts it; Tabby validates it, then refuses the field when writing. */
  refused?: boolean;
}

const resource = (kind: string, name: string, spec: unknown, meta: Record<string, unknown> = {}, status?: unknown) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...meta },
  spec,
  ...(status === undefined ? {} : { status }),
});
const entry = (desc: string) => `${VALIDATOR} Entry(${JSON.stringify(desc)})`;
const row = (desc: string, valid: boolean, r: Record<string, unknown>, refused = false): Row => ({ source: entry(desc), valid, resource: r, refused });
const conf = (spec: unknown) => resource('BGPConfiguration', 'default', spec);
const pool = (spec: unknown, meta?: Record<string, unknown>) => resource('IPPool', 'pool.name', spec, meta);
const peerSpec = (spec: unknown) => resource('BGPPeer', 'test-peer', spec);
const nodeSpec = (spec: unknown, status?: unknown) => resource('Node', 'test-node', spec, {}, status);
const ruleV4 = (rule: unknown) => resource('BGPFilter', 'test-filter', { exportV4: [rule] });
const ruleV6 = (rule: unknown) => resource('BGPFilter', 'test-filter', { exportV6: [rule] });
const secret = { secretKeyRef: { name: 'test-secret', key: 'bgp-password' } };
const x = (n: number) => 'x'.repeat(n);
const netv4_3 = '1.2.3.0/26';
const netv4_4 = '1.0.0.0/10';
const netv6_1 = 'aabb:aabb::ffff/128';
/**
 * A WorkloadEndpointSpec case inside a resource: k8s identifiers around it and the name they
 * give (a pod's name, so a containerID case stays a spec case and never reaches the name).
 */
const wep = (spec: Record<string, unknown>) => {
  const full = { node: 'node1', orchestrator: 'k8s', pod: 'pod1', endpoint: 'eth0', ...spec };
  let name = 'node1-k8s-invalid-eth0';
  try {
    name = workloadEndpointName(full as Record<string, string>);
  } catch {
    // An identifier Calico rejects: the row expects a rejection anyway.
  }
  return resource('WorkloadEndpoint', name, full);
};
const wepPort = (port: Record<string, unknown>) => wep({ interfaceName: 'eth0', ports: [port] });

const VALIDATOR_ROWS: Row[] = [
  // (API) BGPConfiguration
  row('should accept a valid BGP logging level: Info', true, conf({ logSeverityScreen: 'Info' })),
  // Older validator_test.go rejected lower/upper case; the CRD's pattern is case-insensitive
  // (api/config/crd/projectcalico.org_bgpconfigurations.yaml `^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$`).
  { source: 'projectcalico.org_bgpconfigurations.yaml logSeverityScreen pattern (?i): info', valid: true, resource: conf({ logSeverityScreen: 'info' }) },
  { source: 'projectcalico.org_bgpconfigurations.yaml logSeverityScreen pattern (?i): INFO', valid: true, resource: conf({ logSeverityScreen: 'INFO' }) },
  row('should reject an invalid BGP logging level: invalidLvl', false, conf({ logSeverityScreen: 'invalidLvl' })),
  row('should reject invalid BGP clusterIPs: x.x.x.x', false, conf({ serviceClusterIPs: [{ cidr: 'x.x.x.x' }] })),
  row('should reject invalid BGP externalIPs: x.x.x.x', false, conf({ serviceExternalIPs: [{ cidr: 'y.y.y.y' }] })),
  row('should accept a node mesh BGP password if node to node mesh is enabled', true, conf({ nodeToNodeMeshEnabled: true, nodeMeshPassword: secret })),
  row('should reject a node mesh BGP password if node to node mesh is disabled', false, conf({ nodeToNodeMeshEnabled: false, nodeMeshPassword: secret })),
  row('should accept a node mesh max restart time if node to node mesh is enabled', true, conf({ nodeToNodeMeshEnabled: true, nodeMeshMaxRestartTime: '3m20s' })),
  row('should reject a node mesh max restart time if node to node mesh is disabled', false, conf({ nodeToNodeMeshEnabled: false, nodeMeshMaxRestartTime: '3m20s' })),
  row('should accept valid interface names', true, conf({ ignoredInterfaces: ['valid_iface*', 'interface_name'] }), true),
  row('should reject invalid interface name', false, conf({ ignoredInterfaces: ['*'] })),
  row('should not accept community when PrefixAdvertisement is empty', false, conf({ communities: [{ name: 'community-test', value: '101:5695' }] })),
  row('should not accept communities with value and without name', false, conf({ communities: [{ value: '536:785' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should not accept communities with name and without value', false, conf({ communities: [{ name: 'community-test' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should accept communities with name and standard BGP community value', true, conf({ communities: [{ name: 'community-test', value: '100:520' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should accept communities with name and large BGP community value', true, conf({ communities: [{ name: 'community-test', value: '100:520:56' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should not accept communities with name and invalid community value/format', false, conf({ communities: [{ name: 'community-test', value: '100' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should not accept communities with name and invalid community value/format (ab-n)', false, conf({ communities: [{ name: 'community-test', value: 'ab-n' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should not accept communities with name and invalid standard community value(> 16 bit)', false, conf({ communities: [{ name: 'community-test', value: '65536:999999' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should not accept communities with name and invalid large community value(> 32 bit)', false, conf({ communities: [{ name: 'community-test', value: '4147483647:999999' }], prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:100'] }] })),
  row('should not accept communities without CIDR in PrefixAdvertisement', false, conf({ prefixAdvertisements: [{ communities: ['100:5964'] }] })),
  row('should not accept CIDR without communities in PrefixAdvertisement', false, conf({ prefixAdvertisements: [{ cidr: '192.168.10.0/28' }] })),
  row('should accept IPv4 CIDR in PrefixAdvertisement', true, conf({ prefixAdvertisements: [{ cidr: '192.168.10.0/28', communities: ['100:5964:50'] }] })),
  row('should accept IPv6 CIDR in PrefixAdvertisement', true, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964:50'] }] })),
  row('should accept standard BGP community value in PrefixAdvertisement', true, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964', '200:594'] }] })),
  row('should accept large BGP community value in PrefixAdvertisement', true, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964:1147483647'] }] })),
  row('should not accept invalid standard community value(> 16 bit) in PrefixAdvertisement', false, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:1147483647'] }] })),
  row('should not accept invalid large community value(> 32 bit) in PrefixAdvertisement', false, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:100:5147483647'] }] })),
  row('should accept combination of large and standard BGP community value in PrefixAdvertisement', true, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['100:5964:1147483647', '100:5223'] }] })),
  row('should not accept community name that is not defined', false, conf({ prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['nonexistent-community'] }] })),
  row('should accept community name whose values are defined', true, conf({ communities: [{ name: 'community-test', value: '101:5695' }], prefixAdvertisements: [{ cidr: '2001:4860::/128', communities: ['community-test', '8988:202'] }] })),
  row('should accept IPv4 and IPv6 in LocalWorkloadPeeringIPV4 and LocalWorkloadPeeringIPV6', true, conf({ localWorkloadPeeringIPV4: '1.2.3.4', localWorkloadPeeringIPV6: 'aabb:aabb::ffff' }), true),
  row('should not accept an invalid IPv4 in LocalWorkloadPeeringIPV4', false, conf({ localWorkloadPeeringIPV4: '999.999.999.999' })),
  row('should not accept an invalid IPv6 in LocalWorkloadPeeringIPV6', false, conf({ localWorkloadPeeringIPV6: 'xyz:::' })),

  // (API) Labels and Annotations, on an IPPool's metadata.
  row('should accept valid labels in metadata', true, pool({ cidr: netv4_3 }, { labels: { 'projectcalico.org/label': x(63) } })),
  row('should reject an excessively long value in labels in metadata', false, pool({ cidr: netv4_3 }, { labels: { 'projectcalico.org/label': x(64) } })),
  row('should reject invalid labels in metadata (uppercase domain)', false, pool({ cidr: netv4_3 }, { labels: { 'ProjectCalico.org/label': 'value' } })),
  row('should accept valid labels in metadata (uppercase name)', true, pool({ cidr: netv4_3 }, { labels: { 'projectcalico.org/Label': 'value' } })),
  row('should reject invalid annotations in metadata', false, pool({ cidr: netv4_3 }, { annotations: { 'projectcalico.org$label': 'value' } })),
  row('should accept valid annotations in metadata (uppercase domain and name)', true, pool({ cidr: netv4_3 }, { annotations: { 'ProjectCalico.org/Label': 'value' } })),
  row('should allow annotations in metadata <= 256k', true, pool({ cidr: netv4_3 }, { annotations: { key: x(256 * 1024 - 3) } })),
  row('should disallow annotations in metadata > 256k', false, pool({ cidr: netv4_3 }, { annotations: { key: x(256 * 1024 - 2) } })),
  { source: entry('should allow a name of 253 chars'), valid: true, resource: resource('IPPool', x(253), { cidr: netv4_3 }) },
  { source: entry('should disallow a name of 254 chars'), valid: false, resource: resource('IPPool', x(254), { cidr: netv4_3 }) },
  row('should allow a valid nodeSelector', true, pool({ cidr: netv4_3, nodeSelector: 'foo == "bar"' })),
  row('should disallow a invalid nodeSelector', false, pool({ cidr: netv4_3, nodeSelector: 'this is not valid selector syntax' })),

  // (API) IPPool
  row('should accept IP pool with IPv4 CIDR /26', true, pool({ cidr: netv4_3 })),
  row('should accept IP pool with IPv4 CIDR /10', true, pool({ cidr: netv4_4 })),
  row('should accept IP pool with IPv6 CIDR /122', true, pool({ cidr: 'aabb:aabb::0000/122', ipipMode: 'Never', vxlanMode: 'Never' })),
  row('should accept IP pool with IPv6 CIDR /10', true, pool({ cidr: 'aa00:0000::0000/10', ipipMode: 'Never', vxlanMode: 'Never' })),
  row('should accept a disabled IP pool with IPv4 CIDR /27', true, pool({ cidr: '1.2.3.0/27', disabled: true })),
  row('should accept a disabled IP pool with IPv6 CIDR /128', true, pool({ cidr: netv6_1, ipipMode: 'Never', vxlanMode: 'Never', disabled: true })),
  row('should reject IP pool with IPv4 CIDR /27', false, pool({ cidr: '1.2.3.0/27' })),
  row('should reject IP pool with IPv6 CIDR /128', false, pool({ cidr: netv6_1 })),
  row('should reject IP pool with IPv4 CIDR /33', false, pool({ cidr: '1.2.3.4/33' })),
  row('should reject IP pool with IPv6 CIDR /129', false, pool({ cidr: 'aa:bb::/129' })),
  row("should reject IPIPMode 'Always' for IPv6 pool", false, pool({ cidr: netv6_1, ipipMode: 'Always', vxlanMode: 'Never' })),
  row("should reject VXLANMode 'Always' for IPv6 pool", false, pool({ cidr: netv6_1, vxlanMode: 'Always', ipipMode: 'Never' })),
  row('should reject IPv4 pool with a CIDR range overlapping with Link Local range', false, pool({ cidr: '169.254.5.0/24' })),
  row('should reject IPv6 pool with a CIDR range overlapping with Link Local range', false, pool({ cidr: 'fe80::/120' })),
  row('should accept IP pool with valid allowed uses', true, pool({ cidr: netv4_4, allowedUses: ['Workload', 'Tunnel'] })),
  row('should reject IP pool with invalid allowed uses combination', false, pool({ cidr: netv4_4, allowedUses: ['LoadBalancer', 'Tunnel'] })),
  row('should reject IP pool with invalid allowed uses', false, pool({ cidr: netv4_4, allowedUses: ['Garbage'] })),
  row('should accept IP pool with valid AssignmentMode', true, pool({ cidr: netv4_4, assignmentMode: 'Automatic' })),
  row('should reject IP pool with invalid assignment mode', false, pool({ cidr: netv4_4, assignmentMode: '' })),
  row('should reject IP pool with LoadBlancer and disableBGPExport true', false, pool({ cidr: netv4_4, allowedUses: ['LoadBalancer'], disableBGPExport: true })),
  row('should reject IP pool with LoadBlancer and VXLAN mode enabled', false, pool({ cidr: netv4_4, allowedUses: ['LoadBalancer'], vxlanMode: 'Always' })),
  row('should reject IP pool with LoadBlancer and IPIP mode enabled', false, pool({ cidr: netv4_4, allowedUses: ['LoadBalancer'], ipipMode: 'Always' })),
  row('should reject IP pool with LoadBlancer and nodeSelector other than all()', false, pool({ cidr: netv4_4, allowedUses: ['LoadBalancer'], nodeSelector: '!all()' })),
  row('should reject IP pool with Tunnel allowedUse and namespaceSelector', false, pool({ cidr: netv4_4, allowedUses: ['Tunnel'], namespaceSelector: 'region == "east"' })),
  row('should reject IP pool with Tunnel and Workload allowedUses and namespaceSelector', false, pool({ cidr: netv4_4, allowedUses: ['Workload', 'Tunnel'], namespaceSelector: 'region == "east"' })),
  row('should accept IP pool with Tunnel allowedUse and no namespaceSelector', true, pool({ cidr: netv4_4, allowedUses: ['Tunnel'] }), true),
  row('should reject IP pool with invalid nodeSelector (global)', false, pool({ cidr: netv4_4, nodeSelector: 'global()' })),
  row('should accept IP pool with valid nodeSelector', true, pool({ cidr: netv4_4, nodeSelector: 'region == "east"' })),
  row('should accept IP pool with complex nodeSelector', true, pool({ cidr: netv4_4, nodeSelector: 'region == "east" && environment == "production"' })),
  row('should accept IP pool with set-based nodeSelector', true, pool({ cidr: netv4_4, nodeSelector: 'region in {"east", "west"}' })),
  row('should accept IP pool with existence check nodeSelector', true, pool({ cidr: netv4_4, nodeSelector: 'has(team)' })),
  row('should accept IP pool with all() nodeSelector', true, pool({ cidr: netv4_4, nodeSelector: 'all()' })),
  row('should reject IP pool with invalid namespaceSelector (global)', false, pool({ cidr: netv4_4, namespaceSelector: 'global()' })),
  row('should accept IP pool with valid namespaceSelector', true, pool({ cidr: netv4_4, namespaceSelector: 'region == "east"' }), true),
  row('should accept IP pool with complex namespaceSelector', true, pool({ cidr: netv4_4, namespaceSelector: 'team == "backend" || team == "frontend"' }), true),
  row('should accept IP pool with substring namespaceSelector', true, pool({ cidr: netv4_4, namespaceSelector: 'environment contains "prod"' }), true),
  // (API) IPIPMode / VXLANMode, IPPoolSpec cases on a pool.
  row('should accept IPPool with no IPIP mode specified', true, pool({ cidr: '1.2.3.0/24' })),
  row('should accept IPIP mode Never (api)', true, pool({ cidr: '1.2.3.0/24', ipipMode: 'Never', vxlanMode: 'Never' })),
  row('should accept IPIP mode Never', true, pool({ cidr: '1.2.3.0/24', ipipMode: 'Never' })),
  row('should accept IPIP mode Always', true, pool({ cidr: '1.2.3.0/24', ipipMode: 'Always' })),
  row('should accept IPIP mode CrossSubnet', true, pool({ cidr: '1.2.3.0/24', ipipMode: 'CrossSubnet' })),
  row('should reject IPIP mode badVal', false, pool({ cidr: '1.2.3.0/24', ipipMode: 'badVal' })),
  row('should reject IPIP mode never (lower case)', false, pool({ cidr: '1.2.3.0/24', ipipMode: 'never' })),
  row('should reject IPIP mode and VXLAN mode', false, pool({ cidr: '1.2.3.0/24', ipipMode: 'Always', vxlanMode: 'Always' })),
  row('should accept VXLAN mode Always', true, pool({ cidr: '1.2.3.0/24', vxlanMode: 'Always' })),
  row('should accept VXLAN mode CrossSubnet', true, pool({ cidr: '1.2.3.0/24', vxlanMode: 'CrossSubnet' })),
  row('should accept VXLAN mode Never ', true, pool({ cidr: '1.2.3.0/24', vxlanMode: 'Never' })),
  row('should reject VXLAN mode never', false, pool({ cidr: '1.2.3.0/24', vxlanMode: 'never' })),
  row('should reject VXLAN mode badVal', false, pool({ cidr: '1.2.3.0/24', vxlanMode: 'badVal' })),
  row('should reject a non-nil IPIP field', false, pool({ cidr: '1.2.3.0/24', ipipMode: 'Never', ipip: { enabled: true, mode: 'always' } })),
  row('should accept NATOutgoingV1 field set to true (set to false)', true, pool({ cidr: '1.2.3.0/24', ipipMode: 'Never', 'nat-outgoing': false }), true),
  row('should reject NATOutgoingV1 field set to true', false, pool({ cidr: '1.2.3.0/24', ipipMode: 'Never', 'nat-outgoing': true })),

  // (API) BGPFilterSpec: rules wrapped in a BGPFilter.
  row('should reject invalid BGPFilter rule-v4 interface - 1', false, ruleV4({ interface: 'eth&', action: 'Reject' })),
  row('should reject invalid BGPFilter rule-v4 interface - 2', false, ruleV4({ interface: '%face', action: 'Reject' })),
  row('should reject invalid BGPFilter rule-v4 interface - 3', false, ruleV4({ interface: '"ace', action: 'Reject' })),
  row('should reject invalid BGPFilter rule-v6 interface - 1', false, ruleV6({ interface: '$cali', action: 'Reject' })),
  row('should reject invalid BGPFilter rule-v6 interface - 2', false, ruleV6({ interface: 'eth#', action: 'Reject' })),
  row('should reject invalid BGPFilter rule-v6 interface - 3', false, ruleV6({ interface: '"face', action: 'Reject' })),
  row('should accept valid BGPFilter rule-v4 interface - 1 ', true, ruleV4({ interface: 'ethx', source: 'RemotePeers', cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Accept' })),
  row('should accept valid BGPFilter rule-v4 interface - 2', true, ruleV4({ interface: '*.calico', cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Accept' })),
  row('should accept valid BGPFilter rule-v4 interface - 3', true, ruleV4({ interface: 'eth*', source: 'RemotePeers', action: 'Accept' })),
  row('should accept valid BGPFilter rule-v6 interface - 1', true, ruleV6({ interface: 'ethx', source: 'RemotePeers', cidr: 'ffee::/64', matchOperator: 'In', action: 'Accept' })),
  row('should accept valid BGPFilter rule-v6 interface - 2', true, ruleV6({ interface: '*.calico', cidr: 'ee2::dddd/128', matchOperator: 'In', action: 'Accept' })),
  row('should accept valid BGPFilter rule-v6 interface - 3', true, ruleV6({ interface: '*.calico', source: 'RemotePeers', action: 'Accept' })),
  row('should accept BGPFilter with only rule-v4 interface - 1 ', true, ruleV4({ interface: 'ethx', action: 'Accept' })),
  row('should accept BGPFilter with only rule-v4 interface - 2', true, ruleV4({ interface: 'eth*', action: 'Accept' })),
  row('should accept BGPFilter with only rule-v6 interface - 1', true, ruleV6({ interface: 'ethx.', action: 'Accept' })),
  row('should accept BGPFilter with only rule-v6 interface - 2', true, ruleV6({ interface: '*.calico', action: 'Accept' })),
  row('should reject invalid BGPFilter rule-v4 source', false, ruleV4({ source: 'xyz', action: 'Reject' })),
  row('should reject invalid BGPFilter rule-v6 source', false, ruleV6({ source: 'xyz', action: 'Reject' })),
  row('should accept valid BGPFilter rule-v4 source', true, ruleV4({ source: 'RemotePeers', cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Reject' })),
  row('should accept valid BGPFilter rule-v6 source', true, ruleV6({ source: 'RemotePeers', cidr: 'ffee::/64', matchOperator: 'In', action: 'Reject' })),
  row('should accept BGPFilter rule with only source set - 1', true, ruleV4({ source: 'RemotePeers', action: 'Reject' })),
  row('should accept BGPFilter rule with only source set - 2', true, ruleV6({ source: 'RemotePeers', action: 'Reject' })),
  row('should accept BGPFilter rule with valid IPv4 CIDR', true, ruleV4({ cidr: '192.168.0.0/26', matchOperator: 'In', action: 'Accept' })),
  row('should accept BGPFilter rule with valid IPv6 CIDR', true, ruleV6({ cidr: 'ffee::/64', matchOperator: 'In', action: 'Accept' })),
  row('should reject BGPFilter rule with invalid IPv4 CIDR - 1 ', false, ruleV4({ cidr: 'x.x.x.x/26', matchOperator: 'In', action: 'Accept' })),
  row('should reject BGPFilter rule with invalid IPv4 CIDR - 2', false, ruleV4({ cidr: 'ffee::/64', matchOperator: 'In', action: 'Accept' })),
  row('should reject BGPFilter rule with invalid IPv6 CIDR - 1', false, ruleV6({ cidr: 'xxxx::/64', matchOperator: 'In', action: 'Accept' })),
  row('should reject BGPFilter rule with invalid IPv6 CIDR - 2', false, ruleV6({ cidr: '10.0.10.0/32', matchOperator: 'In', action: 'Accept' })),
  row('should reject BGPFilter rule with invalid operator - 1', false, ruleV4({ cidr: '10.0.10.0/32', matchOperator: 'fancyOperator', action: 'Accept' })),
  row('should reject BGPFilter rule with invalid operator - 2', false, ruleV6({ cidr: 'ffff::/128', matchOperator: 'fancyOperator', action: 'Accept' })),
  ...(['In', 'NotIn', 'Equal', 'NotEqual'] as const).flatMap((op) => [
    row(`should accept BGPFilter rule with ${op} operator - 1`, true, ruleV4({ cidr: '10.0.10.0/32', matchOperator: op, action: 'Accept' })),
    row(`should accept BGPFilter rule with ${op} operator - 2`, true, ruleV6({ cidr: 'ffff::/128', matchOperator: op, action: 'Accept' })),
  ]),
  row('should reject BGPFilter rule with no CIDR when MatchOperator is set - 1', false, ruleV4({ matchOperator: 'NotEqual', action: 'Reject' })),
  row('should reject BGPFilter rule with no CIDR when MatchOperator is set - 2', false, ruleV6({ matchOperator: 'NotEqual', action: 'Reject' })),
  row('should reject BGPFilter rule with no MatchOperator when CIDR is set - 1', false, ruleV4({ cidr: '10.0.10.0/32', action: 'Reject' })),
  row('should reject BGPFilter rule with no MatchOperator when CIDR is set - 2', false, ruleV6({ cidr: 'ffff::/128', action: 'Reject' })),
  row('should reject BGPFilter rule with invalid Action - 1', false, ruleV4({ cidr: '10.0.10.0/32', matchOperator: 'NotEqual', action: 'ActionX' })),
  row('should reject BGPFilter rule with invalid action - 2', false, ruleV6({ cidr: 'ffff::/128', matchOperator: 'NotEqual', action: 'ActionX' })),
  row('should accept BGPFilter rule with Accept action - 1', true, ruleV4({ cidr: '10.0.10.0/32', matchOperator: 'NotEqual', action: 'Accept' })),
  row('should accept BGPFilter rule with Accept action - 2', true, ruleV6({ cidr: 'ffff::/128', matchOperator: 'NotEqual', action: 'Accept' })),
  row('should accept BGPFilter rule with Reject action - 1', true, ruleV4({ cidr: '10.0.10.0/32', matchOperator: 'NotEqual', action: 'Reject' })),
  row('should accept BGPFilter rule with Reject action - 2', true, ruleV6({ cidr: 'ffff::/128', matchOperator: 'NotEqual', action: 'Reject' })),
  row('should reject BGPFilter rule with no action - 1', false, ruleV4({ matchOperator: 'NotEqual', cidr: '10.0.10.0/32' })),
  row('should reject BGPFilter rule with no action - 2', false, ruleV6({ matchOperator: 'NotEqual', cidr: 'ffff::/128' })),
  row('should accept BGPFilter rule with just an action - 1', true, ruleV4({ action: 'Reject' })),
  row('should accept BGPFilter rule with just an action - 2', true, ruleV6({ action: 'Reject' })),
  row('should accept BGPFilterV4 rule with PrefixLength Min set', true, ruleV4({ cidr: '10.0.10.0/24', matchOperator: 'In', action: 'Reject', prefixLength: { min: 25 } })),
  row('should accept BGPFilterV4 rule with PrefixLength Max set', true, ruleV4({ cidr: '10.0.10.0/24', matchOperator: 'In', action: 'Reject', prefixLength: { max: 30 } })),
  row('should reject BGPFilterV4 rule with PrefixLength Max is out-of-bounds', false, ruleV4({ cidr: '10.0.10.0/24', matchOperator: 'In', action: 'Reject', prefixLength: { max: 64 } })),
  row('should reject BGPFilterV4 rule with PrefixLength populated and CIDR missing', false, ruleV4({ interface: 'ethx.', action: 'Reject', prefixLength: { min: 16 } })),
  row('should accept BGPFilterV6 rule with PrefixLength Min set', true, ruleV6({ cidr: 'ffff::/128', matchOperator: 'In', action: 'Reject', prefixLength: { min: 65 } })),
  row('should accept BGPFilterV6 rule with PrefixLength Max set', true, ruleV6({ cidr: 'ffff::/128', matchOperator: 'In', action: 'Reject', prefixLength: { max: 96 } })),
  row('should reject BGPFilterV6 rule with PrefixLength Min is negative', false, ruleV6({ cidr: 'ffff::/128', matchOperator: 'In', action: 'Reject', prefixLength: { min: -16 } })),
  row('should reject BGPFilterV6 rule with PrefixLength populated and CIDR missing', false, ruleV6({ interface: '*.calico', action: 'Reject', prefixLength: { min: 120 } })),
  row('should accept BGPFilterOperation with AddCommunity set', true, ruleV4({ action: 'Accept', operations: [{ addCommunity: { value: '65000:100' } }] }), true),
  row('should accept BGPFilterOperation with PrependASPath set', true, ruleV4({ action: 'Accept', operations: [{ prependASPath: { prefix: [65000] } }] }), true),
  row('should accept BGPFilterOperation with SetPriority set', true, ruleV4({ action: 'Accept', operations: [{ setPriority: { value: 256 } }] }), true),
  row('should reject BGPFilterOperation with no fields set', false, ruleV4({ action: 'Accept', operations: [{}] })),
  row('should reject BGPFilterOperation with two fields set', false, ruleV4({ action: 'Accept', operations: [{ addCommunity: { value: '65000:100' }, setPriority: { value: 256 } }] })),
  row('should reject BGPFilterOperation with all fields set', false, ruleV4({ action: 'Accept', operations: [{ addCommunity: { value: '65000:100' }, prependASPath: { prefix: [65000] }, setPriority: { value: 256 } }] })),
  row('should accept BGPFilterRuleV4 with multiple operations', true, ruleV4({ action: 'Accept', operations: [{ addCommunity: { value: '65000:100' } }, { prependASPath: { prefix: [65000] } }] }), true),

  // (API) BGPPeerSpec, wrapped in a BGPPeer.
  row('should accept valid BGPPeerSpec', true, peerSpec({ peerIP: '1.2.3.4' })),
  row('should reject invalid BGPPeerSpec (IPv4)', false, peerSpec({ peerIP: '999.999.999.999' })),
  row('should reject invalid BGPPeerSpec (IPv6)', false, peerSpec({ peerIP: 'xyz:::' })),
  row('should reject BGPPeerSpec with both Node and NodeSelector', false, peerSpec({ node: 'my-node', nodeSelector: 'has(mylabel)' })),
  row('should reject BGPPeerSpec with both PeerIP and PeerSelector', false, peerSpec({ peerIP: '1.2.3.4', peerSelector: 'has(mylabel)' })),
  row('should reject BGPPeerSpec with both ASNumber and PeerSelector', false, peerSpec({ asNumber: 61234, peerSelector: 'has(mylabel)' })),
  row('should accept BGPPeerSpec with NodeSelector and PeerSelector', true, peerSpec({ nodeSelector: 'has(mylabel)', peerSelector: 'has(mylabel)' })),
  row('should reject BGPPeerSpec with LocalWorkloadSelector and empty ASNumber', false, peerSpec({ localWorkloadSelector: 'has(labelone)' })),
  row('should reject BGPPeerSpec with both LocalWorkloadSelector and PeerSelector', false, peerSpec({ localWorkloadSelector: 'has(labelone)', peerSelector: 'has(labeltwo)', asNumber: 61234 })),
  row('should reject BGPPeerSpec with both LocalWorkloadSelector and PeerIP', false, peerSpec({ localWorkloadSelector: 'has(labelone)', peerIP: '1.2.3.4', asNumber: 61234 })),
  row('should reject BGPPeer with ReachableBy but without PeerIP', false, peerSpec({ reachableBy: '100.200.0.0' })),
  row('should reject BGPPeer with ReachableBy (IPv6) but without PeerIP', false, peerSpec({ reachableBy: 'aabb::abcd' })),
  row('should accept BGPPeer with ReachableBy and PeerIP', true, peerSpec({ peerIP: '9.9.9.9:4444', reachableBy: '1.2.3.4' }), true),
  row('should accept BGPPeer with ReachableBy (IPv6) and PeerIP (IPv6)', true, peerSpec({ peerIP: '[aabb::ffff]:4444', reachableBy: 'aabb:aabb::ffff' }), true),
  row('should reject BGPPeer with invalid ReachableBy', false, peerSpec({ peerIP: '9.9.9.9:4444', reachableBy: '999.999.999.999' })),
  row('should reject BGPPeer with invalid ReachableBy (IPv6)', false, peerSpec({ peerIP: '[aabb::ffff]:4444', reachableBy: 'xyz:::' })),
  row('should reject BGPPeer with mismatched family address of ReachableBy and PeerIP', false, peerSpec({ peerIP: '1.2.3.4', reachableBy: 'aabb:aabb::ffff' })),
  row('should reject BGPPeer with mismatched family address of ReachableBy and PeerIP:Port', false, peerSpec({ peerIP: '9.9.9.9:4444', reachableBy: 'aabb:aabb::ffff' })),
  row('should reject BGPPeer with mismatched family address of ReachableBy and PeerIP (IPv6)', false, peerSpec({ peerIP: 'aabb:aabb::ffff', reachableBy: '1.2.3.4' })),
  row('should reject BGPPeer with mismatched family address of ReachableBy and PeerIP:Port (IPv6)', false, peerSpec({ peerIP: '[aabb::ffff]:4444', reachableBy: '1.2.3.4' })),
  row('should accept BGPPeerSpec with Password', true, peerSpec({ peerIP: '1.2.3.4', password: { secretKeyRef: { name: 'tigera-bgp-passwords', key: 'my-peering' } } })),
  row('should reject invalid BGPPeerSpec (selector)', false, peerSpec({ nodeSelector: "kubernetes.io/hostname: == 'casey-crc-kadm-node-4'" })),
  row('should accept BGPPeerSpec with port in PeerIP (IPv4)', true, peerSpec({ peerIP: '192.168.1.1:500' })),
  row('should accept BGPPeerSpec with port in PeerIP (IPv6)', true, peerSpec({ peerIP: '[9000::]:500' })),
  ...['[192.168.0.0]:98956', '192.168.0.0:65536', '192.168.0.0:0', '192.168.0.330:170', '[9000::]:98956', '192.168.0.0:', '[9000::]:', '[9000::]:65536', '[9000::]:0', '[9000::FFFFF]:170', ':8552', '[]:8552'].map((ip) =>
    row(`should reject BGPPeerSpec with invalid PeerIP ${ip}`, false, peerSpec({ peerIP: ip })),
  ),
  row('BGPPeer with valid SourceAddress UseNodeIP', true, peerSpec({ sourceAddress: 'UseNodeIP' })),
  row('BGPPeer with valid SourceAddress None', true, peerSpec({ sourceAddress: 'None' })),
  row('BGPPeer with invalid SourceAddress', false, peerSpec({ sourceAddress: 'rubbish' })),
  row('BGPPeer with valid MaxRestartTime', true, peerSpec({ maxRestartTime: '10s' })),
  row('should reject BGPPeerSpec with both positive KeepOriginalNextHop and non-empty NextHopMode', false, peerSpec({ keepOriginalNextHop: true, nextHopMode: 'Auto' })),

  // (API) NodeSpec / NodeStatus, wrapped in a Node.
  row('should accept node with IPv4 BGP', true, nodeSpec({ bgp: { ipv4Address: '1.2.3.4/32' } })),
  row('should accept node with IPv6 BGP', true, nodeSpec({ bgp: { ipv6Address: netv6_1 } })),
  row('should accept node with tunnel IP in BGP', true, nodeSpec({ bgp: { ipv4IPIPTunnelAddr: '10.0.0.1' } }), true),
  row('should accept node with no BGP', true, nodeSpec({})),
  row('should reject node with an empty BGP', false, nodeSpec({ bgp: {} })),
  row('should reject node with IPv6 address in IPv4 field', false, nodeSpec({ bgp: { ipv4Address: netv6_1 } })),
  row('should reject node with IPv4 address in IPv6 field', false, nodeSpec({ bgp: { ipv6Address: '1.2.3.4/32' } })),
  row('should reject node with bad RR cluster ID #1', false, nodeSpec({ bgp: { ipv4Address: '1.2.3.4/32', routeReflectorClusterID: 'abcdef' } })),
  row('should reject node with bad RR cluster ID #2', false, nodeSpec({ bgp: { ipv4Address: '1.2.3.4/32', routeReflectorClusterID: '300.34.3.1' } })),
  row('should accept node with good RR cluster ID', true, nodeSpec({ bgp: { ipv4Address: '1.2.3.4/32', routeReflectorClusterID: '245.0.0.1' } })),
  row('should allow valid Wireguard public-key', true, nodeSpec({}, { wireguardPublicKey: 'jlkVyQYooZYzI2wFfNhSZez5eWh44yfq1wKVjLvSXgY=' }), true),
  row('should allow valid IP address on Wireguard config', true, nodeSpec({ wireguard: { interfaceIPv4Address: '1.2.3.4' } }), true),
  row('should reject invalid IP address on Wireguard config', false, nodeSpec({ wireguard: { interfaceIPv4Address: 'foo.bar' } })),
  row('should reject invalid Wireguard public-key', false, nodeSpec({}, { wireguardPublicKey: 'foobar' })),

  // (API model) EndpointPorts, as a WorkloadEndpoint's one port. Named ports exist for policy,
  // which Tabby has not: valid ones are refused at write time.
  row('should accept EndpointPort with tcp protocol', true, wepPort({ name: 'a-valid-port', protocol: 'TCP', port: 1234 }), true),
  row('should accept EndpointPort with udp protocol', true, wepPort({ name: 'a-valid-port', protocol: 'UDP', port: 1234 }), true),
  row('should accept EndpointPort with sctp protocol', true, wepPort({ name: 'a-valid-port', protocol: 'SCTP', port: 1234 }), true),
  row('should reject EndpointPort with empty name', false, wepPort({ name: '', protocol: 'UDP', port: 1234 })),
  row('should accept EndpointPort with empty name but HostPort specified', true, wepPort({ name: '', protocol: 'UDP', port: 1234, hostPort: 2345 }), true),
  row('should reject EndpointPort with no protocol', false, wepPort({ name: 'a-valid-port', port: 1234 })),
  row('should reject EndpointPort with numeric protocol', false, wepPort({ name: 'a-valid-port', protocol: 123, port: 1234 })),
  row('should reject EndpointPort with no port', false, wepPort({ name: 'a-valid-port', protocol: 'TCP' })),

  // (API) WorkloadEndpointSpec, wrapped in a WorkloadEndpoint named after its identifiers. The
  // awsElasticIPs and externalNetworkNames rows are left out: fields of later Calico releases
  // that Tabby does not know, so they are refused as unknown fields.
  row('should accept WorkloadEndpointSpec with a port (m)', true, wep({ interfaceName: 'eth0', ports: [{ name: 'a-valid-port', protocol: 'TCP', port: 1234 }] }), true),
  row('should reject WorkloadEndpointSpec with an unnamed port and no host mapping (m)', false, wep({ interfaceName: 'eth0', ports: [{ protocol: 'TCP', port: 1234 }] })),
  row('should accept WorkloadEndpointSpec with name-clashing ports (m)', true, wep({ interfaceName: 'eth0', ports: [{ name: 'a-valid-port', protocol: 'TCP', port: 1234 }, { name: 'a-valid-port', protocol: 'UDP', port: 5456 }] }), true),
  row('should accept WorkloadEndpointSpec with an unnamed port and a host port (m)', true, wep({ interfaceName: 'eth0', ports: [{ protocol: 'TCP', port: 1234, hostPort: 2345 }] }), true),
  row('should reject WorkloadEndpointSpec with a port with an invalid host IP (m)', false, wep({ interfaceName: 'eth0', ports: [{ protocol: 'TCP', port: 1234, hostPort: 2345, hostIP: '999.999.999.999' }] })),
  row('should reject WorkloadEndpointSpec with an invalid source spoofing config (m)', false, wep({ interfaceName: 'eth0', allowSpoofedSourcePrefixes: ['10.abcd'] })),
  row('should accept WorkloadEndpointSpec with an ip or prefix in the source spoofing config (m)', true, wep({ interfaceName: 'eth0', allowSpoofedSourcePrefixes: ['10.0.0.1', '192.168.0.0/16'] }), true),
  row('should accept workload endpoint with interface only', true, wep({ interfaceName: 'cali012371237' })),
  row('should accept workload endpoint with networks and no nats', true, wep({ interfaceName: 'cali012371237', ipNetworks: ['1.2.3.4/32', '1.2.0.0/32', netv6_1, 'aabb:aabb::/128'] })),
  row('should accept workload endpoint with IPv4 NAT covered by network', true, wep({ interfaceName: 'cali012371237', ipNetworks: ['1.2.3.4/32'], ipNATs: [{ internalIP: '1.2.3.4', externalIP: '100.200.0.0' }] }), true),
  row('should accept workload endpoint with IPv6 NAT covered by network', true, wep({ interfaceName: 'cali012371237', ipNetworks: [netv6_1], ipNATs: [{ internalIP: 'aabb:aabb::ffff', externalIP: 'aabb::abcd' }] }), true),
  row('should accept workload endpoint with IPv4 and IPv6 NAT covered by network', true, wep({ interfaceName: 'cali012371237', ipNetworks: ['1.2.3.4/32', netv6_1], ipNATs: [{ internalIP: '1.2.3.4', externalIP: '100.200.0.0' }, { internalIP: 'aabb:aabb::ffff', externalIP: 'aabb::abcd' }] }), true),
  row('should accept workload endpoint with mixed-case ContainerID', true, wep({ interfaceName: 'cali012371237', containerID: 'Cath01234-G' })),
  row('should reject workload endpoint with no config', false, wep({})),
  row('should reject workload endpoint with IPv4 networks that contain >1 address', false, wep({ interfaceName: 'cali012371237', ipNetworks: [netv4_3] })),
  row('should reject workload endpoint with IPv6 networks that contain >1 address', false, wep({ interfaceName: 'cali012371237', ipNetworks: ['aabb:aabb::0000/122'] })),
  row('should reject workload endpoint with nats and no networks', false, wep({ interfaceName: 'cali012371237', ipNATs: [{ internalIP: '100.200.0.0', externalIP: '1.2.3.4' }] })),
  row('should reject workload endpoint with IPv4 NAT not covered by network', false, wep({ interfaceName: 'cali012371237', ipNetworks: ['1.2.3.4/32'], ipNATs: [{ internalIP: '100.200.0.0', externalIP: '1.2.3.4' }] })),
  row('should reject workload endpoint with IPv6 NAT not covered by network', false, wep({ interfaceName: 'cali012371237', ipNetworks: [netv6_1], ipNATs: [{ internalIP: 'aabb::abcd', externalIP: 'aabb:aabb::ffff' }] })),
  row('should reject workload endpoint containerID that starts with a dash', false, wep({ interfaceName: 'cali0134', containerID: '-abcdefg' })),
  row('should reject workload endpoint containerID that ends with a dash', false, wep({ interfaceName: 'cali0134', containerID: 'abcdeSg-' })),
  row('should reject workload endpoint containerID that contains a period', false, wep({ interfaceName: 'cali0134', containerID: 'abcde-j.g' })),
];

const crd = (t: string, name: string, valid: boolean, r: Record<string, unknown>, refused = false): Row => ({ source: `${CRD} ${t}/${name}`, valid, resource: r, refused });
const crdPeer = (spec: unknown) => resource('BGPPeer', 'test-peer', spec);
const crdPool = (spec: unknown) => resource('IPPool', 'test-pool', spec);
const crdFilter = (spec: unknown) => resource('BGPFilter', 'test-filter', spec);

const CRD_ROWS: Row[] = [
  crd('TestCRDValidation_BGPPeer', 'valid nextHopMode passes', true, crdPeer({ nextHopMode: 'Auto' })),
  crd('TestCRDValidation_BGPPeer', 'invalid nextHopMode fails enum', false, crdPeer({ nextHopMode: 'Invalid' })),
  crd('TestCRDValidation_BGPPeer_ASNumber', 'localWorkloadSelector with asNumber passes', true, crdPeer({ localWorkloadSelector: "color == 'red'", asNumber: 65401 }), true),
  crd('TestCRDValidation_BGPPeer_ASNumber', 'localWorkloadSelector without asNumber fails', false, crdPeer({ localWorkloadSelector: "color == 'red'" })),
  crd('TestCRDValidation_BGPPeer_ASNumber', 'peerSelector with asNumber fails', false, crdPeer({ peerSelector: 'has(label)', asNumber: 65401 })),
  crd('TestCRDValidation_IPPool', 'valid ipipMode passes', true, crdPool({ cidr: '10.0.0.0/24', ipipMode: 'Always' })),
  crd('TestCRDValidation_IPPool', 'invalid ipipMode fails enum', false, crdPool({ cidr: '10.0.0.0/24', ipipMode: 'BadMode' })),
  crd('TestCRDValidation_IPPool', 'invalid vxlanMode fails enum', false, crdPool({ cidr: '10.0.0.0/24', vxlanMode: 'BadMode' })),
  crd('TestCRDValidation_BGPFilter', 'V4 CIDR without matchOperator fails', false, crdFilter({ exportV4: [{ cidr: '10.0.0.0/8', action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'V4 matchOperator without CIDR fails', false, crdFilter({ exportV4: [{ matchOperator: 'In', action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'V4 prefixLength without CIDR fails', false, crdFilter({ exportV4: [{ prefixLength: { min: 16 }, action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'V4 both CIDR and matchOperator passes', true, crdFilter({ exportV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In', action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'V6 CIDR without matchOperator fails', false, crdFilter({ exportV6: [{ cidr: 'fd00::/48', action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'V6 matchOperator without CIDR fails', false, crdFilter({ exportV6: [{ matchOperator: 'Equal', action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'V6 both CIDR and matchOperator passes', true, crdFilter({ exportV6: [{ cidr: 'fd00::/48', matchOperator: 'Equal', action: 'Accept' }] })),
  crd('TestCRDValidation_BGPFilter', 'operation with no fields set fails minProperties', false, crdFilter({ exportV4: [{ action: 'Accept', operations: [{}] }] })),
  crd('TestCRDValidation_BGPFilter', 'operation with two fields set fails maxProperties', false, crdFilter({ exportV4: [{ action: 'Accept', operations: [{ addCommunity: { value: '65000:1' }, setPriority: { value: 100 } }] }] })),
  crd('TestCRDValidation_BGPFilter', 'operation with single field passes', true, crdFilter({ exportV4: [{ action: 'Accept', operations: [{ setPriority: { value: 100 } }] }] }), true),
  crd('TestCRDValidation_BGPPeer_CrossField', 'node and nodeSelector both set fails', false, crdPeer({ node: 'node1', nodeSelector: 'has(label)' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'peerIP and peerSelector both set fails', false, crdPeer({ peerIP: '10.0.0.1', peerSelector: 'has(label)' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'asNumber and peerSelector both set fails', false, crdPeer({ peerSelector: 'has(label)', asNumber: 65401 })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'localWorkloadSelector with peerIP fails', false, crdPeer({ localWorkloadSelector: "color == 'red'", asNumber: 65401, peerIP: '10.0.0.1' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'localWorkloadSelector with peerSelector fails', false, crdPeer({ localWorkloadSelector: "color == 'red'", asNumber: 65401, peerSelector: 'has(label)' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'valid node and peerIP passes', true, crdPeer({ node: 'node1', peerIP: '10.0.0.1' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'reachableBy without peerIP fails', false, crdPeer({ peerSelector: 'all()', reachableBy: '10.0.0.254' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'reachableBy with peerIP passes', true, crdPeer({ peerIP: '10.0.0.1', asNumber: 64512, reachableBy: '10.0.0.254' }), true),
  crd('TestCRDValidation_BGPPeer_CrossField', 'keepOriginalNextHop with nextHopMode fails', false, crdPeer({ peerIP: '10.0.0.1', asNumber: 64512, keepOriginalNextHop: true, nextHopMode: 'Self' })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'keepOriginalNextHop alone passes', true, crdPeer({ peerIP: '10.0.0.1', asNumber: 64512, keepOriginalNextHop: true })),
  crd('TestCRDValidation_BGPPeer_CrossField', 'nextHopMode alone passes', true, crdPeer({ peerIP: '10.0.0.1', asNumber: 64512, nextHopMode: 'Keep' })),
  crd('TestCRDValidation_BGPConfiguration', 'nodeMeshPassword with nodeToNodeMeshEnabled false fails', false, conf({ nodeToNodeMeshEnabled: false, nodeMeshPassword: {} })),
  crd('TestCRDValidation_BGPConfiguration', 'nodeMeshMaxRestartTime with nodeToNodeMeshEnabled false fails', false, conf({ nodeToNodeMeshEnabled: false, nodeMeshMaxRestartTime: '2m0s' })),
  crd('TestCRDValidation_BGPConfiguration', 'nodeMeshPassword with nodeToNodeMeshEnabled true passes', true, conf({ nodeToNodeMeshEnabled: true, nodeMeshPassword: {} })),
  crd('TestCRDValidation_IPPool_CrossField', 'IPIP and VXLAN both enabled fails', false, crdPool({ cidr: '10.0.0.0/24', ipipMode: 'Always', vxlanMode: 'Always' })),
  crd('TestCRDValidation_IPPool_CrossField', 'LoadBalancer use with IPIP enabled fails', false, crdPool({ cidr: '10.0.0.0/24', ipipMode: 'Always', allowedUses: ['LoadBalancer'] })),
  crd('TestCRDValidation_IPPool_CrossField', 'LoadBalancer combined with Workload use fails', false, crdPool({ cidr: '10.0.0.0/24', allowedUses: ['LoadBalancer', 'Workload'] })),
  crd('TestCRDValidation_IPPool_CrossField', 'IPv6 CIDR with IPIP mode fails', false, crdPool({ cidr: 'fd00::/120', ipipMode: 'Always' })),
  crd('TestCRDValidation_IPPool_CrossField', 'valid IPv4 with IPIP passes', true, crdPool({ cidr: '10.0.0.0/24', ipipMode: 'Always' })),
  crd('TestCRDValidation_IPPool_CrossField', 'LB pool with disableBGPExport fails', false, crdPool({ cidr: '10.0.0.0/24', allowedUses: ['LoadBalancer'], disableBGPExport: true, nodeSelector: 'all()' })),
  crd('TestCRDValidation_IPPool_CrossField', 'LB pool with wrong nodeSelector fails', false, crdPool({ cidr: '10.0.0.0/24', allowedUses: ['LoadBalancer'], nodeSelector: 'has(node-role)' })),
  crd('TestCRDValidation_IPPool_CrossField', 'LB pool with correct config passes', true, crdPool({ cidr: '10.0.0.0/24', allowedUses: ['LoadBalancer'], nodeSelector: 'all()' }), true),
  crd('TestCRDValidation_IPPool_CrossField', 'Tunnel pool with namespaceSelector fails', false, crdPool({ cidr: '10.0.0.0/24', allowedUses: ['Tunnel'], namespaceSelector: 'has(ns-label)' })),
  crd('TestCRDValidation_IPPool_CrossField', 'nodeSelector with global() fails', false, crdPool({ cidr: '10.0.0.0/24', nodeSelector: 'global()' })),
  crd('TestCRDValidation_IPPool_CrossField', 'namespaceSelector with global() fails', false, crdPool({ cidr: '10.0.0.0/24', namespaceSelector: 'global()' })),
  crd('TestCRDValidation_BGPConfiguration_Communities', 'communities without prefixAdvertisements fails', false, conf({ communities: [{ name: 'my-community', value: '65001:100' }] })),
  crd('TestCRDValidation_BGPConfiguration_Communities', 'communities with prefixAdvertisements passes', true, conf({ communities: [{ name: 'my-community', value: '65001:100' }], prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['my-community'] }] })),
  crd('TestCRDValidation_BGPConfiguration_Communities', 'prefixAdvertisement referencing undefined community fails', false, conf({ communities: [{ name: 'my-community', value: '65001:100' }], prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['nonexistent'] }] })),
  crd('TestCRDValidation_BGPConfiguration_Communities', 'prefixAdvertisement using inline community value passes', true, conf({ prefixAdvertisements: [{ cidr: '10.0.0.0/24', communities: ['65001:100'] }] })),
];

describe('Calico validator cases for BGPConfiguration, BGPPeer, IPPool, Node, BGPFilter and WorkloadEndpoint', () => {
  for (const r of [...VALIDATOR_ROWS, ...CRD_ROWS]) {
    test(r.source, () => {
      let err: unknown;
      let validated;
      try {
        validated = validateResource(r.resource);
      } catch (e) {
        err = e;
      }
      assert.equal(err === undefined, r.valid, `Calico: ${r.valid ? 'valid' : 'invalid'}; Tabby: ${err instanceof Error ? err.message : 'valid'}`);
      if (validated) assert.equal(refusalsOf(validated).length > 0, r.refused === true, `refused at write: ${JSON.stringify(refusalsOf(validated))}`);
    });
  }
});
