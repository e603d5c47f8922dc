import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../../src/errors.js';
import { BgpFilter, bgpFilterExportFilter, bgpFilterImportPolicy, type BgpFilterRule, type ExportFilter, type FilterVerdict, type RouteFacts } from '../../../../src/bgp/rib/index.js';
import { LOCAL, announce, attrs, ebgpPeer, path, peer, ribWith } from './helpers.js';

const learned = (prefix: string): RouteFacts => ({ prefix, fromPeer: true });
const own = (prefix: string, iface?: string): RouteFacts => (iface === undefined ? { prefix, fromPeer: false } : { prefix, fromPeer: false, interface: iface });

const CASES: [string, BgpFilterRule, RouteFacts, FilterVerdict][] = [
  ['Equal matches the exact prefix', { cidr: '10.0.0.0/16', matchOperator: 'Equal', action: 'Reject' }, learned('10.0.0.0/16'), 'reject'],
  ['Equal does not match a subnet', { cidr: '10.0.0.0/16', matchOperator: 'Equal', action: 'Reject' }, learned('10.0.1.0/24'), undefined],
  ['NotEqual matches anything else', { cidr: '10.0.0.0/16', matchOperator: 'NotEqual', action: 'Reject' }, learned('10.0.1.0/24'), 'reject'],
  ['NotEqual does not match the prefix', { cidr: '10.0.0.0/16', matchOperator: 'NotEqual', action: 'Reject' }, learned('10.0.0.0/16'), undefined],
  ['In matches the prefix itself', { cidr: '10.0.0.0/16', matchOperator: 'In', action: 'Reject' }, learned('10.0.0.0/16'), 'reject'],
  ['In matches a subnet', { cidr: '10.0.0.0/16', matchOperator: 'In', action: 'Reject' }, learned('10.0.200.0/24'), 'reject'],
  ['In does not match a supernet', { cidr: '10.0.0.0/16', matchOperator: 'In', action: 'Reject' }, learned('10.0.0.0/8'), undefined],
  ['In does not match a neighbour', { cidr: '10.0.0.0/16', matchOperator: 'In', action: 'Reject' }, learned('10.1.0.0/24'), undefined],
  ['NotIn matches outside', { cidr: '10.0.0.0/16', matchOperator: 'NotIn', action: 'Reject' }, learned('10.1.0.0/24'), 'reject'],
  ['NotIn does not match inside', { cidr: '10.0.0.0/16', matchOperator: 'NotIn', action: 'Reject' }, learned('10.0.3.0/24'), undefined],
  ['In with prefixLength: inside the range', { cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { min: 24, max: 26 }, action: 'Accept' }, learned('10.0.3.64/26'), 'accept'],
  ['In with prefixLength: too long', { cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { min: 24, max: 26 }, action: 'Accept' }, learned('10.0.3.0/32'), undefined],
  ['In with prefixLength: too short', { cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { min: 24 }, action: 'Accept' }, learned('10.0.0.0/20'), undefined],
  ['NotIn with prefixLength: inside the cidr but outside the range', { cidr: '10.0.0.0/16', matchOperator: 'NotIn', prefixLength: { max: 24 }, action: 'Reject' }, learned('10.0.0.1/32'), 'reject'],
  ['prefixLength alone', { prefixLength: { min: 32 }, action: 'Reject' }, learned('10.0.0.1/32'), 'reject'],
  ['source RemotePeers matches learned routes', { source: 'RemotePeers', action: 'Reject' }, learned('10.0.0.0/24'), 'reject'],
  ['source RemotePeers does not match our own', { source: 'RemotePeers', action: 'Reject' }, own('10.0.0.0/24'), undefined],
  ['interface glob', { interface: 'cali*', action: 'Accept' }, own('10.0.0.5/32', 'cali12ab'), 'accept'],
  ['interface glob, other device', { interface: 'cali*', action: 'Accept' }, own('10.0.0.5/32', 'eth0'), undefined],
  ['interface glob, no device', { interface: 'cali*', action: 'Accept' }, own('10.0.0.5/32'), undefined],
  ['action is case-insensitive', { cidr: '10.0.0.0/16', matchOperator: 'In', action: 'reject' as 'Reject' }, learned('10.0.0.0/24'), 'reject'],
  ['a rule without conditions matches everything', { action: 'Accept' }, learned('1.2.3.0/24'), 'accept'],
];

