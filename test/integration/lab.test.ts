// The lab end to end: three nodes and a BIRD ToR, for each encapsulation and dataplane.
// Lab namespaces are named tabby-*, so every lab test lives in this one file (sequential).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { birdc } from '../../src/lab/bird.js';
import { connectivity, labDown, labUp, nodeStatus, type LabOptions } from '../../src/lab/lab.js';
import type { LabState } from '../../src/lab/lab-state.js';
import { listNetns } from '../../src/lab/topology.js';
import { run } from '../../src/util/exec.js';

/** GET a URL from inside a namespace (the agent's health server listens on its loopback). */
async function httpGet(netns: string, url: string): Promise<{ status: number; body: string }> {
  const py = `import urllib.request,urllib.error,json,sys
try:
  r=urllib.request.urlopen(sys.argv[1],timeout=5);print(json.dumps([r.status,r.read().decode()]))
except urllib.error.HTTPError as e:
  print(json.dumps([e.code,e.read().decode()]))`;
  const r = await run(['python3', '-c', py, url], { netns, timeoutMs: 10_000 });
  const [status, body] = JSON.parse(r.stdout) as [number, string];
  return { status, body };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function withLab(opts: Partial<LabOptions>, body: (s: LabState) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-lab-test-'));
  let state: LabState | undefined;
  try {
    state = await labUp({ nodes: 3, encap: 'ipip', dataplane: 'bpf', tor: 'bird', datastore: 'file', subnets: 1, workloads: 1, dir, ...opts });
    await body(state);
  } finally {
    await labDown(dir);
    assert.deepEqual(await listNetns('tabby-'), [], 'no lab namespace left');
    for (const pid of state?.pids ?? []) assert.ok(!alive(pid), `process ${pid} stopped`);
    assert.ok(!existsSync(dir), 'lab directory removed');
  }
}

describe('tabby lab', { concurrency: false }, () => {
  for (const [encap, dataplane] of [['ipip', 'bpf'], ['vxlan', 'bpf'], ['none', 'bpf'], ['vxlan', 'iptables']] as const) {
    test(`${encap} over the ${dataplane} dataplane: full connectivity, sessions up, ToR has every block`, { timeout: 240_000 }, async () => {
      await withLab({ encap, dataplane }, async (s) => {
        const m = await connectivity(s);
        assert.deepEqual(m.rows.filter((r) => !r.ok), [], 'every path of the matrix works');
        for (const n of s.nodes) {
          const st = await nodeStatus(n);
          assert.ok(st, `${n.name} answers node status`);
          assert.equal(st.peers.length, 3, `${n.name}: two mesh peers and the ToR`);
          for (const p of st.peers) assert.equal(p.info, 'Established', `${n.name} → ${p.address}`);
        }
        const routes = await birdc(s.tor!.socket!, 'show route');
        const blocks = [...routes.matchAll(/^(10\.244\.\d+\.\d+\/26)/gm)].map((x) => x[1]);
        assert.equal(new Set(blocks).size, 3, `the ToR has one block per node:\n${routes}`);
        if (encap === 'ipip') {
          const ready = await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9099/readiness');
          assert.equal(ready.status, 200, ready.body);
          assert.match(ready.body, /3 of 3 BGP sessions established/);
          const metrics = await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9099/metrics');
          assert.match(metrics.body, /tabby_bgp_session_established\{peer="Global_10_255_0_1"[^}]*\} 1/);
          assert.match(metrics.body, /tabby_dataplane_routes_programmed [1-9]/);
          assert.match(metrics.body, /tabby_bgp_prefixes\{[^}]*kind="advertised"\} 1/);
          assert.equal((await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9099/liveness')).status, 200);
        }
      });
    });
  }
});
