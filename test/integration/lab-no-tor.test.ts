// A lab without a ToR (`tabby lab up --tor none`): the workloads' gateway 169.254.1.1 is
// answered by proxy ARP only when the node has a unicast route for it (Linux arp_process
// proxies for RTN_UNICAST only), so the node routes the gateway alone beside its
// unreachable default. Two nodes on their own name prefix, one workload each.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectivity, labDown, labUp } from '../../src/lab/lab.js';
import { listNetns } from '../../src/lab/topology.js';
import { run } from '../../src/util/exec.js';
import { needs } from '../helpers/require.js';

test('lab without a ToR: workloads reach each other across nodes', { ...needs({ root: true, tools: ['ip', 'ping', 'sysctl'] }), timeout: 300_000 }, async () => {
  const prefix = `tbt-nt${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'tabby-lab-no-tor-'));
  try {
    const s = await labUp({ prefix, dir, nodes: 2, encap: 'ipip', dataplane: 'bpf', tor: 'none', datastore: 'file', subnets: 1, workloads: 1 });
    assert.equal(s.tor, null);
    const m = await connectivity(s);
    assert.ok(m.ok, m.rows.filter((r) => !r.ok).map((r) => `${r.from}→${r.to}`).join(', '));
    const w = s.nodes[0]!.workloads[0]!;
    assert.match((await run(['ip', 'neigh', 'show', '169.254.1.1'], { netns: w.namespace })).stdout, /lladdr ee:ee:ee:ee:ee:ee/, "the host side's proxy ARP answered");
    assert.match((await run(['ip', 'route', 'show', 'default'], { netns: s.nodes[0]!.namespace })).stdout, /^unreachable default/m, 'other destinations still fail fast');
  } finally {
    await labDown(dir, prefix);
    assert.deepEqual(await listNetns(`${prefix}-`), []);
  }
});
