// What an operator coming from calicoctl reaches for, end to end with the real CLI binary,
// against a file: store and a real etcd: -o forms (calicoctl/commands/get.go), several
// names in one get, -f DIR (calicoctl/commands/file/iter.go), patch --type json (RFC 6902),
// label (calicoctl/commands/label.go), ipam show, delete node (libcalico-go clientv3
// node.go Delete), a store that is not there, version and completion.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { openDatastore } from '../../src/datastore/open.js';
import type { StoredResource } from '../../src/datastore/datastore.js';
import { BLOCK_KIND } from '../../src/ipam/ipam.js';
import { TABBY, tempDir } from '../helpers/cli.js';
import { ETCD_BIN, ETCDCTL_BIN, freePorts, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { fixture } from '../helpers/paths.js';
import { needs } from '../helpers/require.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(uri: string, args: string[], input?: string): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, TABBY_DATASTORE: uri };
  delete env.ETCD_ENDPOINTS;
  const r = spawnSync(process.execPath, [TABBY, ...args], { input, encoding: 'utf8', timeout: 30_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

/** Failed with exactly one line on stderr matching `re`. */
const refused = (r: Run, re: RegExp) => {
  assert.notEqual(r.code, 0, r.stdout);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, re);
};

const peer = (name: string, ip: string, asn = 64567) => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec: { peerIP: ip, asNumber: asn } });
const names = (json: string) => (JSON.parse(json) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);

