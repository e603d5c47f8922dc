// The BFD manager over an in-memory network: sessions found by Your Discriminator or by
// source address (RFC 5880 §6.8.6), packets from elsewhere dropped and counted, peers
// added, re-timed and removed (AdminDown first, §6.8.16), and a missing receive socket
// reported instead of thrown.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../helpers/fake-clock.js';
import { BfdManager, type BfdChange, type BfdPeer } from '../../../src/bfd/bfd-manager.js';
import { decodeControl, encodeControl } from '../../../src/bfd/codec.js';
import { BfdState } from '../../../src/bfd/constants.js';
import { Net } from './memory-net.js';

const peerOf = (id: string, address: string, local: string): BfdPeer => ({ id, address, local, minTxMs: 100, minRxMs: 100, multiplier: 3 });

async function twoHosts() {
  const clock = new FakeClock(0);
  const net = new Net(clock);
  const a = new BfdManager({ transport: net.transport('10.0.0.1'), clock, random: () => 0.5 });
  const b = new BfdManager({ transport: net.transport('10.0.0.2'), clock, random: () => 0.5 });
  const changes: BfdChange[] = [];
  a.onChange((c) => changes.push(c));
  await a.setPeers([peerOf('Node_10_0_0_2', '10.0.0.2', '10.0.0.1')]);
  await b.setPeers([peerOf('tabby', '10.0.0.1', '10.0.0.2')]);
  await clock.advance(3000);
  return { clock, net, a, b, changes };
}

describe('BFD manager', () => {
  test('two managers come Up; the change reaches the listener by the peer id', async () => {
    const { a, b, changes } = await twoHosts();
    assert.equal(a.peer('Node_10_0_0_2')?.state, 'Up');
    assert.equal(b.peer('tabby')?.state, 'Up');
    assert.deepEqual(changes.map((c) => `${c.from}->${c.to}`), ['Down->Init', 'Init->Up']);
    const s = a.peer('Node_10_0_0_2')!;
    assert.equal(s.remoteDiscriminator, b.peer('tabby')!.localDiscriminator);
    assert.deepEqual([s.local, s.localPort, s.txIntervalMs, s.detectionTimeMs], ['10.0.0.1', 49152, 100, 300]);
    await a.stop();
    await b.stop();
  });

  test('a cut is reported as Up → Down with "Control Detection Time Expired"', async () => {
    const { clock, net, a, b, changes } = await twoHosts();
    net.cut = true;
    await clock.advance(400);
    assert.deepEqual(changes.at(-1), { id: 'Node_10_0_0_2', from: 'Up', to: 'Down', diag: 'Control Detection Time Expired' });
    net.cut = false;
    await clock.advance(3000);
    assert.equal(a.peer('Node_10_0_0_2')?.state, 'Up');
    await a.stop();
    await b.stop();
  });

  test('§6.8.6 demultiplexing: unknown Your Discriminator, strangers and bad packets are dropped and counted', async () => {
    const { a, b, net } = await twoHosts();
    const deliver = net.hosts.get('10.0.0.1')!;
    const good = decodeControl(net.sent.find((s) => s.from === '10.0.0.2')!.payload);
    const packet = (o: object) => encodeControl({ ...good, ...o });
    deliver(packet({ yourDiscriminator: 12345 }), '10.0.0.2');
    deliver(packet({ yourDiscriminator: 0, state: BfdState.Down }), '10.0.0.9');
    deliver(packet({ yourDiscriminator: a.peer('Node_10_0_0_2')!.localDiscriminator }), '10.0.0.7');
    deliver(Buffer.from([0x40, 0, 0, 24]), '10.0.0.2');
    assert.deepEqual(a.dropped(), { 'no-session': 2, 'wrong-source': 1, short: 1 });
    assert.equal(a.peer('Node_10_0_0_2')?.state, 'Up');
    await a.stop();
    await b.stop();
  });

  test('removal says AdminDown before going; the remote goes Down, diag 3', async () => {
    const { clock, a, b } = await twoHosts();
    const seen: BfdChange[] = [];
    b.onChange((c) => seen.push(c));
    await a.setPeers([]);
    assert.equal(a.peer('Node_10_0_0_2'), undefined);
    await clock.advance(50);
    assert.deepEqual(seen.at(-1), { id: 'tabby', from: 'Up', to: 'Down', diag: 'Neighbor Signaled Session Down' });
    await clock.advance(5000);
    assert.equal(b.peer('tabby')?.remoteState, 'Down', 'after the linger a is silent: b times out to Down');
    await a.stop();
    await b.stop();
  });

  test('new timers are negotiated on the running session; a new address is a new session', async () => {
    const { clock, a, b } = await twoHosts();
    const discr = a.peer('Node_10_0_0_2')!.localDiscriminator;
    await a.setPeers([{ ...peerOf('Node_10_0_0_2', '10.0.0.2', '10.0.0.1'), minTxMs: 300 }]);
    await clock.advance(1000);
    assert.equal(a.peer('Node_10_0_0_2')!.localDiscriminator, discr);
    assert.equal(a.peer('Node_10_0_0_2')!.txIntervalMs, 300);
    assert.equal(b.peer('tabby')!.detectionTimeMs, 900);
    await a.setPeers([peerOf('Node_10_0_0_2', '10.0.0.3', '10.0.0.1')]);
    assert.notEqual(a.peer('Node_10_0_0_2')!.localDiscriminator, discr);
    assert.equal(a.peer('Node_10_0_0_2')!.state, 'Down');
    await a.stop();
    await b.stop();
  });

  test('no receive socket: the session carries the error and never starts', async () => {
    const clock = new FakeClock(0);
    const net = new Net(clock);
    const a = new BfdManager({ transport: net.transport('10.0.0.1', { listenFails: true }), clock });
    await a.setPeers([peerOf('p', '10.0.0.2', '10.0.0.1')]);
    await clock.advance(2000);
    const s = a.peer('p')!;
    assert.match(s.error ?? '', /cannot receive BFD on UDP 0\.0\.0\.0:3784: bind EADDRINUSE/);
    assert.equal(net.sent.length, 0);
    await a.stop();
  });
});
