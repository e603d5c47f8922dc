// The Tabby receiver for `tabby bench bgp`: the BGP speaker in its own process, started
// inside the receiver's namespace (`ip netns exec NS node bgp-receiver.js CONFIG-JSON`),
// which installs the best paths into that namespace's kernel with the addon's batched
// netlink (routeApply), as the agent's route dataplane does. Changes that arrive while
// a batch is in flight are coalesced per prefix into the next batch.
// Prints one JSON line {"event":"ready"} when listening; SIGTERM stops it.

import { Speaker, type SpeakerPeer } from '../bgp/speaker.js';
import { RTPROT_TABBY } from '../dataplane/routes/route-protocol.js';
import { routeApply, type RouteOp } from '../native/routes.js';

interface ReceiverConfig {
  routerId: string;
  localAsn: number;
  peer: SpeakerPeer;
  dev: string;
}

if (!process.argv[2]) process.exit(0);
const cfg = JSON.parse(process.argv[2]) as ReceiverConfig;
const speaker = new Speaker({ routerId: cfg.routerId, localAsn: cfg.localAsn, listen: { address: '0.0.0.0', port: 179 }, timers: { connectDelay: 0.2, connectRetry: 1 } });

const pending = new Map<string, string | null>();
let busy = false;
let failed = 0;

async function flush(): Promise<void> {
  if (busy || pending.size === 0) return;
  busy = true;
  const ops: RouteOp[] = [];
  for (const [dst, nh] of pending) ops.push(nh ? { op: 'replace', route: { dst, gateway: nh, dev: cfg.dev } } : { op: 'delete', route: { dst } });
  pending.clear();
  try {
    const r = await routeApply(ops, { protocol: RTPROT_TABBY });
    failed += r.failed;
  } catch (err) {
    process.stderr.write(`routeApply: ${String(err)}\n`);
  } finally {
    busy = false;
    if (pending.size) setImmediate(() => void flush());
  }
}

speaker.onBestPaths((changes) => {
  for (const c of changes) {
    if (c.family !== 'ipv4') continue;
    pending.set(c.prefix, c.peerId === null ? null : (c.nexthops[0] ?? null));
  }
  void flush();
});

async function main(): Promise<void> {
  speaker.setPeers([cfg.peer]);
  await speaker.start();
  process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`);
}

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void speaker.stop({ graceful: false }).finally(() => {
    if (failed) process.stderr.write(`routeApply failures: ${failed}\n`);
    process.exit(0);
  });
});

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${String(err)}\n`);
  process.exit(1);
});
