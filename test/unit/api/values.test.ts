import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAsn } from '../../../src/api/asn.js';
import { mergePatch } from '../../../src/client/resource-client.js';
import { readResources } from '../../../src/api/documents.js';
import { cidrContains, parseCidr, parsePeerIP } from '../../../src/api/net.js';
import { convertV1BgpPeer } from '../../../src/api/v1.js';
import { ValidationError } from '../../../src/errors.js';

test('AS numbers: plain and dotted', () => {
  const cases: [unknown, number | undefined][] = [
    [64512, 64512], ['64512', 64512], ['1.10', 65546], ['0.65535', 65535], ['65535.65535', 4294967295],
    [4294967295, 4294967295], [4294967296, undefined], ['1.65536', undefined], ['65536.0', undefined],
    [-1, undefined], [1.5, undefined], ['', undefined], ['1.2.3', undefined], ['AS65000', undefined], [null, undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseAsn(input), want, String(input));
});

// validator.go processIPPort with the CRD's CEL rule for peerIP: a bracketed address needs a
// port, and the brackets may hold IPv4 too.
test('peer IPs with and without ports', () => {
  const cases: [string, ReturnType<typeof parsePeerIP>][] = [
    ['10.0.0.1', { family: 4, address: '10.0.0.1' }],
    ['10.0.0.1:1179', { family: 4, address: '10.0.0.1', port: 1179 }],
    ['fd00::1', { family: 6, address: 'fd00::1' }],
    ['[fd00::1]:1179', { family: 6, address: 'fd00::1', port: 1179 }],
    ['[FD00:0::1]:179', { family: 6, address: 'fd00::1', port: 179 }],
    ['[10.0.0.1]:179', { family: 4, address: '10.0.0.1', port: 179 }],
    ['[fd00::1]', undefined], ['10.0.0.1:0', undefined], ['10.0.0.1:65536', undefined], ['fd00::1:1179x', undefined],
    ['10.0.0.1/32', undefined], ['host.example:179', undefined], ['10.0.0.1:', undefined], ['[]:179', undefined],
  ];
  for (const [input, want] of cases) assert.deepEqual(parsePeerIP(input), want, input);
});

test('CIDRs: masked or not, contained or not', () => {
  assert.deepEqual(parseCidr('10.0.0.1/24'), { family: 4, address: '10.0.0.1', prefixLength: 24, network: '10.0.0.0/24', masked: false });
  assert.equal(parseCidr('fd00::/48')!.masked, true);
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/-1', '']) assert.equal(parseCidr(bad), undefined, bad);
  assert.ok(cidrContains('10.0.0.0/8', '10.1.2.0/26'));
  assert.ok(!cidrContains('10.0.0.0/8', '11.0.0.0/26'));
  assert.ok(!cidrContains('10.0.0.0/8', 'fd00::/64'));
});

test('JSON merge patch (RFC 7386 examples)', () => {
  assert.deepEqual(mergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  assert.deepEqual(mergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
  assert.deepEqual(mergePatch({ a: 'b' }, { a: null }), {});
  assert.deepEqual(mergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
  assert.deepEqual(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
  assert.deepEqual(mergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
});

test('v1 bgpPeer conversion', () => {
  assert.deepEqual(convertV1BgpPeer({ apiVersion: 'v1', kind: 'bgpPeer', metadata: { scope: 'node', node: 'h1', peerIP: '10.1.1.1' }, spec: { asNumber: 65001 } }), {
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPPeer',
    metadata: { name: 'node-h1-10-1-1-1' },
    spec: { peerIP: '10.1.1.1', asNumber: 65001, node: 'h1' },
  });
  assert.throws(() => convertV1BgpPeer({ metadata: { scope: 'rack', peerIP: '10.1.1.1' } }), /metadata\.scope/);
  assert.throws(() => convertV1BgpPeer({ metadata: { scope: 'global', hostname: 'h', peerIP: '10.1.1.1' } }), /must be empty/);
});

test('documents: JSON arrays, Lists, and the document named in errors', () => {
  const json = JSON.stringify([{ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'a' }, spec: {} }]);
  assert.equal(readResources(json)[0]!.metadata.name, 'a');
  const list = 'apiVersion: projectcalico.org/v3\nkind: NodeList\nitems:\n- {apiVersion: projectcalico.org/v3, kind: Node, metadata: {name: b}, spec: {}}\n';
  assert.equal(readResources(list)[0]!.metadata.name, 'b');
  assert.throws(() => readResources(''), /no resources found/);
  const err = (() => {
    try {
      readResources('apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ok}\n---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: bad}\nspec: {bgp: {asNumber: x}}\n', 'f.yaml');
    } catch (e) {
      return e as ValidationError;
    }
  })();
  assert.ok(err instanceof ValidationError);
  assert.equal(err.path, 'spec.bgp.asNumber');
  assert.equal(err.document, 'f.yaml: document 2 (Node "bad")');
});
