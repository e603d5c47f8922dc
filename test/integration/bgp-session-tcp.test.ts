// Two Tabby sessions over real TCP between two namespaces: establishment and an
// UPDATE each way, TCP MD5 (same key / different keys), GTSM, and the listener
// refusing an address it does not know. Each peer runs in its own process inside its
// namespace and is killed by PID afterwards.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NsProcess, nsPair, tabbyPeer, type Pair, type PeerEvent } from './bgp-session-netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });

const FAST = { connectDelayTime: 0, connectRetryTime: 1, idleHold: { initial: 1, max: 2 } };

describe('BGP sessions over TCP between namespaces', NEEDS, () => {
  let net: Pair;
  before(() => {
    net = nsPair('tbt-bgps');
  });
  after(() => net?.destroy());

  /** B listens and is passive; A dials. Extra session settings per side. */
  async function pair(extraA: Record<string, unknown> = {}, extraB: Record<string, unknown> = {}, opts: { listenA?: boolean } = {}): Promise<[NsProcess, NsProcess]> {
    const b = tabbyPeer(net.b, {
      listen: { address: net.addrB },
      session: { localAs: 65002, remoteAs: 65001, routerId: '10.255.0.2', remoteAddress: net.addrA, passive: true, ...FAST, ...extraB },
      announce: { prefixes: ['198.51.100.0/24'], nextHop: net.addrB },
    });
    await listening(b);
    const a = tabbyPeer(net.a, {
      ...(opts.listenA ? { listen: { address: net.addrA } } : {}),
      session: { localAs: 65001, remoteAs: 65002, routerId: '10.255.0.1', remoteAddress: net.addrB, localAddress: net.addrA, ...FAST, ...extraA },
      announce: { prefixes: ['203.0.113.0/24', '203.0.113.128/25'], nextHop: net.addrA },
    });
    return [a, b];
  }

  async function killAll(...ps: NsProcess[]): Promise<void> {
    await Promise.all(ps.map((p) => p.kill()));
  }

  const isEstablished = (e: PeerEvent): boolean => e.event === 'established';

  /** B listens before A dials: otherwise a slow start shows up as "Connection refused". */
  async function listening(p: NsProcess): Promise<void> {
    assert.ok(await p.waitFor((e) => e.event === 'ready', 15_000), `no ready from ${p.pid}: ${p.stderr}`);
  }

  type Status = Awaited<ReturnType<NsProcess['status']>>;

  /** The first status that satisfies `ok`, or the last one seen after `ms`: a dial
   * timeout or a refusal lands late on a loaded machine. */
  async function statusWhen(p: NsProcess, ok: (s: Status) => boolean, ms = 10_000): Promise<Status> {
    const deadline = Date.now() + ms;
    let s = await p.status();
    for (let i = 0; i < 200 && !ok(s) && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await p.status();
    }
    return s;
  }

  async function lastErrorOf(p: NsProcess): Promise<string | undefined> {
    return (await statusWhen(p, (s) => s.status.lastError !== undefined)).status.lastError;
  }

  test('two sessions establish and exchange an UPDATE', async () => {
    const [a, b] = await pair();
    try {
      const ea = await a.waitFor(isEstablished, 10_000);
      const eb = await b.waitFor(isEstablished, 10_000);
      assert.ok(ea, `A did not establish: ${a.stderr}`);
      assert.ok(eb, `B did not establish: ${b.stderr}`);
      const na = (ea as unknown as { negotiated: Record<string, unknown> }).negotiated;
      assert.equal(na.peerAs, 65002);
      assert.equal(na.peerId, '10.255.0.2');
      assert.equal(na.holdTime, 90);
      assert.equal(na.fourOctetAs, true);
      const ua = (await a.waitFor((e) => e.event === 'update', 5000)) as { update: { announced: Record<string, Array<{ prefix: string }>>; nextHops: Record<string, { nextHop: string }> } } | undefined;
      const ub = (await b.waitFor((e) => e.event === 'update', 5000)) as typeof ua;
      assert.deepEqual(ua?.update.announced, { ipv4: [{ prefix: '198.51.100.0/24' }] });
      assert.equal(ua?.update.nextHops.ipv4?.nextHop, net.addrB);
      assert.deepEqual(ub?.update.announced, { ipv4: [{ prefix: '203.0.113.0/24' }, { prefix: '203.0.113.128/25' }] });
      assert.ok(await a.waitFor((e) => e.event === 'eor', 5000));
      const sa = await a.status();
      assert.equal(sa.status.state, 'Established');
      assert.equal(sa.status.info, 'Established');
      assert.equal(sa.status.localAddress, net.addrA);
      assert.equal(sa.status.remoteAddress, net.addrB);
      const sb = await b.status();
      assert.equal(sb.listener?.accepted, 1);
      assert.equal((sb.status.counters as { prefixesReceived: number }).prefixesReceived, 2);

      // Stop on A: B hears Cease / Administrative Shutdown with the text.
      a.send({ cmd: 'stop', subcode: 2, text: 'test over' });
      const down = (await b.waitFor((e) => e.event === 'down', 5000)) as { down: { error: string; wasEstablished: boolean } } | undefined;
      assert.equal(down?.down.error, 'Received: Administrative shutdown: test over');
      assert.equal(down?.down.wasEstablished, true);
    } finally {
      await killAll(a, b);
    }
  });

  test('TCP MD5: the same key on both ends establishes', async () => {
    const [a, b] = await pair({ md5Key: 'tabby-secret' }, { md5Key: 'tabby-secret' });
    try {
      assert.ok(await a.waitFor(isEstablished, 10_000), `A: ${a.stderr}`);
      assert.ok(await b.waitFor(isEstablished, 10_000), `B: ${b.stderr}`);
    } finally {
      await killAll(a, b);
    }
  });

  test('TCP MD5: different keys never establish, and the status says the connection timed out', async () => {
    const [a, b] = await pair({ md5Key: 'key-one' }, { md5Key: 'key-two' });
    try {
      assert.equal(await a.waitFor(isEstablished, 3500), undefined);
      const sa = await statusWhen(a, (s) => s.status.lastError !== undefined);
      assert.notEqual(sa.status.state, 'Established');
      assert.equal(sa.status.lastError, 'Socket: Connection timed out');
      assert.match(sa.status.info, /^Connect Socket: Connection timed out$/);
      const sb = await b.status();
      assert.equal(sb.status.state, 'Active');
      assert.equal(sb.listener?.accepted, 0);
    } finally {
      await killAll(a, b);
    }
  });

  test('TCP MD5: a key on one side only never establishes', async () => {
    const [a, b] = await pair({}, { md5Key: 'only-b' });
    try {
      assert.equal(await a.waitFor(isEstablished, 2500), undefined, a.stderr);
      assert.equal((await b.status()).status.state, 'Active', b.stderr);
    } finally {
      await killAll(a, b);
    }
  });

  test('TTL security (GTSM) on both ends of a directly connected session establishes', async () => {
    const [a, b] = await pair({ ttlSecurity: 1, md5Key: 'both' }, { ttlSecurity: 1, md5Key: 'both' });
    try {
      assert.ok(await a.waitFor(isEstablished, 10_000), `A: ${a.stderr}`);
      assert.ok(await b.waitFor(isEstablished, 10_000), `B: ${b.stderr}`);
    } finally {
      await killAll(a, b);
    }
  });

  test('TTL security on the listening side only: the TTL 64 SYN is dropped, the dial times out', async () => {
    const [a, b] = await pair({}, { ttlSecurity: 1 });
    try {
      assert.equal(await a.waitFor(isEstablished, 2500), undefined);
      assert.equal(await lastErrorOf(a), 'Socket: Connection timed out');
      const sb = await b.status();
      assert.equal(sb.status.state, 'Active');
      assert.equal(sb.listener?.accepted, 0);
    } finally {
      await killAll(a, b);
    }
  });

  test('TTL security on the dialling side only: the TTL 64 SYN-ACK is dropped, the dial times out', async () => {
    const [a, b] = await pair({ ttlSecurity: 1 }, {});
    try {
      assert.equal(await a.waitFor(isEstablished, 2500), undefined);
      assert.equal(await lastErrorOf(a), 'Socket: Connection timed out');
      assert.notEqual((await b.status()).status.state, 'Established');
    } finally {
      await killAll(a, b);
    }
  });

  /** A plain TCP connect (TTL 64) from `from` inside namespace A: 'connected', or 'timeout' after 2 s. */
  async function plainConnect(from: string, to = net.addrB): Promise<string> {
    const script = `const s=require('net').connect({host:'${to}',port:179,localAddress:'${from}'});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},2000)`;
    const p = new NsProcess(net.a, [process.execPath, '-e', script], false);
    let out = '';
    p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => p.child.once('exit', r));
    return out.trim();
  }

  test('bug: GTSM was not enforced before OPEN on a listener shared with non-GTSM peers (RFC 5082 §3)', async () => {
    // B listens for A (GTSM, one hop: TTL 255 only) and for A's second address (no GTSM),
    // so the listener's own minimum TTL must stay 0. A TTL 64 SYN from A's address is
    // what a remote attacker spoofing A sends: it must not even complete the handshake.
    const b = tabbyPeer(net.b, {
      listen: { address: '::' },
      listenFor: [{ remoteAddress: net.addrA2 }, { remoteAddress: net.addr6A, ttlSecurity: 1 }],
      session: { localAs: 65002, remoteAs: 65001, routerId: '10.255.0.2', remoteAddress: net.addrA, passive: true, ttlSecurity: 1, ...FAST },
    });
    let a: NsProcess | undefined;
    try {
      assert.ok(await b.waitFor((e) => e.event === 'ready', 10_000), b.stderr);
      assert.equal(await plainConnect(net.addrA), 'timeout', 'the TTL 64 SYN from the GTSM peer\'s address is dropped');
      assert.equal(await plainConnect(net.addr6A, net.addr6B), 'timeout', 'IPv6: hop limit 64 from a GTSM peer is dropped too');
      assert.equal((await b.status()).listener?.accepted, 0);
      // The non-GTSM peer on the same listener is not affected.
      assert.equal(await plainConnect(net.addrA2), 'connected');
      assert.ok(await b.waitFor((e) => e.event === 'incoming', 5000));
      // And the real GTSM peer (TTL 255) establishes.
      a = tabbyPeer(net.a, { session: { localAs: 65001, remoteAs: 65002, routerId: '10.255.0.1', remoteAddress: net.addrB, localAddress: net.addrA, ttlSecurity: 1, ...FAST } });
      assert.ok(await a.waitFor(isEstablished, 10_000), `A: ${a.stderr}`);
    } finally {
      await killAll(b, ...(a ? [a] : []));
    }
  });

  test('a connection from an address the listener does not know is refused and counted', async () => {
    // A dials from its second address, which B has no session for.
    const [a, b] = await pair({ localAddress: net.addrA2 });
    try {
      assert.equal(await a.waitFor(isEstablished, 2500), undefined);
      const sb = await statusWhen(b, (s) => (s.listener?.refused ?? 0) >= 1);
      assert.ok((sb.listener?.refused ?? 0) >= 1, JSON.stringify(sb.listener));
      assert.ok((sb.listener?.refusedFrom[net.addrA2] ?? 0) >= 1);
      assert.equal(sb.listener?.accepted, 0);
      assert.equal(sb.status.state, 'Active');
      assert.match((await lastErrorOf(a)) ?? '', /^Socket: Connection (closed|reset by peer)$/);
    } finally {
      await killAll(a, b);
    }
  });

  test('a dual-stack listener on "::" takes an IPv4 peer\'s MD5 key (v4-mapped)', async () => {
    const b = tabbyPeer(net.b, {
      listen: { address: '::' },
      session: { localAs: 65002, remoteAs: 65001, routerId: '10.255.0.2', remoteAddress: net.addrA, passive: true, md5Key: 'mapped', ttlSecurity: 1, ...FAST },
    });
    await listening(b);
    const a = tabbyPeer(net.a, {
      session: { localAs: 65001, remoteAs: 65002, routerId: '10.255.0.1', remoteAddress: net.addrB, md5Key: 'mapped', ttlSecurity: 1, ...FAST },
    });
    try {
      assert.ok(await a.waitFor(isEstablished, 10_000), `A: ${a.stderr}\nB: ${b.stderr}`);
      assert.equal((await b.status()).status.state, 'Established');
    } finally {
      await killAll(a, b);
    }
  });

  test('an IPv6 session with MD5 and GTSM establishes and carries an IPv6 family', async () => {
    const b = tabbyPeer(net.b, {
      listen: { address: '::' },
      session: { localAs: 65002, remoteAs: 65001, routerId: '10.255.0.2', remoteAddress: net.addr6A, passive: true, md5Key: 'v6key', ttlSecurity: 1, ...FAST },
    });
    await listening(b);
    const a = tabbyPeer(net.a, {
      session: { localAs: 65001, remoteAs: 65002, routerId: '10.255.0.1', remoteAddress: net.addr6B, localAddress: net.addr6A, md5Key: 'v6key', ttlSecurity: 1, ...FAST },
    });
    try {
      const e = await a.waitFor(isEstablished, 10_000);
      assert.ok(e, `A: ${a.stderr}\nB: ${b.stderr}`);
      assert.deepEqual((e as unknown as { negotiated: { families: string[] } }).negotiated.families, ['ipv6']);
      const sa = await a.status();
      assert.equal(sa.status.localAddress, net.addr6A);
      assert.equal(sa.status.remoteAddress, net.addr6B);
    } finally {
      await killAll(a, b);
    }
  });

  test('IPv6 with different MD5 keys does not establish', async () => {
    const b = tabbyPeer(net.b, {
      listen: { address: '::' },
      session: { localAs: 65002, remoteAs: 65001, routerId: '10.255.0.2', remoteAddress: net.addr6A, passive: true, md5Key: 'one', ...FAST },
    });
    await listening(b);
    const a = tabbyPeer(net.a, {
      session: { localAs: 65001, remoteAs: 65002, routerId: '10.255.0.1', remoteAddress: net.addr6B, md5Key: 'two', ...FAST },
    });
    try {
      assert.equal(await a.waitFor(isEstablished, 2500), undefined);
      assert.equal(await lastErrorOf(a), 'Socket: Connection timed out');
    } finally {
      await killAll(a, b);
    }
  });

  test('both sides dialling and listening: the collision leaves one session', async () => {
    const [a, b] = await pair({}, { passive: false, localAddress: net.addrB }, { listenA: true });
    try {
      assert.ok(await a.waitFor(isEstablished, 10_000), `A: ${a.stderr}`);
      assert.ok(await b.waitFor(isEstablished, 10_000), `B: ${b.stderr}`);
      // Give a losing connection time to be torn down, then both must still be up, once.
      await new Promise((r) => setTimeout(r, 1500));
      const [sa, sb] = [await a.status(), await b.status()];
      assert.equal(sa.status.state, 'Established');
      assert.equal(sb.status.state, 'Established');
      assert.equal(a.events.filter(isEstablished).length, 1);
      assert.equal(b.events.filter(isEstablished).length, 1);
      assert.equal(a.events.filter((e) => e.event === 'down').length, 0, JSON.stringify(a.events) + a.stderr);
    } finally {
      await killAll(a, b);
    }
  });
});
