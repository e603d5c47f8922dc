// Bad input: one clear line naming the document, the field and the reason; non-zero exit;
// nothing written, even when other documents in the same file are valid.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tabby, tempDir } from '../helpers/cli.js';

const VALID = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: good-pool}
spec: {cidr: 10.10.0.0/16}
`;

const doc = (kind: string, name: string, spec: string, extra = '') =>
  `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata: {name: ${name}}\n${extra}spec: ${spec}\n`;

/** [what is wrong, document, expected stderr pattern] */
const INVALID: [string, string, RegExp][] = [
  ['pool CIDR with host bits', doc('IPPool', 'p', '{cidr: 10.0.0.1/16}'), /document 2 \(IPPool "p"\).*spec\.cidr: "10\.0\.0\.1\/16" has host bits set; did you mean 10\.0\.0\.0\/16\?/],
  ['IPIP on an IPv6 pool', doc('IPPool', 'p', '{cidr: "fd00::/64", ipipMode: Always}'), /spec\.ipipMode: IPIP is not supported on IPv6 pools/],
  ['IPIP and VXLAN together', doc('IPPool', 'p', '{cidr: 10.1.0.0/16, ipipMode: Always, vxlanMode: CrossSubnet}'), /spec\.vxlanMode: ipipMode and vxlanMode cannot both be enabled/],
  ['block size out of range', doc('IPPool', 'p', '{cidr: 10.1.0.0/16, blockSize: 19}'), /spec\.blockSize: must be between 20 and 32/],
  ['encap mode misspelled', doc('IPPool', 'p', '{cidr: 10.1.0.0/16, ipipMode: always}'), /spec\.ipipMode: must be one of Always, CrossSubnet, Never/],
  ['peer IP not an address', doc('BGPPeer', 'x', '{peerIP: 10.0.0.300, asNumber: 64512}'), /spec\.peerIP: "10\.0\.0\.300" is not a peer address/],
  ['peer port out of range', doc('BGPPeer', 'x', '{peerIP: "10.0.0.1:70000", asNumber: 64512}'), /spec\.peerIP: .*port 1-65535/],
  ['AS not a number', doc('BGPPeer', 'x', '{peerIP: 10.0.0.1, asNumber: abc}'), /spec\.asNumber: "abc" is not an AS number/],
  ['dotted AS out of range', doc('BGPPeer', 'x', '{peerIP: 10.0.0.1, asNumber: 1.70000}'), /spec\.asNumber: "1\.70000" is not an AS number/],
  ['node and nodeSelector', doc('BGPPeer', 'x', "{peerIP: 10.0.0.1, asNumber: 1, node: a, nodeSelector: all()}"), /spec\.nodeSelector: node and nodeSelector cannot both be set/],
  ['peerSelector with peerIP', doc('BGPPeer', 'x', "{peerIP: 10.0.0.1, peerSelector: all()}"), /spec\.peerSelector: peerIP and peerSelector cannot both be set/],
  ['AS with peerSelector', doc('BGPPeer', 'x', '{peerSelector: all(), asNumber: 65000}'), /spec\.asNumber: must be empty when peerSelector is set/],
  ['reachableBy without peerIP', doc('BGPPeer', 'x', '{peerSelector: all(), reachableBy: 10.0.0.254}'), /spec\.reachableBy: must be empty when peerIP is empty/],
  ['pool smaller than a block', doc('IPPool', 'p', '{cidr: 10.9.0.0/27}'), /spec\.cidr: the \/27 pool is smaller than one \/26 block/],
  ['label value too long', doc('Node', 'n', '{}').replace('{name: n}', `{name: n, labels: {a: ${'x'.repeat(64)}}}`), /metadata\.labels\.a: label value is 64 characters long/],
  ['selector syntax error', doc('BGPPeer', 'x', `{peerIP: 10.0.0.1, asNumber: 1, nodeSelector: "rack == "}`), /spec\.nodeSelector: selector "rack == " column \d+/],
  ['misspelled field', doc('BGPPeer', 'x', '{peerIp: 10.0.0.1, asNumber: 1}'), /spec\.peerIp: unknown field/],
  ['max-prefixes not a number', 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: x, annotations: {tabby.io/max-prefixes: "lots"}}\nspec: {peerIP: 10.0.0.1, asNumber: 1}\n', /metadata\.annotations\["tabby\.io\/max-prefixes"\]: "lots" is not a whole number from 1 to 4294967295/],
  ['max-prefixes action misspelled', 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: x, annotations: {tabby.io/max-prefixes: "10", tabby.io/max-prefixes-action: drop}}\nspec: {peerIP: 10.0.0.1, asNumber: 1}\n', /metadata\.annotations\["tabby\.io\/max-prefixes-action"\]: must be one of Reset, Reject/],
  ['max-prefixes action alone', 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: x, annotations: {tabby.io/max-prefixes-action: Reset}}\nspec: {peerIP: 10.0.0.1, asNumber: 1}\n', /needs tabby\.io\/max-prefixes as well/],
  ['unknown tabby.io annotation', 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: x, annotations: {tabby.io/max-prefix: "10"}}\nspec: {peerIP: 10.0.0.1, asNumber: 1}\n', /metadata\.annotations\["tabby\.io\/max-prefix"\]: unknown Tabby annotation; known: tabby\.io\/max-prefixes, tabby\.io\/max-prefixes-action/],
  ['wrong apiVersion', VALID.replace('projectcalico.org/v3', 'projectcalico.org/v2'), /apiVersion: must be projectcalico\.org\/v3/],
  ['unknown kind', doc('BGPSession', 'x', '{}'), /kind: unknown resource kind "BGPSession"/],
  ['name with capitals', doc('Node', 'Bad_Name', '{}'), /metadata\.name: "Bad_Name" is not a valid name/],
  ['node address not an address', doc('Node', 'n', '{bgp: {ipv4Address: 10.0.0.300/24}}'), /spec\.bgp\.ipv4Address: "10\.0\.0\.300\/24" is not an IPv4 CIDR/],
  ['bad VTEP MAC', doc('Node', 'n', '{vxlanTunnelMACAddr: "66:00:11"}'), /spec\.vxlanTunnelMACAddr: "66:00:11" is not a MAC address/],
  ['BGPConfiguration name', doc('BGPConfiguration', 'foo', '{}'), /metadata\.name: must be "default" or "node\.<nodename>"/],
  ['per-node config sets the AS', doc('BGPConfiguration', 'node.a', '{asNumber: 65000}'), /spec\.asNumber: only takes effect in the "default" BGPConfiguration/],
  ['log severity', doc('BGPConfiguration', 'default', '{logSeverityScreen: Loud}'), /spec\.logSeverityScreen: "Loud" is not a log severity/],
  ['listen port zero', doc('BGPConfiguration', 'default', '{listenPort: 0}'), /spec\.listenPort: must be between 1 and 65535/],
  ['missing name', 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {}\nspec: {}\n', /metadata\.name: is required/],
  ['filter rule without action', doc('BGPFilter', 'f', '{exportV4: [{cidr: 10.0.0.0/8, matchOperator: In}]}'), /spec\.exportV4\[0\]\.action: is required/],
  ['v1 node-scoped peer without hostname', 'apiVersion: v1\nkind: bgpPeer\nmetadata: {peerIP: 10.0.0.1, scope: node}\nspec: {asNumber: 1}\n', /metadata\.hostname: is required when scope is node/],
  ['YAML syntax error', 'apiVersion: projectcalico.org/v3\nkind: [Node\n', /YAML syntax error/],
];

let dir: string;
let cleanup: () => void;
let before_: string;
before(() => {
  ({ dir, cleanup } = tempDir());
  assert.equal(tabby(dir, ['apply', '-f', '-'], VALID.replace('good-pool', 'existing')).code, 0);
  before_ = tabby(dir, ['get', 'ippool', '-o', 'json']).stdout;
});
after(() => cleanup());

for (const [what, bad, pattern] of INVALID) {
  test(`rejects: ${what}`, () => {
    const r = tabby(dir, ['apply', '-f', '-'], `${VALID}---\n${bad}`);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
    assert.match(lines[0]!, /^tabby: stdin/);
    assert.match(lines[0]!, pattern);
    assert.equal(r.stdout, '');
    assert.equal(tabby(dir, ['get', 'ippool', '-o', 'json']).stdout, before_, 'nothing written');
  });
}

test('bad command-line input fails with one line', () => {
  for (const args of [['get', 'widgets'], ['patch', 'ippool', 'existing', '-p', '{not json'], ['bgp', 'peer', 'add', '1.2.3.4', 'to', '65000'], ['bgp', 'peer', 'add', 'nope', 'as', '1']]) {
    const r = tabby(dir, args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