function suite(kind: 'file' | 'etcd'): void {
  const need = kind === 'etcd' ? needs({ tools: [ETCD_BIN, ETCDCTL_BIN] }) : { skip: false as const };
  describe(`CLI on a ${kind}: store`, { ...need, concurrency: false }, () => {
    let uri = '';
    let etcd: EtcdCluster | undefined;
    let work: { dir: string; cleanup: () => void };
    before(async () => {
      work = tempDir('tabby-cli-op-');
      if (kind === 'etcd') {
        etcd = await startEtcd();
        uri = etcd.uri;
      } else {
        uri = `file:${join(work.dir, 'store')}`;
      }
      ok(cli(uri, ['apply', '-f', fixture('resources', 'bgppeer.yaml')]));
    });
    after(async () => {
      await etcd?.stop();
      work.cleanup();
    });

    test('-o ps, yml, custom-columns as calicoctl; go-template and unknown forms refused in one whole line', () => {
      assert.equal(ok(cli(uri, ['get', 'bgppeers', '-o', 'ps'])), ok(cli(uri, ['get', 'bgppeers'])));
      assert.deepEqual(parse(ok(cli(uri, ['get', 'bgppeers', '-o', 'yml']))), parse(ok(cli(uri, ['get', 'bgppeers', '-o', 'yaml']))));
      const cols = ok(cli(uri, ['get', 'bgppeer', 'rack1-tor', '-o', 'custom-columns=NAME,ASN'])).trimEnd().split('\n');
      assert.deepEqual(cols.map((l) => l.split(/\s+/)), [['NAME', 'ASN'], ['rack1-tor', '64567']]);
      refused(cli(uri, ['get', 'bgppeers', '-o', 'custom-columns=NAME,BOGUS']), /^tabby: --output: Unknown heading BOGUS, valid values are: NAME, PEERIP, NODE, ASN$/m);
      refused(cli(uri, ['get', 'bgppeers', '-o', 'go-template={{.}}']), /go-template is not offered by Tabby/);
      refused(cli(uri, ['get', 'bgppeers', '-o', 'xml']), /unrecognized output format "xml"; use table \(or ps\), wide, yaml \(or yml\), json, custom-columns/);
      // yargs' multi-line messages arrive whole, on one line.
      refused(cli(uri, ['node', 'status', '-o', 'ps']), /Invalid values: Argument: output, Given: "ps", Choices: "table", "json"/);
    });

    test('several names in one get; a missing one prints the rest and fails', () => {
      assert.deepEqual(names(ok(cli(uri, ['get', 'bgppeer', 'rack1-tor', 'rr-mesh', '-o', 'json']))), ['rack1-tor', 'rr-mesh']);
      const r = cli(uri, ['get', 'bgppeer', 'rr-mesh', 'nope', '-o', 'custom-columns=NAME']);
      assert.deepEqual(r.stdout.trim().split('\n'), ['NAME', 'rr-mesh']);
      refused(r, /BGPPeer "nope" not found/);
    });

    test('apply and delete -f DIR: manifests of the directory (-R for subdirectories), all or nothing', () => {
      const dir = join(work.dir, `manifests-${kind}`);
      mkdirSync(join(dir, 'sub'), { recursive: true });
      writeFileSync(join(dir, 'a.yaml'), JSON.stringify(peer('dir-a', '10.1.0.1')));
      writeFileSync(join(dir, 'b.json'), JSON.stringify(peer('dir-b', '10.1.0.2')));
      writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
      writeFileSync(join(dir, 'sub', 'c.yml'), JSON.stringify(peer('dir-c', '10.1.0.3')));
      assert.match(ok(cli(uri, ['apply', '-f', dir])), /Successfully applied 2 'BGPPeer' resource\(s\)/);
      assert.equal(cli(uri, ['get', 'bgppeer', 'dir-c']).code, 1, 'subdirectory only with -R');
      ok(cli(uri, ['apply', '-f', dir, '-R']));
      ok(cli(uri, ['get', 'bgppeer', 'dir-c']));
      writeFileSync(join(dir, 'sub', 'bad.yaml'), JSON.stringify(peer('dir-bad', 'not-an-ip')));
      writeFileSync(join(dir, 'sub', 'd.yaml'), JSON.stringify(peer('dir-d', '10.1.0.4')));
      refused(cli(uri, ['apply', '-f', dir, '-R']), /bad\.yaml.*peerIP/);
      assert.equal(cli(uri, ['get', 'bgppeer', 'dir-d']).code, 1, 'a bad file writes nothing');
      assert.match(ok(cli(uri, ['delete', '-f', dir])), /Successfully deleted 2 'BGPPeer'/);
      assert.deepEqual(names(ok(cli(uri, ['get', 'bgppeer', '-o', 'json']))).filter((n) => n.startsWith('dir-')), ['dir-c']);
      ok(cli(uri, ['delete', 'bgppeer', 'dir-c']));
    });

    test('patch --type json (RFC 6902) and merge (RFC 7386); a failing operation changes nothing', () => {
      ok(cli(uri, ['patch', 'bgppeer', 'rack1-tor', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/asNumber","value":65001},{"op":"add","path":"/spec/keepOriginalNextHop","value":true}]']));
      let spec = JSON.parse(ok(cli(uri, ['get', 'bgppeer', 'rack1-tor', '-o', 'json']))).spec;
      assert.equal(spec.asNumber, 65001);
      assert.equal(spec.keepOriginalNextHop, true);
      refused(cli(uri, ['patch', 'bgppeer', 'rack1-tor', '-t', 'json', '-p', '[{"op":"test","path":"/spec/asNumber","value":1},{"op":"remove","path":"/spec/peerIP"}]']), /operation 1: Test operation failed/);
      refused(cli(uri, ['patch', 'bgppeer', 'rack1-tor', '-t', 'json', '-p', '[{"op":"replace","path":"/metadata/name","value":"x"}]']), /cannot change kind or metadata.name/);
      refused(cli(uri, ['patch', 'bgppeer', 'rack1-tor', '-t', 'json', '-p', '{"spec":{}}']), /a JSON Patch is a list of operations/);
      refused(cli(uri, ['patch', 'bgppeer', 'rack1-tor', '-t', 'strategic', '-p', '{}']), /use --type merge \(RFC 7386\) or --type json \(RFC 6902\)/);
      ok(cli(uri, ['patch', 'bgppeer', 'rack1-tor', '-p', '{"spec":{"asNumber":64567,"keepOriginalNextHop":null}}']));
      spec = JSON.parse(ok(cli(uri, ['get', 'bgppeer', 'rack1-tor', '-o', 'json']))).spec;
      assert.equal(spec.asNumber, 64567);
      assert.equal(spec.keepOriginalNextHop, undefined);
      assert.equal(spec.peerIP, '192.20.30.40');
    });

    test('label KIND NAME key=value [--overwrite] | key --remove | key- (calicoctl label)', () => {
      const labels = () => JSON.parse(ok(cli(uri, ['get', 'bgppeer', 'rr-mesh', '-o', 'json']))).metadata.labels ?? {};
      assert.equal(ok(cli(uri, ['label', 'bgppeers', 'rr-mesh', 'rack=r1'])).trim(), 'Successfully set label rack on BGPPeer rr-mesh');
      refused(cli(uri, ['label', 'bgppeer', 'rr-mesh', 'rack=r2']), /key rack is already present. please use '--overwrite' to set a new value/);
      assert.equal(ok(cli(uri, ['label', 'bgppeer', 'rr-mesh', 'rack=r2', '--overwrite'])).trim(), 'Successfully updated label rack on BGPPeer rr-mesh');
      ok(cli(uri, ['label', 'bgppeer', 'rr-mesh', 'zone=z']));
      assert.deepEqual(labels(), { rack: 'r2', zone: 'z' });
      assert.equal(ok(cli(uri, ['label', 'bgppeer', 'rr-mesh', 'rack-'])).trim(), 'Successfully removed label rack from BGPPeer rr-mesh');
      ok(cli(uri, ['label', 'bgppeer', 'rr-mesh', 'zone', '--remove']));
      assert.deepEqual(labels(), {});
      refused(cli(uri, ['label', 'bgppeer', 'rr-mesh', 'zone', '--remove']), /key zone does not exist/);
      refused(cli(uri, ['label', 'bgppeer', 'nope', 'a=b']), /BGPPeer "nope" not found/);
    });

    test('ipam show and delete node: the node takes its blocks, affinities and peers with it', async () => {
      ok(cli(uri, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.244.0.0/24', blockSize: 26 } })));
      const store = await openDatastore(uri);
      try {
        const r = (k: string, name: string, spec: unknown): StoredResource => ({ apiVersion: 'projectcalico.org/v3', kind: k, metadata: { name }, spec });
        await store.txn(
          [
            r('Node', 'gone', { bgp: { ipv4Address: '10.0.0.9/24' }, ipv4VXLANTunnelAddr: '10.244.0.1' }),
            r(BLOCK_KIND, '10-244-0-0-26', { cidr: '10.244.0.0/26', affinity: 'host:gone', pool: 'p', allocations: { '10.244.0.1': 'vxlan-tunnel-addr-gone' } }),
            r(BLOCK_KIND, '10-244-0-64-26', { cidr: '10.244.0.64/26', affinity: 'host:stays', pool: 'p', allocations: { '10.244.0.65': 'w', '10.244.0.66': 'x' } }),
            r('BGPPeer', 'gone-tor', { node: 'gone', peerIP: '10.0.0.254', asNumber: 65000 }),
          ].map((resource) => ({ op: 'create' as const, resource })),
        );
      } finally {
        await store.close();
      }
      // calicoctl ipam show: GROUPING, CIDR, IPS TOTAL, IPS IN USE, IPS FREE (show.go).
      const show = ok(cli(uri, ['ipam', 'show', '--show-blocks']));
      assert.match(show, /\| IP Pool +\| 10\.244\.0\.0\/24 +\| 256 +\| 3 \(1%\) +\| 253 \(99%\) +\|/);
      assert.match(show, /\| Block +\| 10\.244\.0\.64\/26 +\| 64 +\| 2 \(3%\) +\| 62 \(97%\) +\|/);
      assert.match(ok(cli(uri, ['delete', 'node', 'gone'])), /Successfully deleted 1 'Node' resource/);
      const after = ok(cli(uri, ['ipam', 'show', '--show-blocks']));
      assert.doesNotMatch(after, /10\.244\.0\.0\/26/, 'its emptied block is gone');
      assert.match(after, /\| IP Pool +\| 10\.244\.0\.0\/24 +\| 256 +\| 2 \(1%\)/);
      refused(cli(uri, ['get', 'bgppeer', 'gone-tor']), /not found/);
      refused(cli(uri, ['delete', 'node', 'gone']), /Node "gone" not found/);
    });
  });
}

suite('file');
suite('etcd');

describe('CLI without a store, version and completion', () => {
  test('a datastore URI pointing nowhere is an error for reads, not an empty cluster', async () => {
    refused(cli('file:/nonexistent/tabby-x', ['get', 'bgppeers']), /datastore file:\/nonexistent\/tabby-x: directory \/nonexistent\/tabby-x does not exist/);
    refused(cli('file:/nonexistent/tabby-x', ['bgp', 'peer', 'show']), /does not exist/);
    const [port] = await freePorts(1);
    refused(cli(`etcd:http://127.0.0.1:${port}`, ['get', 'bgppeers']), /cannot reach etcd/);
  });

  test('tabby version and --version: version, commit, Node, addon, eBPF objects', () => {
    const text = ok(cli('file:/nonexistent', ['version']));
    assert.match(text, /^Client Version: +\d+\.\d+\.\d+\nGit commit: +\S+\nNode: +v\d+.*\nAddon: +tabby_native\.node (sha256:[0-9a-f]{12}|missing)\neBPF objects: +/);
    assert.equal(ok(cli('file:/nonexistent', ['--version'])), text);
    const json = JSON.parse(ok(cli('file:/nonexistent', ['version', '-o', 'json'])));
    assert.deepEqual(Object.keys(json).sort(), ['addon', 'bpf', 'commit', 'node', 'version']);
    assert.equal(json.node, process.version);
  });

  test('shell completion through yargs', () => {
    assert.match(ok(cli('file:/nonexistent', ['completion'])), /--get-yargs-completions/);
    const words = ok(cli('file:/nonexistent', ['--get-yargs-completions', 'tabby', 'la'])).split('\n');
    assert.ok(words.includes('label') && words.includes('lab'), words.join(' '));
    assert.ok(ok(cli('file:/nonexistent', ['--get-yargs-completions', 'tabby', 'ipam', ''])).split('\n').includes('show'));
  });
});
