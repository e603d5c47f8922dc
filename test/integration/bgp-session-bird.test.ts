// Tabby against a real BIRD 2 over eBGP with TCP MD5: BIRD runs in namespace A, a
// Tabby peer process in namespace B; birdc must show the session Established and the
// routes must cross both ways.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './netlink-netns.js';
import { nsPair, NsProcess, tabbyPeer, type Pair } from './bgp-session-netns.js';
import { needs } from '../helpers/require.js';

const BIRD = '/usr/sbin/bird';
const BIRDC = '/usr/sbin/birdc';
const KEY = 'tabby-and-bird';
const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });

function birdConfig(net: Pair, password: string): string {
  return `router id 10.255.0.10;
log stderr all;
protocol device { scan time 2; }
protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }
protocol bgp tabby {
  local ${net.addrA} as 65010;
  neighbor ${net.addrB} as 65020;
  password "${password}";
  hold time 30;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 5;
  ipv4 { import all; export all; };
}
`;
}

describe('Tabby and BIRD 2 over eBGP with TCP MD5', { skip }, () => {
  let net: Pair;
  let dir: string;
  before(() => {
    net = nsPair('tbt-bgpb');
    dir = mkdtempSync(join(tmpdir(), 'tabby-bird-'));
  });
  after(() => {
    net?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function birdc(sock: string, ...args: string[]): string {
    return execFileSync(BIRDC, ['-s', sock, ...args], { encoding: 'utf8', timeout: 5000 });
  }

  function startBird(password: string): { bird: NsProcess; sock: string } {
    const conf = join(dir, `bird-${password}.conf`);
    const sock = join(dir, `bird-${password}.ctl`);
    writeFileSync(conf, birdConfig(net, password));
    const bird = new NsProcess(net.a, [BIRD, '-f', '-c', conf, '-s', sock], false);
    return { bird, sock };
  }

  function startTabby(md5Key: string): NsProcess {
    return tabbyPeer(net.b, {
      listen: { address: net.addrB },
      session: {
        localAs: 65020,
        remoteAs: 65010,
        routerId: '10.255.0.20',
        remoteAddress: net.addrA,
        localAddress: net.addrB,
        md5Key,
        connectDelayTime: 0,
        connectRetryTime: 2,
        idleHold: { initial: 1, max: 2 },
      },
      announce: { prefixes: ['203.0.113.0/24'], nextHop: net.addrB },
    });
  }

  test('the session establishes, birdc shows it, and routes cross both ways', async () => {
    const { bird, sock } = startBird(KEY);
    const tabby = startTabby(KEY);
    try {
      const est = await tabby.waitFor((e) => e.event === 'established', 15_000);
      assert.ok(est, `Tabby did not establish.\nTabby: ${tabby.stderr}\nBIRD: ${bird.stderr}`);
      const n = (est as unknown as { negotiated: { peerAs: number; peerId: string; holdTime: number; fourOctetAs: boolean; routeRefresh: boolean; gracefulRestart?: unknown } }).negotiated;
      assert.equal(n.peerAs, 65010);
      assert.equal(n.peerId, '10.255.0.10');
      assert.equal(n.holdTime, 30);
      assert.equal(n.fourOctetAs, true);
      assert.equal(n.routeRefresh, true);

      let shown = '';
      const up = await waitFor(() => {
        shown = birdc(sock, 'show', 'protocols', 'all', 'tabby');
        return /BGP state:\s+Established/.test(shown);
      }, 10_000, 200);
      assert.ok(up, shown);
      assert.match(shown, new RegExp(`Neighbor address:\\s+${net.addrB.replace(/\./g, '\\.')}`));
      assert.match(shown, /Neighbor AS:\s+65020/);

      const got = await tabby.waitFor((e) => e.event === 'update', 10_000);
      assert.deepEqual((got as unknown as { update: { announced: unknown } }).update.announced, { ipv4: [{ prefix: '192.0.2.0/24' }] });
      let routes = '';
      const learned = await waitFor(() => {
        routes = birdc(sock, 'show', 'route', 'protocol', 'tabby');
        return routes.includes('203.0.113.0/24');
      }, 10_000, 200);
      assert.ok(learned, routes);

      const st = await tabby.status();
      assert.equal(st.status.state, 'Established');
      assert.equal(st.status.info, 'Established');
    } finally {
      await tabby.kill();
      await bird.kill();
    }
  });

  test('with a different key BIRD never sees the session, and Tabby reports a timeout', async () => {
    const { bird, sock } = startBird('not-the-same');
    const tabby = startTabby(KEY);
    try {
      assert.equal(await tabby.waitFor((e) => e.event === 'established', 5000), undefined);
      const st = await tabby.status();
      assert.notEqual(st.status.state, 'Established');
      assert.equal(st.status.lastError, 'Socket: Connection timed out');
      const shown = birdc(sock, 'show', 'protocols', 'all', 'tabby');
      assert.doesNotMatch(shown, /BGP state:\s+Established/);
    } finally {
      await tabby.kill();
      await bird.kill();
    }
  });
});
