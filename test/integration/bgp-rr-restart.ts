// A route reflector that restarts must not make its clients flap (RFC 4724 §4.1), run once
// per daemon by bgp-rr-restart-<daemon>.test.ts: two clients of one kind behind the Tabby
// speaker as reflector, each with the other's routes. Tabby is SIGKILLed and comes back
// restarting; neither client may lose the other client's routes from what it forwards on
// — BIRD's and FRR's kernels sampled every 50 ms, GoBGP's RIB and ExaBGP's received
// stream followed change by change (they have no kernel). The second client is kept from
// reconnecting for a few seconds (its BGP segments dropped in its own namespace): before
// selection deferral the first client got our table and End-of-RIB at once, without the
// second client's routes, and swept its stale copy of them.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/util/exec.js';
import { speakerOptions, withLab, type RunConfig, type SpeakerProc } from '../fixtures/bgp-speaker-harness.js';
import { needs } from '../helpers/require.js';
import { TOOLS, makeDaemon, type DaemonKind, type DaemonSpec } from '../helpers/interop.js';

const AS = 64512;

/**
 * The restart time each kind offers. FRR gets none: with `bgp graceful-restart` it sets the
 * Restart State bit on every session for its restart time after it starts, and RFC 4724
 * §4.1 has a restarting speaker not wait for the End-of-RIB of such a peer; without it FRR
 * is a helper (its default), which keeps our routes while we restart and which we wait for.
 * ExaBGP always sets the bit, so we never wait for it: its client must still not be sent a
 * withdrawal of the other's routes.
 */
const RESTART_TIME: Record<DaemonKind, number | undefined> = { bird: 60, gobgp: 60, frr: undefined, exabgp: 60 };

export function rrRestartSuite(kind: DaemonKind): void {
  describe(`a restarting Tabby route reflector with ${kind} clients`, needs({ root: true, tools: ['ip', ...TOOLS[kind]] }), () => {
    test(`two ${kind} clients never lose each other's routes while the reflector restarts`, async () => {
      await withLab(`tbr${kind.slice(0, 2)}`, 2, async (lab) => {
        const [s1, s2] = lab.net.spokes as [(typeof lab.net.spokes)[0], (typeof lab.net.spokes)[0]];
        const clients = [s1, s2].map((s, i) => {
          const d = makeDaemon(kind, s.ns, lab.dir, `client${i + 1}`);
          lab.defer(() => d.stop());
          const restartTime = RESTART_TIME[kind];
          const spec: DaemonSpec = {
            routerId: `10.255.0.${11 + i}`, asn: AS, local4: s.addr4, local6: s.addr6,
            ...(restartTime ? { restartTime } : {}),
            neighbors: [{ address: lab.net.hubAddr4, asn: AS }],
            routes: [
              { prefix: `198.51.${121 + i}.0/24`, nextHop: s.addr4 },
              { prefix: `2001:db8:c${i + 1}::/48`, nextHop: s.addr6 },
            ],
          };
          return { d, spec, routes: spec.routes.map((r) => r.prefix) };
        });
        const config = (restarting: boolean): RunConfig => ({
          speaker: speakerOptions('10.255.0.1', AS, { clusterId: '10.255.255.1', gracefulRestart: { restartTime: 60, restarting } }),
          peers: [
            { id: 'client1', address: s1.addr4, remoteAsn: AS, rrClient: true, localAddress6: lab.net.hubAddr6 },
            { id: 'client2', address: s2.addr4, remoteAsn: AS, rrClient: true, localAddress6: lab.net.hubAddr6 },
          ],
          kernel: true,
        });
        for (const c of clients) await c.d.start(c.spec);
        let tabby: SpeakerProc = lab.tabby(config(false));
        const [c1, c2] = clients as [(typeof clients)[0], (typeof clients)[0]];
        const ctx = () => `\nclient1:\n${c1.d.log()}\nclient2:\n${c2.d.log()}\ntabby:\n${tabby.stderr.slice(-3000)}`;
        // Each client forwards on the other's routes, reflected by Tabby.
        for (const [me, other] of [[c1, c2], [c2, c1]] as const) {
          await tabby.until(`${me.spec.routerId} has the other client's routes`, async () => {
            const f = await me.d.fib();
            return other.routes.every((p) => f.has(p));
          }, 30_000);
        }

        const watches = [await c1.d.watch(c2.routes), await c2.d.watch(c1.routes)];
        lab.defer(() => Promise.allSettled(watches.map((w) => w.stop())));
        await tabby.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 1500));
        // Client 2 is late: nothing on port 179 reaches it for 4 s.
        const hold = (op: '-I' | '-D') => Promise.all(['--dport', '--sport'].map((dir) => run(['iptables', '-w', op, 'INPUT', '-p', 'tcp', dir, '179', '-j', 'DROP'], { netns: s2.ns })));
        await hold('-I');
        lab.defer(() => hold('-D').catch(() => undefined));
        tabby = lab.tabby(config(true));
        await new Promise((r) => setTimeout(r, 4000));
        await hold('-D');
        await tabby.until('both clients back and restart recovery over', async () => {
          const st = await tabby.request({ cmd: 'status' });
          return st.status?.every((p) => p.state === 'Established') && (st as { recovering?: boolean }).recovering === false;
        }, 30_000);
        // The clients have our End-of-RIB and swept what was stale.
        await new Promise((r) => setTimeout(r, 2000));
        const [w1, w2] = await Promise.all(watches.map((w) => w.stop()));
        for (const [w, who] of [[w1!, 'client1'], [w2!, 'client2']] as const) {
          if (!w.continuous) assert.ok(w.samples >= 40, `${who} sampled only ${w.samples} times`);
          assert.deepEqual(w.missing, [], `${who} lost the other client's routes${ctx()}`);
        }
        for (const [me, other] of [[c1, c2], [c2, c1]] as const) {
          const f = await me.d.fib();
          assert.ok(other.routes.every((p) => f.has(p)), `${me.spec.routerId} has the other client's routes after the restart${ctx()}`);
        }
        await tabby.stop();
      });
    });
  });
}
