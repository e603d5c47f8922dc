// ADD-PATH (RFC 7911) through a route reflector: clients get every path, not only the
// best, so a client behind the reflector installs ECMP over all the nodes that have a
// prefix. calico-node's BIRD does this with `add paths on` in bird.cfg.template's
// bgp_template (every BGP session), and BIRD's `add paths tx` sends every path that its
// export accepts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, table, until } from './helpers.js';

const ASN = 64512;

function reflectorWithClients(net: MemoryNet, cAddPath?: 'on' | 'off') {
  const rr = net.speaker('192.0.2.10', { localAsn: ASN, clusterId: '1.1.1.1' });
  const a = net.speaker('192.0.2.1', { localAsn: ASN });
  const b = net.speaker('192.0.2.2', { localAsn: ASN });
  const c = net.speaker('192.0.2.3', { localAsn: ASN });
  rr.speaker.setPeers(
    [a, b, c].map((n, i) => ({ id: 'ABC'[i]!, address: n.address, remoteAsn: ASN, rrClient: true, passive: true })),
  );
  for (const n of [a, b]) n.speaker.setPeers([{ id: 'RR', address: '192.0.2.10', remoteAsn: ASN }]);
  c.speaker.setPeers([{ id: 'RR', address: '192.0.2.10', remoteAsn: ASN, ...(cAddPath ? { addPath: cAddPath } : {}) }]);
  for (const n of [a, b]) n.speaker.setLocalRoutes([{ prefix: '10.9.0.0/24' }]);
  for (const n of [rr, c]) n.speaker.setLocalRoutes([]);
  return { rr, a, b, c };
}

test('add-path through a reflector: a client gets both paths of a prefix and installs ECMP over both next hops (RFC 7911 §1)', async () => {
  const net = new MemoryNet();
  const { rr, a, b, c } = reflectorWithClients(net);
  for (const n of [rr, a, b, c]) await n.speaker.start();
  await until(net, () => c.speaker.bestPaths()[0]?.nexthops.length === 2);
  assert.deepEqual(table(c.speaker), ['10.9.0.0/24 192.0.2.1,192.0.2.2 RR']);
  // RFC 7911 §4: negotiated per family, in both directions here.
  const neg = c.speaker.status()[0]!.negotiated!;
  assert.deepEqual([...neg.addPath.receive].sort(), ['ipv4', 'ipv6']);
  // A also gets B's path (its own is never sent back): one next hop from the reflector.
  assert.deepEqual(a.speaker.bestPaths().length, 0, 'A prefers its own route; the learned view is empty');

  // B withdraws: the reflector withdraws that path by its id, C keeps A's.
  b.speaker.setLocalRoutes([]);
  await until(net, () => c.speaker.bestPaths()[0]?.nexthops.length === 1);
  assert.deepEqual(table(c.speaker), ['10.9.0.0/24 192.0.2.1 RR']);
  b.speaker.setLocalRoutes([{ prefix: '10.9.0.0/24' }]);
  await until(net, () => c.speaker.bestPaths()[0]?.nexthops.length === 2);
  assert.equal(rr.speaker.status().every((s) => s.counters.established === 1), true, 'no session restarted');
  for (const n of [rr, a, b, c]) await n.speaker.stop();
});

test('add-path off on the client: the reflector sends the best path only, as without RFC 7911', async () => {
  const net = new MemoryNet();
  const { rr, a, b, c } = reflectorWithClients(net, 'off');
  for (const n of [rr, a, b, c]) await n.speaker.start();
  await until(net, () => c.speaker.bestPaths().length === 1);
  await net.advance(1000);
  assert.deepEqual(table(c.speaker), ['10.9.0.0/24 192.0.2.1 RR'], 'lowest ORIGINATOR_ID wins (RFC 4456 §9)');
  assert.deepEqual(c.speaker.status()[0]!.negotiated!.addPath, { receive: [], send: [] });
  for (const n of [rr, a, b, c]) await n.speaker.stop();
});

