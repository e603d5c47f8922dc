// The calicoctl-compatible verbs end to end: the real CLI binary on a real file datastore.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { fixture } from '../helpers/paths.js';
import { tabby, tabbyAsync, tempDir } from '../helpers/cli.js';

const ok = (r: { code: number; stderr: string }) => assert.equal(r.code, 0, r.stderr);

function stripMeta(items: any[]) {
  return items.map(({ metadata: { resourceVersion, uid, creationTimestamp, ...meta }, ...rest }) => ({ ...rest, metadata: meta }));
}

const KINDS: [file: string, kind: string, headers: string, wideHeaders: string][] = [
  ['bgpconfiguration.yaml', 'bgpconfiguration', 'NAME LOGSEVERITY MESHENABLED ASNUMBER', 'NAME LOGSEVERITY MESHENABLED ASNUMBER'],
  ['bgppeer.yaml', 'bgppeers', 'NAME PEERIP NODE ASN', 'NAME PEERIP NODE ASN'],
  ['node.yaml', 'nodes', 'NAME', 'NAME ASN IPV4 IPV6'],
  ['ippool.yaml', 'ippool', 'NAME CIDR SELECTOR', 'NAME CIDR NAT IPIPMODE VXLANMODE DISABLED DISABLEBGPEXPORT SELECTOR'],
  ['bgpfilter.yaml', 'bgpfilter', 'NAME', 'NAME'],
  ['caliconodestatus.yaml', 'caliconodestatus', 'NAME NODE', 'NAME NODE CLASSES'],
];

describe('every kind round-trips through apply and get', () => {
  for (const [file, kind, headers, wideHeaders] of KINDS) {
    test(kind, () => {
      const { dir, cleanup } = tempDir();
      try {
        const docs = parseAllDocuments(readFileSync(fixture('resources', file), 'utf8')).map((d) => d.toJS());
        ok(tabby(dir, ['apply', '-f', fixture('resources', file)]));

        const asJson = JSON.parse(tabby(dir, ['get', kind, '-o', 'json']).stdout);
        assert.equal(asJson.items.length, docs.length);
        const asYaml = parse(tabby(dir, ['get', kind, '-o', 'yaml']).stdout);
        assert.deepEqual(asYaml, asJson, 'yaml and json show the same data');
        for (const doc of docs) {
          const got = asJson.items.find((i: any) => i.metadata.name === doc.metadata.name);
          assert.ok(got, `${doc.metadata.name} listed`);
          assert.match(got.metadata.resourceVersion, /^\d+$/);
          const single = JSON.parse(tabby(dir, ['get', kind, doc.metadata.name, '-o', 'json']).stdout);
          assert.deepEqual(single, got);
        }

        // What get prints can be applied again and changes nothing but revisions.
        const out = join(dir, 'out.yaml');
        writeFileSync(out, tabby(dir, ['get', kind, '-o', 'yaml']).stdout);
        ok(tabby(dir, ['apply', '-f', out]));
        const again = JSON.parse(tabby(dir, ['get', kind, '-o', 'json']).stdout);
        assert.deepEqual(stripMeta(again.items), stripMeta(asJson.items));
        assert.deepEqual(again.items.map((i: any) => i.metadata.uid), asJson.items.map((i: any) => i.metadata.uid), 'uids kept on update');

        const table = tabby(dir, ['get', kind]).stdout.split('\n');
        assert.equal(table[0]!.split(/\s+/).join(' '), headers);
        const wide = tabby(dir, ['get', kind, '-o', 'wide']).stdout.split('\n');
        assert.equal(wide[0]!.split(/\s+/).join(' '), wideHeaders);
        for (const doc of docs) assert.ok(wide.some((l) => l.startsWith(`${doc.metadata.name} `) || l === doc.metadata.name));
      } finally {
        cleanup();
      }
    });
  }
});