for (const [name, rule, route, want] of CASES) {
  test(`BGPFilter: ${name}`, () => {
    const f = new BgpFilter({ importV4: [rule], exportV4: [rule] });
    assert.equal(f.verdict('import', 'ipv4', route), want);
    assert.equal(f.verdict('export', 'ipv4', route), want);
    // V4 rules never apply to IPv6 routes.
    assert.equal(f.verdict('import', 'ipv6', { prefix: 'fd00::/64', fromPeer: true }), undefined);
  });
}

test('BGPFilter: IPv6 rules', () => {
  const f = new BgpFilter({ importV6: [{ cidr: 'fd00:10::/32', matchOperator: 'In', prefixLength: { max: 64 }, action: 'Reject' }] });
  assert.equal(f.verdict('import', 'ipv6', learned('fd00:10:5::/48')), 'reject');
  assert.equal(f.verdict('import', 'ipv6', learned('fd00:10:5::1/128')), undefined);
  assert.equal(f.verdict('import', 'ipv6', learned('fd00:11::/48')), undefined);
  assert.throws(() => new BgpFilter({ importV6: [{ cidr: '10.0.0.0/8', matchOperator: 'In', action: 'Reject' }] }), ValidationError);
});

test('BGPFilter: first match wins, across rules and across filters', () => {
  const f = new BgpFilter({
    importV4: [
      { cidr: '10.0.1.0/24', matchOperator: 'Equal', action: 'Accept' },
      { cidr: '10.0.0.0/16', matchOperator: 'In', action: 'Reject' },
    ],
  });
  assert.equal(f.verdict('import', 'ipv4', learned('10.0.1.0/24')), 'accept');
  assert.equal(f.verdict('import', 'ipv4', learned('10.0.2.0/24')), 'reject');
  const policy = bgpFilterImportPolicy([
    { importV4: [{ cidr: '10.0.2.0/24', matchOperator: 'Equal', action: 'Accept' }] },
    { importV4: [{ cidr: '10.0.0.0/16', matchOperator: 'In', action: 'Reject' }] },
  ]);
  const a = { origin: 0 as const, asPath: [], nextHop: '10.0.0.2' };
  assert.equal(policy('10.0.2.0/24', a, peer(2), 'ipv4'), 'accept');
  assert.equal(policy('10.0.3.0/24', a, peer(2), 'ipv4'), 'reject');
  assert.equal(policy('10.9.0.0/24', a, peer(2), 'ipv4'), 'accept', 'no match: import accepts');
});

test('BGPFilter as import policy of a peer', () => {
  const rib = ribWith([]);
  rib.setPeer(peer(2), bgpFilterImportPolicy([{ importV4: [{ cidr: '10.66.0.0/16', matchOperator: 'In', action: 'Reject' }] }]));
  const diff = announce(rib, 'peer2', ['10.66.1.0/24', '10.67.1.0/24'], attrs('10.0.0.2'));
  assert.deepEqual(
    diff.map((d) => d.prefix),
    ['10.67.1.0/24'],
  );
  assert.equal(rib.received('peer2', 'ipv4'), 2);
  assert.equal(rib.accepted('peer2', 'ipv4'), 1);
});

test('BGPFilter export: a match decides, otherwise the default export rules do', () => {
  // Calico's default: only our own blocks.
  const ownBlocks: ExportFilter = (_prefix, p) => p.peer.type === 'local';
  const filter = bgpFilterExportFilter(
    [
      {
        exportV4: [
          { cidr: '10.50.0.0/16', matchOperator: 'In', source: 'RemotePeers', action: 'Accept' },
          { cidr: '192.168.0.64/26', matchOperator: 'Equal', action: 'Reject' },
        ],
      },
    ],
    ownBlocks,
  );
  const target = ebgpPeer(7);
  const learnedPath = path(peer(2), attrs('10.0.0.2'));
  const ownPath = path(LOCAL, attrs('10.0.0.1'));
  assert.equal(filter('10.50.1.0/24', learnedPath, target, 'ipv4'), true, 're-advertised by the filter');
  assert.equal(filter('10.51.1.0/24', learnedPath, target, 'ipv4'), false, 'default: learned routes are not exported');
  assert.equal(filter('192.168.0.0/26', ownPath, target, 'ipv4'), true);
  assert.equal(filter('192.168.0.64/26', ownPath, target, 'ipv4'), false);
  assert.equal(filter('10.50.1.0/24', ownPath, target, 'ipv4'), true, 'RemotePeers rule does not match; default accepts our own');
  assert.equal(bgpFilterExportFilter([], ownBlocks), ownBlocks);
});
