// Two BFD sessions back to back on a fake clock: the handshake at the slow rate, the
// negotiated rate with its jitter, detection within Detect Mult × interval, and a Poll
// Sequence on a parameter change. No sockets, no sleeps.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../helpers/fake-clock.js';
import { decodeControl, type BfdControl } from '../../../src/bfd/codec.js';
import { BfdState } from '../../../src/bfd/constants.js';
import type { StateChange } from '../../../src/bfd/fsm.js';
import { BfdSession } from '../../../src/bfd/session.js';

const FAST = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };

interface Sent {
  at: number;
  p: BfdControl;
}

/** a ⇄ b; `link.up = false` drops everything (both ways) while kept in the logs. */
function pair(random = () => 0.5) {
  const clock = new FakeClock(0);
  const link = { up: true };
  const log: Record<'a' | 'b', Sent[]> = { a: [], b: [] };
  const changes: Record<'a' | 'b', StateChange[]> = { a: [], b: [] };
  const sessions = {} as Record<'a' | 'b', BfdSession>;
  const make = (me: 'a' | 'b', other: 'a' | 'b', discr: number) =>
    new BfdSession({
      localDiscr: discr,
      params: FAST,
      clock,
      random,
      send: (buf) => {
        const p = decodeControl(buf);
        log[me].push({ at: clock.now(), p });
        // Delivered on the next tick, as a datagram would be.
        if (link.up) clock.setTimeout(() => sessions[other].receive(p), 0);
      },
      onChange: (c) => changes[me].push(c),
    });
  sessions.a = make('a', 'b', 0xa);
  sessions.b = make('b', 'a', 0xb);
  return { clock, link, log, changes, a: sessions.a, b: sessions.b };
}

const gaps = (xs: Sent[]) => xs.slice(1).map((x, i) => x.at - xs[i]!.at);