test('add-path on the wire: one stable path id per source, replaced in place, withdrawn by id (RFC 7911 §3, §5)', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt('192.0.2.3');
  const rr = net.speaker('192.0.2.10', { localAsn: ASN, clusterId: '1.1.1.1' });
  const a = net.speaker('192.0.2.1', { localAsn: ASN });
  const b = net.speaker('192.0.2.2', { localAsn: ASN });
  rr.speaker.setPeers([
    { id: 'A', address: '192.0.2.1', remoteAsn: ASN, rrClient: true, passive: true },
    { id: 'B', address: '192.0.2.2', remoteAsn: ASN, rrClient: true, passive: true },
    { id: 'C', address: '192.0.2.3', remoteAsn: ASN, rrClient: true },
  ]);
  for (const n of [a, b]) {
    n.speaker.setPeers([{ id: 'RR', address: '192.0.2.10', remoteAsn: ASN }]);
    n.speaker.setLocalRoutes([{ prefix: '10.9.0.0/24' }]);
  }
  rr.speaker.setLocalRoutes([]);
  for (const n of [rr, a, b]) await n.speaker.start();
  await until(net, () => rr.speaker.status().filter((s) => s.prefixes.accepted === 1).length === 2 && raws.length > 0);
  const raw = raws[0]!;
  // RFC 7911 §4: Send/Receive 1 = we receive; the reflector may then send to us.
  const caps = [...rawCapabilities(ASN), { kind: 'add-path' as const, families: [{ afi: 1, safi: 1, send: false, receive: true }] }];
  raw.options = { ...raw.options, addPath: { receive: new Set(['ipv4']), send: new Set() } };
  await rawEstablish(raw, ASN, '10.0.0.3', caps);
  await until(net, () => raw.types().filter((t) => t === 'update').length >= 2);

  const sent = (): Array<{ prefix: string; id: number; nh?: string; med?: number }> => {
    const out: Array<{ prefix: string; id: number; nh?: string; med?: number }> = [];
    for (const m of raw.messages) {
      if (m.type !== 'update') continue;
      const u: Update = m.update;
      u.withdrawn.forEach((p, i) => out.push({ prefix: `-${p}`, id: u.withdrawnPathIds![i]! }));
      u.nlri.forEach((p, i) => out.push({ prefix: p, id: u.nlriPathIds![i]!, nh: u.attributes.nextHop!, ...(u.attributes.med !== undefined ? { med: u.attributes.med } : {}) }));
    }
    return out;
  };
  const first = sent();
  assert.equal(first.length, 2, 'both paths of the prefix');
  const idOf = (nh: string): number => first.find((x) => x.nh === nh)!.id;
  const [ia, ib] = [idOf('192.0.2.1'), idOf('192.0.2.2')];
  assert.notEqual(ia, ib, 'RFC 7911 §3: a path id identifies the path per prefix');
  assert.ok(ia > 0 && ib > 0);

  // B's attributes change: the same id again, an implicit withdraw (RFC 7911 §5 / RFC 4271 §3.1).
  raw.messages.length = 0;
  b.speaker.setLocalRoutes([{ prefix: '10.9.0.0/24', med: 7 }]);
  await until(net, () => sent().length > 0);
  await net.advance(100);
  assert.deepEqual(sent(), [{ prefix: '10.9.0.0/24', id: ib, nh: '192.0.2.2', med: 7 }]);

  // A withdraws: the reflector withdraws A's path id only.
  raw.messages.length = 0;
  a.speaker.setLocalRoutes([]);
  await until(net, () => sent().length > 0);
  await net.advance(100);
  assert.deepEqual(sent(), [{ prefix: '-10.9.0.0/24', id: ia }]);
  assert.equal(rr.speaker.status().find((s) => s.id === 'C')!.prefixes.advertised, 1);
  raw.conn.destroy();
  await settle();
  for (const n of [rr, a, b]) await n.speaker.stop();
});
