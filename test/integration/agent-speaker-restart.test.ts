// The agent restarts its BGP speaker when the node's identity changes (router id, listen
// address, cluster id). That restart keeps the kernel's routes, so the new speaker is a
// restarting speaker (RFC 4724 §4.1): R bit, F bits ("forwarding preserved"), selection
// deferral. With F unset a helper (BIRD) drops our routes the moment we are back, before
// we send them again. Tested with the real agent (`tabby node run`) and BIRD, both kernels
// sampled every 50 ms across the restart.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { withLab } from '../fixtures/bgp-speaker-harness.js';
import { Bird, birdBase, birdBgp } from '../helpers/bird.js';
import { needs } from '../helpers/require.js';
import { tabby as cli, TABBY } from '../helpers/cli.js';
import { killAndWait } from '../helpers/daemon.js';
import { kernelPrefixes, sampler } from '../helpers/interop.js';
import { waitFor } from '../../src/util/exec.js';

describe('the agent restarting its speaker', needs({ root: true, tools: ['ip', 'bird', 'birdc'] }), () => {
  test('a new listener (bindMode NodeIP) restarts the speaker as restarting (F bit): BIRD and our kernel keep every route', async () => {
    await withLab('tbas', 1, async (lab) => {
      const s = lab.net.spokes[0]!;
      const store = join(lab.dir, 'store');
      mkdirSync(store);
      const apply = (yaml: string) => {
        const r = cli(store, ['apply', '-f', '-'], yaml);
        assert.equal(r.code, 0, r.stderr);
      };
      apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 10.77.0.0/16, ipipMode: Never, vxlanMode: Never}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: bird}
spec: {peerIP: ${s.addr4}, asNumber: 65010}
`);
      const bird = new Bird(s.ns, lab.dir, 'bird');
      lab.defer(() => bird.stop({ kill: true }));
      await bird.start(
        birdBase('10.255.0.11', { v4: ['198.51.100.0/24'] }) +
          'protocol kernel k4 { ipv4 { import none; export all; }; graceful restart on; }\n' +
          birdBgp({ name: 'tabby', local: s.addr4, localAs: 65010, neighbor: lab.net.hubAddr4, neighborAs: 64512, ipv6: false, extra: ['graceful restart on;'] }),
      );
      const argv = [TABBY, '--datastore', `file:${store}`, 'node', 'run', '--name', 'n1', '--dataplane', 'none', '--state-dir', join(lab.dir, 'state'), '--ip', `cidr=${lab.net.hubAddr4}/32`, '--health-port', '-1'];
      const agent = spawn('ip', ['netns', 'exec', lab.net.hub, process.execPath, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      agent.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
      lab.defer(() => (agent.pid && agent.exitCode === null ? killAndWait(agent, agent.pid, 'SIGKILL') : undefined));

      // Our block at BIRD (in its kernel), BIRD's route in ours.
      const block = await waitFor('BIRD has our block in its kernel', async () => [...(await kernelPrefixes(s.ns))].find((p) => p.startsWith('10.77.')), 40_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}\nagent log: ${log.slice(-4000)}`);
      });
      await waitFor('BIRD\'s route in the node kernel', async () => (await kernelPrefixes(lab.net.hub)).has('198.51.100.0/24'), 20_000, 200);

      const atBird = await sampler(() => kernelPrefixes(s.ns), [block]);
      const atNode = await sampler(() => kernelPrefixes(lab.net.hub), ['198.51.100.0/24']);
      lab.defer(() => Promise.allSettled([atBird.stop(), atNode.stop()]));
      // The listener moves from :: to the node's address: the speaker is replaced.
      apply(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {bindMode: NodeIP}
`);
      await waitFor('the speaker restarted', () => log.includes('speaker identity changed'), 20_000, 100);
      // BIRD sees the new session restarting with forwarding kept, and it settles.
      const caps = await waitFor('BIRD Established again with a restarting Tabby', async () => {
        const p = await bird.protocol('tabby');
        return p.bgpState === 'Established' && /Restart recovery/.test(p.raw) ? p.raw : undefined;
      }, 30_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}\nagent log: ${log.slice(-4000)}`);
      });
      assert.match(caps, /AF preserved:\s+ipv4/, caps);
      await waitFor('BIRD done with the graceful restart', async () => !/Neighbor graceful restart active/.test((await bird.protocol('tabby')).raw), 30_000, 200);
      await new Promise((r) => setTimeout(r, 1000));
      const [b, n] = [await atBird.stop(), await atNode.stop()];
      assert.ok(b.samples >= 20 && n.samples >= 20, `samples ${b.samples}, ${n.samples}`);
      assert.deepEqual(b.missing, [], 'BIRD lost our block from its kernel');
      assert.deepEqual(n.missing, [], 'the node lost BIRD\'s route from its kernel');
      await killAndWait(agent, agent.pid!, 'SIGTERM');
    });
  });
});