describe('BFD session timers (RFC 5880 §6.8.3, §6.8.4, §6.8.7)', () => {
  test('the three-way handshake brings both Up, then packets flow every 75–100 ms', async () => {
    const t = pair(() => 0.5);
    t.a.start();
    await t.clock.advance(10);
    t.b.start();
    await t.clock.advance(50);
    assert.equal(t.a.state, BfdState.Up);
    assert.equal(t.b.state, BfdState.Up);
    assert.deepEqual(t.changes.a.map((c) => c.to), [BfdState.Init, BfdState.Up]);
    const upAt = t.clock.now();
    await t.clock.advance(2000);
    const steady = t.log.a.filter((s) => s.at > upAt + 200 && !s.p.final);
    assert.ok(steady.length >= 15, `${steady.length} packets in 2 s`);
    for (const g of gaps(steady)) assert.ok(g >= 75 && g <= 100, `gap ${g} ms`);
    // The Poll Sequence of going Up ended: no P bit any more.
    assert.ok(steady.every((s) => !s.p.poll));
  });

  test('jitter spans 0–25 % below the interval (random 0 → 75 %, random → 1 → ~100 %)', async () => {
    for (const [r, want] of [[0, 75], [0.9999, 100]] as const) {
      const t = pair(() => r);
      t.a.start();
      t.b.start();
      await t.clock.advance(3000);
      const late = t.log.a.filter((s) => s.at > 2000 && !s.p.final);
      for (const g of gaps(late)) assert.ok(Math.abs(g - want) < 1, `random ${r}: gap ${g}, want ${want}`);
    }
  });

  test('before Up the rate is slow: DesiredMinTx 1 s, 750–1000 ms between packets (§6.8.3)', async () => {
    const t = pair(() => 0.5);
    t.link.up = false;
    t.a.start();
    await t.clock.advance(5000);
    assert.ok(t.log.a.length >= 5 && t.log.a.length <= 7, `${t.log.a.length} packets`);
    for (const s of t.log.a) assert.equal(s.p.desiredMinTxInterval, 1_000_000);
    for (const g of gaps(t.log.a)) assert.equal(g, 875);
  });

  test('a cut link is detected one Detection Time (3 × 100 ms) after the last packet (§6.8.4)', async () => {
    const t = pair();
    t.a.start();
    t.b.start();
    await t.clock.advance(1000);
    assert.equal(t.a.state, BfdState.Up);
    t.link.up = false;
    const lastFromB = t.log.b.at(-1)!.at;
    await t.clock.advance(400);
    const down = t.changes.a.find((c) => c.from === BfdState.Up);
    assert.deepEqual(down, { from: BfdState.Up, to: BfdState.Down, diag: 1 });
    const status = t.a.status();
    assert.equal(status.state, 'Down');
    assert.equal(status.diag, 'Control Detection Time Expired');
    assert.ok(Math.abs(status.since.getTime() - (lastFromB + 300)) < 1, `down at ${status.since.getTime()}, last packet at ${lastFromB}`);
    assert.equal(status.counters.downs, 1);
    // Back to the slow rate, telling the remote why.
    await t.clock.advance(3000);
    const after = t.log.a.filter((s) => s.at > lastFromB + 300);
    assert.ok(after.every((s) => s.p.state === BfdState.Down && s.p.diag === 1 && s.p.desiredMinTxInterval === 1_000_000));
    // The link back: Up again.
    t.link.up = true;
    await t.clock.advance(3000);
    assert.equal(t.a.state, BfdState.Up);
    assert.equal(t.b.state, BfdState.Up);
  });

  test('a parameter change while Up runs a Poll Sequence; the slower rate applies after Final (§6.8.3)', async () => {
    const t = pair(() => 0);
    t.a.start();
    t.b.start();
    await t.clock.advance(1000);
    const before = t.log.a.length;
    t.a.configure({ desiredMinTxUs: 300_000, requiredMinRxUs: 100_000, detectMult: 3 });
    await t.clock.advance(1000);
    const polls = t.log.a.slice(before).filter((s) => s.p.poll);
    assert.ok(polls.length >= 1, 'P set');
    assert.equal(polls[0]!.p.desiredMinTxInterval, 300_000);
    assert.ok(t.log.b.some((s) => s.p.final), 'answered with F');
    const late = t.log.a.filter((s) => s.at > t.clock.now() - 700);
    for (const g of gaps(late)) assert.equal(g, 225, '75 % of 300 ms');
    assert.equal(t.b.status().detectionTimeMs, 900, 'b sees 3 × 300 ms');
    assert.equal(t.a.state, BfdState.Up);
  });

  test('AdminDown goes out at once and the remote goes Down with diag 3 (§6.8.16, §6.8.6)', async () => {
    const t = pair();
    t.a.start();
    t.b.start();
    await t.clock.advance(1000);
    t.a.setAdminDown(true);
    await t.clock.advance(1);
    assert.equal(t.log.a.at(-1)!.p.state, BfdState.AdminDown);
    assert.deepEqual(t.changes.b.at(-1), { from: BfdState.Up, to: BfdState.Down, diag: 3 });
  });

  test('a Down from a new remote session (another discriminator) marks a remote restart, not a failed path', async () => {
    // FRR's bfdd replaces its session when bgpd re-registers the peer with a source address
    // (FRRouting/frr issue #17337); the new one starts Down with its own discriminator.
    const t = pair();
    t.a.start();
    t.b.start();
    await t.clock.advance(1000);
    t.b.stop();
    const fresh = { ...t.log.b.at(-1)!.p, state: BfdState.Down, myDiscriminator: 0xc, yourDiscriminator: 0, poll: false, final: false };
    t.a.receive(fresh);
    assert.deepEqual(t.changes.a.at(-1), { from: BfdState.Up, to: BfdState.Down, diag: 3 });
    assert.equal(t.a.status().remoteRestarted, true);
    // Silence after that is a failed path after all (§6.8.4).
    await t.clock.advance(5000);
    assert.equal(t.a.status().remoteRestarted, false);
  });

  test('a Down from the same remote session is the neighbour signalling a failure (§6.8.6)', async () => {
    const t = pair();
    t.a.start();
    t.b.start();
    await t.clock.advance(1000);
    t.b.stop();
    t.a.receive({ ...t.log.b.at(-1)!.p, state: BfdState.Down, diag: 1, poll: false, final: false });
    assert.equal(t.a.state, BfdState.Down);
    assert.equal(t.a.status().remoteRestarted, false);
  });
});