describe('values are normalised as Calico does', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => {
    ({ dir, cleanup } = tempDir());
    for (const f of ['bgpconfiguration.yaml', 'bgppeer.yaml', 'node.yaml', 'ippool.yaml']) ok(tabby(dir, ['apply', '-f', fixture('resources', f)]));
  });
  after(() => cleanup());

  test('dotted AS and bracketed IPv6 peer with port', () => {
    const peer = JSON.parse(tabby(dir, ['get', 'bgppeer', 'node-a-ipv6', '-o', 'json']).stdout);
    assert.equal(peer.spec.asNumber, 65546);
    assert.equal(peer.spec.peerIP, '[fd00::1]:1179');
  });
  test('pool defaults filled in', () => {
    const pool = JSON.parse(tabby(dir, ['get', 'ippool', 'default-ipv4-ippool', '-o', 'json']).stdout).spec;
    assert.deepEqual(
      { blockSize: pool.blockSize, vxlanMode: pool.vxlanMode, disabled: pool.disabled, disableBGPExport: pool.disableBGPExport },
      { blockSize: 26, vxlanMode: 'Never', disabled: false, disableBGPExport: false },
    );
    const v6 = JSON.parse(tabby(dir, ['get', 'ippool', 'v6-pool', '-o', 'json']).stdout).spec;
    assert.equal(v6.ipipMode, 'Never');
    assert.equal(v6.blockSize, 120);
  });
  test('node wide output shows inherited AS in parentheses', () => {
    ok(tabby(dir, ['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: node-c}\nspec: {bgp: {ipv4Address: 10.0.0.3/24}}\n'));
    const lines = tabby(dir, ['get', 'node', '-o', 'wide']).stdout.split('\n');
    assert.match(lines.find((l) => l.startsWith('node-a'))!, /^node-a\s+64513\s+10\.0\.0\.1\/24\s+fd00::a\/64$/);
    assert.match(lines.find((l) => l.startsWith('node-c'))!, /^node-c\s+\(63400\)\s+10\.0\.0\.3\/24$/);
  });
  test('peer table shows (global), selector, node', () => {
    const lines = tabby(dir, ['get', 'bgppeer']).stdout.split('\n');
    assert.match(lines.find((l) => l.startsWith('rack1-tor'))!, /192\.20\.30\.40\s+rack == 'rack-1'\s+64567/);
    assert.match(lines.find((l) => l.startsWith('node-a-ipv6'))!, /\[fd00::1\]:1179\s+node-a\s+65546/);
  });
  test('an immutable pool CIDR cannot be replaced', () => {
    const r = tabby(dir, ['replace', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: v6-pool}\nspec: {cidr: "fd00:11::/48"}\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.cidr: is immutable/);
  });
  test('create fails on an existing resource, replace on a missing one', () => {
    assert.match(tabby(dir, ['create', '-f', fixture('resources', 'node.yaml')]).stderr, /already exists/);
    const r = tabby(dir, ['replace', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: nope}\nspec: {}\n');
    assert.match(r.stderr, /not found/);
  });
  test('get of a missing resource fails with one line', () => {
    const r = tabby(dir, ['get', 'node', 'missing']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});

test('v1 bgpPeer documents convert to v3 BGPPeers', () => {
  const { dir, cleanup } = tempDir();
  try {
    ok(tabby(dir, ['apply', '-f', fixture('resources', 'v1-bgppeer.yaml')]));
    const peers = JSON.parse(tabby(dir, ['get', 'bgppeer', '-o', 'json']).stdout).items;
    assert.deepEqual(
      peers.map((p: any) => [p.metadata.name, p.spec]),
      [
        ['global-192-168-1-1', { peerIP: '192.168.1.1', asNumber: 63400 }],
        ['node-rack1-host1-fd00--99', { peerIP: 'fd00::99', asNumber: 64514, node: 'rack1-host1' }],
      ],
    );
  } finally {
    cleanup();
  }
});

test("the seeds' calicoctl commands work with tabby", () => {
  const { dir, cleanup } = tempDir();
  try {
    ok(tabby(dir, ['bgp', 'peer', 'add', '192.20.30.40', 'as', '64567']));
    const show = tabby(dir, ['bgp', 'peer', 'show']).stdout;
    assert.match(show, /Global IPv4 BGP Peer\s+AS Num\n192\.20\.30\.40\s+64567/);
    ok(tabby(dir, ['bgp', 'peer', 'add', '192.20.30.40', 'as', '64999']));
    assert.equal(JSON.parse(tabby(dir, ['get', 'bgppeers', '-o', 'json']).stdout).items.length, 1, 're-adding replaces');

    ok(tabby(dir, ['patch', 'bgpconfiguration', 'default', '-p', '{"spec":{"nodeToNodeMeshEnabled":false}}']));
    assert.equal(tabby(dir, ['config', 'view', 'nodeToNodeMesh']).stdout.trim(), 'off');
    ok(tabby(dir, ['config', 'set', 'nodeToNodeMesh', 'on']));
    ok(tabby(dir, ['config', 'set', 'defaultNodeASNumber', '64600']));
    const conf = JSON.parse(tabby(dir, ['get', 'bgpconfig', 'default', '-o', 'json']).stdout);
    // The CRD defaults Calico's validator applies (logSeverityScreen Info, aggregation Enabled) come along.
    assert.deepEqual(conf.spec, { nodeToNodeMeshEnabled: true, asNumber: 64600, logSeverityScreen: 'Info', serviceLoadBalancerAggregation: 'Enabled' });
    assert.equal(tabby(dir, ['config', 'view', 'defaultNodeASNumber']).stdout.trim(), '64600');

    const peer = `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rack1-tor
spec:
  peerIP: 192.20.30.40
  asNumber: 64567
  nodeSelector: rack == 'rack-1'
`;
    ok(tabby(dir, ['apply', '-f', '-'], peer));
    assert.match(tabby(dir, ['get', 'bgppeer', 'rack1-tor']).stdout, /rack1-tor\s+192\.20\.30\.40\s+rack == 'rack-1'\s+64567/);

    ok(tabby(dir, ['bgp', 'peer', 'remove', '192.20.30.40']));
    assert.notEqual(tabby(dir, ['bgp', 'peer', 'remove', '192.20.30.40']).code, 0);
    ok(tabby(dir, ['bgp', 'peer', 'add', 'fd00::5', 'as', '65000', '--scope', 'node', '--node', 'n1']));
    assert.match(tabby(dir, ['bgp', 'peer', 'show']).stdout, /Node specific IPv6 BGP Peer\s+AS Num\s+Node\nfd00::5\s+65000\s+n1/);

    const del = tabby(dir, ['delete', 'bgpconfiguration', 'default']);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /cannot be deleted/);
    ok(tabby(dir, ['delete', 'bgppeer', 'rack1-tor']));
    assert.notEqual(tabby(dir, ['config', 'set', 'nodeToNodeMesh', 'maybe']).code, 0);
  } finally {
    cleanup();
  }
});

test('delete -f removes every resource named in the file', () => {
  const { dir, cleanup } = tempDir();
  try {
    ok(tabby(dir, ['apply', '-f', fixture('resources', 'ippool.yaml')]));
    ok(tabby(dir, ['delete', '-f', fixture('resources', 'ippool.yaml')]));
    assert.deepEqual(JSON.parse(tabby(dir, ['get', 'ippool', '-o', 'json']).stdout).items, []);
  } finally {
    cleanup();
  }
});

test('two processes applying 200 resources concurrently lose none', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = (p: string, i: number) => {
      const path = join(dir, `${p}-${i}.yaml`);
      const docs = Array.from({ length: 10 }, (_, j) => {
        const n = i * 10 + j;
        return `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: ${p}-${n}}\nspec: {peerIP: 10.${p === 'a' ? 1 : 2}.${n >> 8}.${n & 255}, asNumber: 65000}\n`;
      });
      writeFileSync(path, docs.join('---\n'));
      return path;
    };
    const run = async (p: string) => {
      for (let i = 0; i < 10; i++) ok(await tabbyAsync(dir, ['apply', '-f', file(p, i)]));
    };
    await Promise.all([run('a'), run('b')]);
    const items = JSON.parse(tabby(dir, ['get', 'bgppeer', '-o', 'json']).stdout).items;
    assert.equal(items.length, 200);
    assert.equal(new Set(items.map((i: any) => i.metadata.resourceVersion)).size, 20, 'one revision per apply');
  } finally {
    cleanup();
  }
});
