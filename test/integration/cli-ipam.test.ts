// tabby ipam show|release|check against a file store, as calicoctl's ipam verbs behave:
// show's columns (calicoctl/calicoctl/commands/ipam/show.go ShowBlockUtilization: GROUPING,
// CIDR, IPS TOTAL, IPS IN USE, IPS FREE, counts "%.5g (%.f%%)"), show --ip ("IP … is in
// use", "Handle ID:", "… is not assigned"), release --ip, and check's report and fix.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { Ipam } from '../../src/ipam/ipam.js';
import type { IPPool } from '../../src/api/types.js';
import { tabby, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let ds: string;
const addrs: Record<string, string> = {};

before(async () => {
  tmp = tempDir('tabby-cli-ipam-');
  ds = `${tmp.dir}/ds`;
  const r = tabby(ds, ['apply', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool1}\nspec: {cidr: 10.244.0.0/16, blockSize: 26}\n');
  assert.equal(r.code, 0, r.stderr);
  const store = new FileDatastore(ds);
  const pools = (await store.list('IPPool')).items as IPPool[];
  const ipam = new Ipam(store);
  for (const h of ['net.used.eth0', 'net.leak.eth0', 'net.gone.eth0']) {
    addrs[h] = await ipam.assign('node1', h, 4, { pools, attributes: { containerID: h.split('.')[1], ifname: 'eth0', network: 'net' } });
  }
  const wep = (id: string, netns: string) => ({
    apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint',
    metadata: { name: `node1-cni-${id}-eth0`, namespace: 'default', annotations: { 'tabby/netns': netns } },
    spec: { orchestrator: 'cni', node: 'node1', containerID: id, endpoint: 'eth0', ipNetworks: [`${addrs[`net.${id}.eth0`]}/32`], profiles: ['net'], interfaceName: 'cali0123456789a' },
  });
  await store.txn([{ op: 'create', resource: wep('used', '/proc/self/ns/net') }, { op: 'create', resource: wep('gone', '/var/run/netns/tabby-no-such-ns') }]);
  await store.close();
});
after(() => tmp?.cleanup());

test('ipam show: per pool, per block, and one address', () => {
  const t = tabby(ds, ['ipam', 'show', '--show-blocks']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^\| +GROUPING +\| +CIDR +\| +IPS TOTAL +\| +IPS IN USE +\| +IPS FREE +\|$/m);
  assert.match(t.stdout, /^\| IP Pool +\| 10\.244\.0\.0\/16 +\| 65536 +\| 3 \(0%\) +\| 65533 \(100%\) +\|$/m);
  assert.match(t.stdout, /^\| Block +\| 10\.244\.\d+\.\d+\/26 +\| 64 +\| 3 \(5%\) +\| 61 \(95%\) +\|$/m);
  assert.doesNotMatch(tabby(ds, ['ipam', 'show']).stdout, /Block/, 'no block rows without --show-blocks');
  const j = JSON.parse(tabby(ds, ['ipam', 'show', '-o', 'json']).stdout);
  assert.deepEqual([j.pools[0].name, j.pools[0].inUse, j.pools[0].blocks[0].affinity], ['pool1', 3, 'host:node1']);
  const one = tabby(ds, ['ipam', 'show', '--ip', addrs['net.used.eth0']!]);
  assert.match(one.stdout, new RegExp(`^IP ${addrs['net.used.eth0']!.replace(/\./g, '\\.')} is in use\nHandle ID: net\\.used\\.eth0\nActive Owner Attributes:\n(.|\n)*  node: node1`));
  assert.equal(tabby(ds, ['ipam', 'show', '--ip', '10.244.255.255']).stdout, '10.244.255.255 is not assigned\n');
  assert.notEqual(tabby(ds, ['ipam', 'show', '--ip', 'nope']).code, 0);
});

test('ipam check reports leaked and container-gone allocations; --fix releases them and nothing else', () => {
  const young = tabby(ds, ['ipam', 'check', '--node', 'node1', '-o', 'json']);
  assert.equal(young.code, 0, young.stderr);
  const r = JSON.parse(young.stdout);
  assert.deepEqual(r.problems.map((p: any) => [p.kind, p.address, p.fixable]), [
    ['container-gone', addrs['net.gone.eth0'], true],
    ['leaked', addrs['net.leak.eth0'], false],
  ], 'a fresh allocation without endpoint may be an ADD in flight');
  const table = tabby(ds, ['ipam', 'check', '--node', 'node1', '--grace', '0']);
  // calicoctl/calicoctl/commands/ipam/check.go's summary lines.
  for (const line of [
    'Found 1 IPAM blocks.',
    'IPAM blocks record 3 allocations.',
    'Found 1 active IP pools.',
    'Found 0 node tunnel IPs.',
    'Found 2 workload IPs.',
    'Workloads and nodes are using 1 IPs.',
    'Found 2 IPs that are allocated in IPAM but not actually in use.',
    'Found 0 in-use IPs that are not in active IP pools.',
    'Found 0 in-use IPs that are in active IP pools but have no corresponding IPAM allocation.',
  ]) assert.ok(table.stdout.split('\n').includes(line), `${line} in\n${table.stdout}`);
  assert.match(table.stdout, /^\| +IP +\| +PROBLEM +\| +HANDLE +\| +NODE +\| +DETAIL +\|$/m);
  assert.match(table.stdout, /Check complete; found 2 problems\. Run with --fix/);
  const fix = tabby(ds, ['ipam', 'check', '--node', 'node1', '--grace', '0', '--fix']);
  assert.match(fix.stdout, /Released 2 addresses\./);
  const after = JSON.parse(tabby(ds, ['ipam', 'check', '--node', 'node1', '--grace', '0', '-o', 'json']).stdout);
  assert.deepEqual(after.problems, []);
  assert.equal(after.allocations, 1);
  const weps = tabby(ds, ['get', 'wep', '-o', 'json']);
  assert.deepEqual(JSON.parse(weps.stdout).items.map((w: any) => w.metadata.name), ['node1-cni-used-eth0'], 'the stale endpoint went too');
});

test('ipam release --ip frees one address; releasing a free one is an error', () => {
  const ip = addrs['net.used.eth0']!;
  const r = tabby(ds, ['ipam', 'release', '--ip', ip]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Successfully released IP address ${ip}\n`);
  const again = tabby(ds, ['ipam', 'release', '--ip', ip]);
  assert.equal(again.code, 1);
  // calicoctl/commands/ipam/release.go: "IP address %s is not assigned", non-zero exit.
  assert.match(again.stderr, /^tabby: IP address 10\.244\.\d+\.\d+ is not assigned\n$/);
  assert.equal(JSON.parse(tabby(ds, ['ipam', 'show', '-o', 'json']).stdout).pools[0].inUse, 0);
});
