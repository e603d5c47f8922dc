// The BFD state machine, one pure function per event, each case taken from the text of
// RFC 5880 (section cited per test). Times are microseconds.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BfdControl } from '../../../src/bfd/codec.js';
import { BfdDiag, BfdState } from '../../../src/bfd/constants.js';
import {
  configure,
  controlPacket,
  detectionExpired,
  detectionTimeUs,
  initialVars,
  jittered,
  receive,
  setAdminDown,
  txIntervalUs,
  type BfdParams,
  type BfdVars,
} from '../../../src/bfd/fsm.js';

const params: BfdParams = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };
const LOCAL = 0x1111;
const REMOTE = 0x2222;

/** A packet from the remote; defaults: Down, no Your Discriminator, 1 s / 100 ms, ×3. */
function pkt(o: Partial<BfdControl> = {}): BfdControl {
  return {
    version: 1,
    diag: 0,
    state: BfdState.Down,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    authPresent: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    length: 24,
    myDiscriminator: REMOTE,
    yourDiscriminator: 0,
    desiredMinTxInterval: 1_000_000,
    requiredMinRxInterval: 100_000,
    requiredMinEchoRxInterval: 0,
    ...o,
  };
}

/** Through the three-way handshake to Up (Down → Init on Down, Init → Up on Up). */
function up(p: BfdParams = params): BfdVars {
  let v = receive(initialVars(p, LOCAL), pkt()).vars;
  v = receive(v, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL })).vars;
  assert.equal(v.state, BfdState.Up);
  return v;
}

