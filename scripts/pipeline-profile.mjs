// Profiling aid (not a test, not the bench): the agent's hot path in one process, on a
// private namespace — an in-memory BGP peer sends N /32s, the speaker learns them, the
// RouteContext judges them and the Dataplane programs them through the addon; then the
// peer withdraws them all. Prints wall and CPU per phase. Run it with the CLI's #! flags
// (and --cpu-prof) to see where the agent's time goes without the lab:
//   node --max-semi-space-size=1 --heap-growing-percent=20 scripts/pipeline-profile.mjs 100000
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MemoryNet, rawCapabilities, rawEstablish } from '../dist/test/unit/bgp/speaker/helpers.js';
import { encodeMessage } from '../dist/src/bgp/wire/index.js';
import { RouteContext } from '../dist/src/calc/routes.js';
import { Dataplane } from '../dist/src/dataplane/dataplane.js';
import { routeDump } from '../dist/src/native/addon.js';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

const N = Number(process.argv[2] ?? 100_000);
const ns = `tbbperf-${randomBytes(3).toString('hex')}`;
const ip = (...a) => execFileSync('ip', ['-n', ns, ...a]);
execFileSync('ip', ['netns', 'add', ns]);
try {
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  ip('link', 'set', 'eth1', 'up');
  ip('addr', 'add', '10.99.0.1/24', 'dev', 'eth0');
  ip('link', 'set', 'eth0', 'up');
  await main();
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}

async function main() {
  const dp = new Dataplane({ mode: 'iptables', netns: ns, nodeName: 'n', hostIfname: 'eth0', nodeIP: '10.99.0.1' });
  await dp.start();
  const ctx = new RouteContext({ nodeCidrs: ['10.99.0.1/24'], pools: [], localBlocks: [], vteps: [] });
  await dp.setResources({ routes: [...ctx.resourceIntents] });
  const net = new MemoryNet();
  const raws = net.rawAt('10.99.0.9');
  const b = net.speaker('10.99.0.1');
  b.speaker.setPeers([{ id: 'R', address: '10.99.0.9', remoteAsn: 65009 }]);
  b.speaker.setLocalRoutes([]);
  b.speaker.onBestPaths((changes) => {
    for (const c of changes) dp.learnedRoute(c.prefix, c.peerId === null ? undefined : ctx.learnedHops(c.prefix, c.nexthops));
    dp.learnedChanged();
  });
  await b.speaker.start();
  for (let i = 0; i < 1000 && raws.length === 0; i++) await net.advance(100);
  const r = raws[0];
  await rawEstablish(r, 65009, '10.0.0.9', rawCapabilities(65009));
  const msgs = (withdraw) => {
    const wire = [];
    for (let i = 0; i < N; i += 780) {
      const p = [];
      for (let k = i; k < Math.min(N, i + 780); k++) p.push(`10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}/32`);
      const update = withdraw ? { withdrawn: p, attributes: {}, nlri: [] } : { withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [65009] }], nextHop: '10.99.0.9' }, nlri: p };
      wire.push(encodeMessage({ type: 'update', update }, r.options));
    }
    return wire;
  };
  // ALLOC_PROF=FILE: every allocation sampled (also what the GC collected), to FILE.heapprofile.
  const insp = process.env.ALLOC_PROF ? new Session() : undefined;
  if (insp) {
    insp.connect();
    await insp.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  // The longest gap between two ticks of a 100 ms interval: how long the loop was held.
  let worst = 0;
  let tick = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    if (now - tick - 100 > 1000) console.log(`loop held ${(now - tick - 100).toFixed(0)} ms at ${dp.stats().routesProgrammed} routes`);
    worst = Math.max(worst, now - tick - 100);
    tick = now;
  }, 100);
  for (const [name, withdraw, want] of [['converge', false, N], ['withdraw', true, 0]]) {
    const wire = msgs(withdraw);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (const w of wire) r.sendRaw(w);
    for (let i = 0; i < 1e6 && dp.stats().routesProgrammed !== want; i++) await new Promise((res) => setTimeout(res, 1));
    const c = process.cpuUsage(c0);
    if (process.env.DUMP && !withdraw) {
      const d0 = performance.now();
      const u0 = process.cpuUsage();
      const routes = await routeDump({ netns: ns, family: 4, protocol: 88 });
      const u = process.cpuUsage(u0);
      console.log(`dump of ${routes.length} routes: ${(performance.now() - d0).toFixed(0)} ms wall, ${((u.user + u.system) / 1000).toFixed(0)} ms cpu, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`);
    }
    console.log(`${name}: worst loop lag ${worst.toFixed(0)} ms; ${(performance.now() - t0).toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms cpu, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`);
  }
  if (insp) writeFileSync(process.env.ALLOC_PROF, JSON.stringify((await insp.post('HeapProfiler.stopSampling')).profile));
  clearInterval(lag);
  await b.speaker.stop();
  await dp.stop();
}
