// A Tabby BGP peer in its own process, so it can run inside a network namespace
// (`ip netns exec NS node bgp-session-peer.fixture.js CONFIG`). Events go to stdout as
// JSON lines; commands come as JSON lines on stdin; stdin closing stops it.

import { createInterface } from 'node:readline';
import { destination, pino } from 'pino';
import { BgpListener, BgpSession, TcpDialer, type SessionConfig } from '../../src/bgp/session/index.js';

interface FixtureConfig {
  listen?: { address: string; port?: number };
  /** More peers on the same listener (no session: their connections are counted and closed). */
  listenFor?: Array<{ remoteAddress: string; ttlSecurity?: number }>;
  session: SessionConfig;
  /** IPv4 prefixes to announce once Established, with this next hop. */
  announce?: { prefixes: string[]; nextHop: string };
}

// Run without a configuration (say, by a test runner globbing this directory): nothing to do.
if (!process.argv[2]) process.exit(0);
const cfg = JSON.parse(process.argv[2]) as FixtureConfig;
const logger = pino({ level: process.env.TABBY_LOG_LEVEL ?? 'info' }, destination(2));

function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

const session = new BgpSession({
  ...cfg.session,
  logger,
  dialer: new TcpDialer(),
  handlers: {
    onStateChange: (s) => emit('state', s),
    onEstablished: (n) => {
      emit('established', { negotiated: n });
      const a = cfg.announce;
      if (a) {
        const asn = cfg.session.localAs;
        const ibgp = asn === cfg.session.remoteAs;
        void session
          .sendUpdates([{ withdrawn: [], nlri: a.prefixes, attributes: ibgp ? { origin: 0, asPath: [], nextHop: a.nextHop, localPref: 100 } : { origin: 0, asPath: [{ type: 2, asns: [asn] }], nextHop: a.nextHop } }])
          .then(() => session.sendEndOfRib('ipv4'));
      }
    },
    onUpdate: (u) => emit('update', { update: u }),
    onEndOfRib: (family) => emit('eor', { family }),
    onDown: (d) => emit('down', { down: d }),
  },
});

let listener: BgpListener | undefined;

async function main(): Promise<void> {
  if (cfg.listen) {
    listener = new BgpListener({ address: cfg.listen.address, port: cfg.listen.port ?? 179, logger });
    listener.addPeer(session);
    for (const p of cfg.listenFor ?? []) {
      listener.addPeer({
        ...p,
        incoming: (conn) => {
          emit('incoming', { remoteAddress: p.remoteAddress });
          conn.destroy();
        },
      });
    }
    await listener.listen();
  }
  session.start();
  emit('ready', { pid: process.pid });
}

async function shutdown(): Promise<void> {
  await session.stop();
  await listener?.close();
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string; subcode?: number; text?: string };
  if (cmd.cmd === 'status') emit('status', { status: session.status(), listener: listener?.stats() });
  else if (cmd.cmd === 'stop') void session.stop(cmd.subcode, cmd.text).then(() => emit('stopped'));
  else if (cmd.cmd === 'exit') void shutdown();
});
rl.on('close', () => void shutdown());

main().catch((err: unknown) => {
  emit('fatal', { error: String(err) });
  process.exit(1);
});