describe('BFD state machine (RFC 5880 §6.8)', () => {
  test('§6.8.1 initial values; §6.8.3 at least one second between packets while not Up', () => {
    const v = initialVars(params, LOCAL);
    assert.deepEqual([v.state, v.remoteState, v.remoteDiscr, v.localDiag, v.remoteMinRx], [BfdState.Down, BfdState.Down, 0, 0, 1]);
    assert.equal(v.desiredMinTx, 1_000_000);
    assert.equal(v.requiredMinRx, 100_000);
    assert.equal(txIntervalUs(v), 1_000_000);
    const c = controlPacket(v, false);
    assert.deepEqual([c.state, c.myDiscriminator, c.yourDiscriminator, c.desiredMinTxInterval, c.requiredMinEchoRxInterval, c.demand], [BfdState.Down, LOCAL, 0, 1_000_000, 0, false]);
  });

  test('§6.8.6: Down + Down → Init, Init + Up → Up; Down + Init → Up; Init + Init → Up', () => {
    const a = receive(initialVars(params, LOCAL), pkt());
    assert.deepEqual(a.change, { from: BfdState.Down, to: BfdState.Init, diag: 0 });
    assert.equal(a.vars.remoteDiscr, REMOTE, 'bfd.RemoteDiscr is My Discriminator received');
    const b = receive(a.vars, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL }));
    assert.deepEqual(b.change, { from: BfdState.Init, to: BfdState.Up, diag: 0 });
    const c = receive(initialVars(params, LOCAL), pkt({ state: BfdState.Init, yourDiscriminator: LOCAL }));
    assert.equal(c.vars.state, BfdState.Up);
    const d = receive(a.vars, pkt({ state: BfdState.Init, yourDiscriminator: LOCAL }));
    assert.equal(d.vars.state, BfdState.Up);
  });

  test('§6.8.6: Up + Down or AdminDown → Down with diag 3; Up + Init stays Up; Down + AdminDown stays Down', () => {
    const v = up();
    for (const state of [BfdState.Down, BfdState.AdminDown]) {
      const s = receive(v, pkt({ state, yourDiscriminator: LOCAL }));
      assert.deepEqual(s.change, { from: BfdState.Up, to: BfdState.Down, diag: BfdDiag.NEIGHBOR_SIGNALED_SESSION_DOWN });
      assert.equal(s.vars.desiredMinTx, 1_000_000, 'back to the slow rate once not Up (§6.8.3)');
    }
    assert.equal(receive(v, pkt({ state: BfdState.Init, yourDiscriminator: LOCAL })).change, undefined);
    assert.equal(receive(initialVars(params, LOCAL), pkt({ state: BfdState.AdminDown })).change, undefined);
  });

  test('§6.8.6 discards: A bit without authentication, a live state with Your Discriminator zero, a wrong Your Discriminator', () => {
    const v = initialVars(params, LOCAL);
    assert.equal(receive(v, pkt({ authPresent: true })).discarded, 'auth');
    assert.equal(receive(v, pkt({ state: BfdState.Up })).discarded, 'your-discriminator');
    assert.equal(receive(v, pkt({ state: BfdState.Init, yourDiscriminator: 0 })).discarded, 'your-discriminator');
    assert.equal(receive(v, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL + 1 })).discarded, 'your-discriminator');
    assert.equal(receive(v, pkt({ authPresent: true })).vars, v, 'a discarded packet changes nothing');
  });

  test('§6.8.6: in AdminDown the remote variables are learned but the packet goes no further', () => {
    const v = setAdminDown(initialVars(params, LOCAL), true).vars;
    const s = receive(v, pkt({ state: BfdState.Init, yourDiscriminator: LOCAL }));
    assert.equal(s.discarded, 'admin-down');
    assert.equal(s.vars.state, BfdState.AdminDown);
    assert.equal(s.vars.remoteDiscr, REMOTE);
  });

  test('§6.8.6/§6.8.7: a Poll is answered with Final set and Poll clear', () => {
    const s = receive(up(), pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, poll: true }));
    assert.equal(s.sendFinal, true);
    const c = controlPacket(s.vars, true);
    assert.deepEqual([c.final, c.poll], [true, false]);
  });

  test('§6.8.3: going Up, DesiredMinTx drops to the configured value by a Poll Sequence that Final ends', () => {
    const v = up();
    assert.equal(v.desiredMinTx, 100_000);
    assert.equal(v.polling, true);
    assert.equal(controlPacket(v, false).poll, true);
    // A decrease applies at once: max(DesiredMinTx 100 ms, RemoteMinRx 100 ms).
    assert.equal(txIntervalUs(v), 100_000);
    const done = receive(v, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, final: true, desiredMinTxInterval: 100_000 })).vars;
    assert.equal(done.polling, false);
    assert.equal(controlPacket(done, false).poll, false);
  });

  test('§6.8.3: while Up a higher DesiredMinTx waits for Final; a lower RequiredMinRx keeps the old Detection Time until then', () => {
    const settled = receive(up(), pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, final: true, desiredMinTxInterval: 50_000, requiredMinRxInterval: 50_000 })).vars;
    assert.equal(txIntervalUs(settled), 100_000);
    assert.equal(detectionTimeUs(settled), 3 * 100_000);

    const slower = configure(settled, { desiredMinTxUs: 300_000, requiredMinRxUs: 20_000, detectMult: 3 });
    assert.equal(slower.polling, true);
    assert.equal(controlPacket(slower, false).desiredMinTxInterval, 300_000, 'the new value is advertised at once');
    assert.equal(txIntervalUs(slower), 100_000, 'the interval used stays until the Poll Sequence ends');
    assert.equal(detectionTimeUs(slower), 3 * 100_000, 'the previous RequiredMinRx until Final');

    const after = receive(slower, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, final: true, desiredMinTxInterval: 50_000, requiredMinRxInterval: 50_000 })).vars;
    assert.equal(txIntervalUs(after), 300_000);
    assert.equal(detectionTimeUs(after), 3 * 50_000, 'Detect Mult × max(RequiredMinRx 20 ms, remote DesiredMinTx 50 ms)');
  });

  test('§6.8.3: while not Up a change applies at once, without a Poll Sequence', () => {
    const v = configure(initialVars(params, LOCAL), { desiredMinTxUs: 2_000_000, requiredMinRxUs: 500_000, detectMult: 5 });
    assert.deepEqual([v.polling, v.desiredMinTx, v.txBasis, v.rxBasis, v.detectMult], [false, 2_000_000, 2_000_000, 500_000, 5]);
  });

  test('§6.8.4: Detection Time = remote Detect Mult × max(RequiredMinRx, remote DesiredMinTx)', () => {
    let v = initialVars(params, LOCAL);
    assert.equal(detectionTimeUs(v), undefined, 'nothing heard yet');
    v = receive(v, pkt({ detectMult: 5, desiredMinTxInterval: 30_000 })).vars;
    assert.equal(detectionTimeUs(v), 5 * 100_000);
    v = receive(v, pkt({ detectMult: 2, desiredMinTxInterval: 400_000 })).vars;
    assert.equal(detectionTimeUs(v), 2 * 400_000);
  });

  test('§6.8.7: transmit interval = max(DesiredMinTx, RemoteMinRx); none while RemoteMinRx is zero or the remote is in Demand mode', () => {
    let v = up();
    v = receive(v, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, requiredMinRxInterval: 250_000 })).vars;
    assert.equal(txIntervalUs(v), 250_000);
    assert.equal(txIntervalUs(receive(v, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, requiredMinRxInterval: 0 })).vars), undefined);
    const demand = receive(v, pkt({ state: BfdState.Up, yourDiscriminator: LOCAL, demand: true, final: true })).vars;
    assert.equal(txIntervalUs(demand), undefined);
    assert.notEqual(txIntervalUs({ ...demand, polling: true }), undefined, 'a Poll Sequence is still transmitted');
  });

  test('§6.8.4/§6.8.1: the Detection Time passing takes Up to Down (diag 1) and zeroes RemoteDiscr', () => {
    const s = detectionExpired(up());
    assert.deepEqual(s.change, { from: BfdState.Up, to: BfdState.Down, diag: BfdDiag.CONTROL_DETECTION_TIME_EXPIRED });
    assert.equal(s.vars.remoteDiscr, 0);
    assert.equal(controlPacket(s.vars, false).diag, 1, 'the Diag field says why');
    const down = detectionExpired(receive(initialVars(params, LOCAL), pkt({ state: BfdState.AdminDown })).vars);
    assert.equal(down.change, undefined);
    assert.equal(down.vars.remoteDiscr, 0);
  });

  test('§6.8.7 jitter: 75–100 % of the interval, 75–90 % with Detect Mult 1', () => {
    assert.equal(jittered(1000, 3, 0), 750);
    assert.ok(jittered(1000, 3, 0.999999) > 999 && jittered(1000, 3, 0.999999) < 1000);
    assert.equal(jittered(1000, 1, 0), 750);
    assert.ok(jittered(1000, 1, 0.999999) < 900);
  });

  test('§6.8.16: AdminDown with diag 7, and back to Down', () => {
    const a = setAdminDown(up(), true);
    assert.deepEqual(a.change, { from: BfdState.Up, to: BfdState.AdminDown, diag: BfdDiag.ADMINISTRATIVELY_DOWN });
    assert.equal(controlPacket(a.vars, false).state, BfdState.AdminDown);
    assert.equal(setAdminDown(a.vars, false).vars.state, BfdState.Down);
  });
});
