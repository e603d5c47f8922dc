// The agent's BFD wiring: which peers get a session (BFDIfDirectlyConnected and on a
// connected subnet), the source address, and the liveness the speaker is told — down
// only once a session that was Up is lost, not for a peer that never ran BFD nor for
// one that said AdminDown (RFC 5880 §6.8.16).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../helpers/fake-clock.js';
import { connectedSource, PeerBfd, type BfdWanted } from '../../../src/agent/peer-bfd.js';
import { BfdManager, type BfdPeer } from '../../../src/bfd/bfd-manager.js';
import type { Speaker } from '../../../src/bgp/speaker.js';
import type { Address } from '../../../src/native/addresses.js';
import { silentLogger } from '../../../src/util/log.js';
import { Net } from '../bfd/memory-net.js';

const addr = (cidr: string, extra: Partial<Address> = {}): Address => {
  const [address, len] = cidr.split('/');
  return { ifindex: 2, ifname: 'eth0', family: address!.includes(':') ? 6 : 4, address: address!, prefixLength: Number(len), cidr, scope: 0, tentative: false, ...extra };
};

const HOST = [addr('10.0.0.1/24'), addr('192.168.5.5/32'), addr('fd00:1::1/64'), addr('fd00:2::1/64', { tentative: true })];
const TIMERS = { minRxMs: 100, minTxMs: 100, multiplier: 3 };
const desired = (id: string, address: string, bfd = true): BfdWanted => ({ id, address, ...(bfd ? { bfd: TIMERS } : {}) });

describe('agent BFD wiring', () => {
  test('connectedSource: our address on the subnet holding the peer', () => {
    assert.equal(connectedSource('10.0.0.2', HOST), '10.0.0.1');
    assert.equal(connectedSource('fd00:1::9', HOST), 'fd00:1::1');
    assert.equal(connectedSource('10.0.1.2', HOST), undefined, 'another subnet: not directly connected');
    assert.equal(connectedSource('192.168.5.5', HOST), undefined, 'our own address');
    assert.equal(connectedSource('fd00:2::9', HOST), undefined, 'a tentative address is not usable yet');
  });

  test('sessions for directly connected BFD peers only; the speaker is told each peer’s liveness as BFD goes', async () => {
    const clock = new FakeClock(0);
    const net = new Net(clock);
    const manager = new BfdManager({ transport: net.transport('10.0.0.1'), clock, random: () => 0.5 });
    const remote = new BfdManager({ transport: net.transport('10.0.0.2'), clock, random: () => 0.5 });
    const calls: string[] = [];
    const speaker = { setPeerLive: (id: string, live: boolean, reason: string) => calls.push(`${id} ${live} ${reason}`) } as unknown as Speaker;
    const bfd = new PeerBfd({ logger: silentLogger, manager, addresses: async () => HOST });
    const peers = [desired('tor', '10.0.0.2'), desired('far', '10.9.0.2'), desired('mesh', '10.0.0.3', false)];

    await bfd.sync(peers, speaker);
    // No BFD session before the peer's BGP session has been Established (FRRouting/frr#5992).
    assert.deepEqual(manager.status(), []);
    assert.deepEqual(bfd.json(peers[0]), { state: 'Inactive', info: 'waiting for BGP to be Established' });
    for (const p of peers) await bfd.established(p.id);
    calls.length = 0;
    await bfd.sync(peers, speaker);
    assert.deepEqual(manager.status().map((s) => [s.id, s.address, s.local]), [['tor', '10.0.0.2', '10.0.0.1']]);
    assert.deepEqual(calls, ['tor true BFD session up', 'far true BFD session up', 'mesh true BFD session up'], 'never Up: nothing held back');
    assert.deepEqual(bfd.json(peers[1]), { state: 'Inactive', info: 'not directly connected' });
    assert.equal(bfd.json(peers[2]), undefined);

    const remotePeer: BfdPeer = { id: 'node', address: '10.0.0.1', local: '10.0.0.2', ...TIMERS };
    await remote.setPeers([remotePeer]);
    await clock.advance(3000);
    assert.equal(bfd.json(peers[0])!.state, 'Up');
    assert.equal(bfd.json(peers[0])!.detectionTimeMs, 300);

    calls.length = 0;
    net.cut = true;
    await clock.advance(400);
    assert.deepEqual(calls, ['tor false BFD session down (Control Detection Time Expired)']);
    assert.equal(bfd.live('tor'), false);
    await bfd.sync(peers, speaker);
    assert.equal(calls.at(-3), 'tor false BFD session down', 'a pass keeps it down');

    calls.length = 0;
    net.cut = false;
    await clock.advance(3000);
    assert.deepEqual(calls, ['tor true BFD session up']);

    // The peer's BFD is shut down administratively: not a failure of the path.
    calls.length = 0;
    await remote.setPeers([]);
    await clock.advance(50);
    assert.equal(manager.peer('tor')!.state, 'Down');
    assert.equal(bfd.live('tor'), true);
    assert.deepEqual(calls, [], 'nothing new for the speaker');
    await bfd.stop();
    await remote.stop();
  });
});
