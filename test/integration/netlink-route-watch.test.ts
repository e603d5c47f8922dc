// The addon's route event socket (RTNLGRP_IPV4_ROUTE / RTNLGRP_IPV6_ROUTE) in a namespace
// of its own: events about routes of the skipped protocol (Tabby's, 88) are dropped in
// the kernel by the socket filter — a thousand of them wake nobody — while any other
// route change (IPv4 or IPv6) is signalled. The watcher runs as a child inside the
// namespace, since a netlink socket belongs to the namespace of the thread that made it.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { run, TestNetns, waitFor } from './netlink-netns.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip'] });
const WATCH = fileURLToPath(new URL('../../src/native/route-watch.js', import.meta.url));

describe('routeWatch: kernel route events, our own protocol filtered out', { skip }, () => {
  const ns = skip ? undefined : new TestNetns('tbrw');
  after(() => ns?.destroy());

  test('a burst of our routes: no event; a foreign IPv4 or IPv6 route: an event', async () => {
    // No duplicate address detection: a link-local address leaving DAD adds its local
    // route a second or more later, an event the count below would take for ours.
    run('ip', 'netns', 'exec', ns!.name, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
    ns!.veth('rw0', 'rw1', '10.66.0.1/24');
    ns!.ip('addr', 'add', 'fd66::1/64', 'dev', 'rw0', 'nodad');
    const script = `import { routeWatch } from ${JSON.stringify(WATCH)};
let n = 0;
const w = routeWatch(() => console.log('event', ++n), 88);
console.log('ready');
process.stdin.on('data', () => {}).on('end', () => w.stop());`;
    const file = `/tmp/${ns!.name}-watch.mjs`;
    writeFileSync(file, script);
    const child = spawn('ip', ['netns', 'exec', ns!.name, process.execPath, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    try {
      assert.ok(await waitFor(() => lines.includes('ready')), 'watcher started');
      // Settle link-up events (IPv6 link-local and multicast routes) before counting: wait for
      // a quiet second (at most 10 s), as they may trail the addresses by a while under load.
      const events = () => lines.filter((l) => l.startsWith('event')).length;
      for (let i = 0, last = -1, quiet = 0; i < 40 && quiet < 4; i++) {
        await new Promise((r) => setTimeout(r, 250));
        quiet = events() === last ? quiet + 1 : 0;
        last = events();
      }
      const base = events();
      const batch = Array.from({ length: 1000 }, (_, i) => `route add 10.${100 + (i >> 8)}.${i & 255}.0/24 via 10.66.0.5 proto 88`).join('\n');
      writeFileSync(`/tmp/${ns!.name}-batch`, `${batch}\n`);
      ns!.ip('-batch', `/tmp/${ns!.name}-batch`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(lines.filter((l) => l.startsWith('event')).length, base, 'no event for 1000 routes of protocol 88');
      ns!.ip('route', 'add', '10.200.0.0/24', 'via', '10.66.0.5');
      assert.ok(await waitFor(() => lines.filter((l) => l.startsWith('event')).length > base, 2000), 'an IPv4 route of another protocol is signalled');
      const v4 = lines.filter((l) => l.startsWith('event')).length;
      ns!.ip('-6', 'route', 'add', 'fd77::/64', 'via', 'fd66::5');
      assert.ok(await waitFor(() => lines.filter((l) => l.startsWith('event')).length > v4, 2000), 'an IPv6 route is signalled');
    } finally {
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      rmSync(file, { force: true });
      rmSync(`/tmp/${ns!.name}-batch`, { force: true });
    }
    assert.equal(child.exitCode, 0, 'stop() ends the thread: the process exits');
  });
});
