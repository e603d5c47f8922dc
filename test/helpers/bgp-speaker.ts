// Steps the speaker interop tests (BIRD, GoBGP, route reflection) share: starting BIRD
// in a spoke, waiting for a peer's error, learning and withdrawing the one route per
// family the peer announces, and the hold timer expiring once the peer goes silent.

import assert from 'node:assert/strict';
import { run } from '../../src/util/exec.js';
import type { Lab, PrintedPath, SpeakerProc, Spoke } from '../fixtures/bgp-speaker-harness.js';
import { Bird } from './bird.js';

/** BIRD in spoke `spoke` (named bird1, bird2, …) with `config`, killed when the lab ends. */
export async function startBird(lab: Lab, spoke: number, config: string): Promise<Bird> {
  const bird = new Bird(lab.net.spokes[spoke]!.ns, lab.dir, `bird${spoke + 1}`);
  lab.defer(() => bird.stop({ kill: true }));
  await bird.start(config);
  return bird;
}

/** Waits until peer `id`'s last error is `error`; returns its status then. */
export async function peerError(
  tabby: SpeakerProc, id: string, error: string, what: string, ms?: number, every?: number,
): ReturnType<SpeakerProc['peer']> {
  return tabby.until(what, async () => {
    const p = await tabby.peer(id);
    return p.lastError === error ? p : undefined;
  }, ms, every);
}

/** Waits until Tabby has exactly one IPv4 and one IPv6 route; returns them. */
export async function learnedOnePerFamily(tabby: SpeakerProc, what: string): Promise<PrintedPath[]> {
  return tabby.until(what, async () => {
    const t = await tabby.table();
    return t.counts.ipv4 === 1 && t.counts.ipv6 === 1 ? t.routes : undefined;
  });
}

/**
 * After `withdraw` (the peer withdrawing 198.51.100.0/24), Tabby's best path for it
 * goes and only the IPv6 route is left.
 */
export async function expectPeerWithdrawal(tabby: SpeakerProc, withdraw: () => Promise<unknown>): Promise<void> {
  const mark = tabby.events.length;
  await withdraw();
  const gone = await tabby.waitFor((e) => e.event === 'best' && JSON.stringify(e.changes ?? []).includes('"198.51.100.0/24"'), 10_000, mark);
  assert.deepEqual((gone?.changes as unknown[])?.[0], { family: 'ipv4', prefix: '198.51.100.0/24', nexthops: [], peerId: null });
  assert.deepEqual((await tabby.table()).counts, { ipv4: 0, ipv6: 1 });
}

/**
 * Drops everything the peer in spoke `s` sends to the hub, then checks that peer `id`'s
 * hold timer (6 s) expires after 3 to 8 s; returns the peer's status then.
 */
export async function expectHoldTimerExpiry(lab: Lab, tabby: SpeakerProc, s: Spoke, id: string): ReturnType<SpeakerProc['peer']> {
  await run(['iptables', '-I', 'OUTPUT', '-p', 'tcp', '-d', lab.net.hubAddr4, '-j', 'DROP'], { netns: s.ns });
  const t0 = Date.now();
  const down = await peerError(tabby, id, 'Hold timer expired', 'Hold timer expired', 12_000, 100);
  const waited = Date.now() - t0;
  assert.ok(waited >= 3000 && waited <= 8000, `expired after ${waited} ms`);
  assert.notEqual(down.state, 'Established');
  assert.equal(down.lastNotification?.code, 4);
  return down;
}
