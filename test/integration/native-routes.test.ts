// routeDump against a namespace of its own: routes made with iproute2 must come back
// with exactly the fields the kernel holds, filtered by table and protocol.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { constants } from 'node:os';
import { NetlinkError } from '../../src/errors.js';
import { type Route, routeDump } from '../../src/native/routes.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });


function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function byDst(a: Route, b: Route): number {
  return a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0;
}

describe('routeDump', NEEDS, () => {
  const ns = `tbt-rt-${randomBytes(4).toString('hex')}`;
  const x = randomInt(1, 255);
  const local = `10.251.${x}.1`;
  const gw1 = `10.251.${x}.2`;
  const gw2 = `10.251.${x}.3`;
  let ifindex = 0;

  before(() => {
    ip('netns', 'add', ns);
    try {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // veth rather than dummy: this kernel has no dummy driver. The peer stays down.
      ip('-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd0-peer');
      ip('-n', ns, 'link', 'set', 'd0', 'up');
      ip('-n', ns, 'addr', 'add', `${local}/24`, 'dev', 'd0');
      ifindex = (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'd0')) as Array<{ ifindex: number }>)[0]!.ifindex;
      const t100 = ['proto', '99', 'table', '100'];
      ip('-n', ns, 'route', 'add', 'blackhole', '10.99.1.0/24', ...t100);
      ip('-n', ns, 'route', 'add', '10.99.2.0/24', 'via', gw1, 'dev', 'd0', 'metric', '50', ...t100);
      ip('-n', ns, 'route', 'add', '10.99.3.0/24', 'dev', 'd0', 'scope', 'link', ...t100);
      ip('-n', ns, 'route', 'add', 'unreachable', '10.99.4.0/24', ...t100);
      ip('-n', ns, 'route', 'add', '10.99.7.0/24', 'via', '10.250.0.9', 'dev', 'd0', 'onlink', ...t100);
      ip('-n', ns, 'route', 'add', '10.99.8.0/24', ...t100,
        'nexthop', 'via', gw1, 'dev', 'd0', 'weight', '1', 'nexthop', 'via', gw2, 'dev', 'd0', 'weight', '2');
      ip('-n', ns, '-6', 'route', 'add', 'blackhole', '2001:db8:99::/48', ...t100);
      // Same table, another owner: must be filtered out.
      ip('-n', ns, 'route', 'add', '10.99.5.0/24', 'dev', 'd0', 'proto', '98', 'table', '100');
      // A table number above 255 only travels in RTA_TABLE.
      ip('-n', ns, 'route', 'add', 'prohibit', '10.99.6.0/24', 'proto', '99', 'table', '1000');
    } catch (err) {
      ip('netns', 'del', ns);
      throw err;
    }
  });

  after(() => {
    try { ip('netns', 'del', ns); } catch { /* already gone */ }
  });

  test('table 100, protocol 99, IPv4: exactly the routes added', async () => {
    const routes = (await routeDump({ netns: ns, family: 4, table: 100, protocol: 99 })).sort(byDst);
    const base = { family: 4, table: 100, protocol: 99, onlink: false } as const;
    const expected: Route[] = [
      { ...base, dst: '10.99.1.0/24', scope: 0, type: 'blackhole' },
      { ...base, dst: '10.99.2.0/24', scope: 0, type: 'unicast', gateway: gw1, oif: ifindex, dev: 'd0', metric: 50 },
      { ...base, dst: '10.99.3.0/24', scope: 253, type: 'unicast', oif: ifindex, dev: 'd0' },
      { ...base, dst: '10.99.4.0/24', scope: 0, type: 'unreachable' },
      { ...base, dst: '10.99.7.0/24', scope: 0, type: 'unicast', gateway: '10.250.0.9', oif: ifindex, dev: 'd0', onlink: true },
      {
        ...base, dst: '10.99.8.0/24', scope: 0, type: 'unicast',
        nexthops: [
          { gateway: gw1, oif: ifindex, dev: 'd0', weight: 1, onlink: false },
          { gateway: gw2, oif: ifindex, dev: 'd0', weight: 2, onlink: false },
        ],
      },
    ];
    assert.deepStrictEqual(routes, expected);
  });

  test('IPv6 and family 0', async () => {
    const v6 = await routeDump({ netns: ns, family: 6, table: 100, protocol: 99 });
    // IPv6 hangs device-less routes on lo and gives every route a metric (1024 by default).
    assert.deepStrictEqual(v6, [
      {
        family: 6, dst: '2001:db8:99::/48', table: 100, protocol: 99, scope: 0, type: 'blackhole',
        oif: 1, dev: 'lo', metric: 1024, onlink: false,
      },
    ]);
    const both = await routeDump({ netns: ns, table: 100, protocol: 99 });
    assert.equal(both.length, 7);
    assert.deepEqual(new Set(both.map((r) => r.family)), new Set([4, 6]));
  });

  test('the protocol filter keeps other owners out, and no filter lets them in', async () => {
    const other = await routeDump({ netns: ns, family: 4, table: 100, protocol: 98 });
    assert.deepStrictEqual(other.map((r) => r.dst), ['10.99.5.0/24']);
    const all = await routeDump({ netns: ns, family: 4, table: 100 });
    assert.equal(all.length, 7);
    // Everyone's but one protocol's (the dataplane's view of the underlay without its own routes).
    const notOurs = await routeDump({ netns: ns, family: 4, table: 100, excludeProtocol: 99 });
    assert.deepStrictEqual(notOurs.map((r) => r.dst), ['10.99.5.0/24']);
  });

  test('a table above 255', async () => {
    const routes = await routeDump({ netns: ns, family: 4, table: 1000, protocol: 99 });
    assert.deepStrictEqual(routes, [
      { family: 4, dst: '10.99.6.0/24', table: 1000, protocol: 99, scope: 0, type: 'prohibit', onlink: false },
    ]);
  });

  test('main table holds the connected route and none of table 100', async () => {
    const main = await routeDump({ netns: ns, family: 4, table: 254 });
    assert.deepStrictEqual(main, [
      {
        family: 4, dst: `10.251.${x}.0/24`, table: 254, protocol: 2, scope: 253, type: 'unicast',
        oif: ifindex, dev: 'd0', prefsrc: local, onlink: false,
      },
    ]);
    const everything = await routeDump({ netns: ns });
    assert.ok(everything.some((r) => r.table === 255 && r.type === 'local' && r.dst === `${local}/32`));
    assert.ok(everything.some((r) => r.table === 1000));
  });

  test('worker threads return to their own namespace', async () => {
    // More calls than libuv has threads, interleaved, so every pooled thread is
    // reused across namespaces; a thread left in `ns` would show table 100 here.
    const calls: Array<Promise<Route[]>> = [];
    for (let i = 0; i < 16; i++) {
      calls.push(routeDump({ netns: ns, family: 4, table: 100, protocol: 99 }));
      calls.push(routeDump({ family: 4, table: 100, protocol: 99 }));
    }
    const results = await Promise.all(calls);
    results.forEach((routes, i) => {
      if (i % 2 === 0) assert.equal(routes.length, 6);
      else assert.ok(!routes.some((r) => r.dst === '10.99.1.0/24'), 'host dump saw the test namespace');
    });
  });

  test('a missing namespace fails with ENOENT', async () => {
    await assert.rejects(routeDump({ netns: `${ns}-missing` }), (err: unknown) => {
      assert.ok(err instanceof NetlinkError);
      assert.equal(err.op, 'route-dump');
      assert.equal(err.errno, constants.errno.ENOENT);
      assert.equal(err.code, 'NETLINK');
      assert.match(err.message, /-missing/);
      return true;
    });
  });
});
