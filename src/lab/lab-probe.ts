// The TCP half of the lab's connectivity matrix, run inside a namespace by `ip netns exec`
// (a workload or the outside host has no Tabby of its own):
//   lab-probe.js serve PORT          answers each connection with the peer address it sees,
//                                    so the outside host can tell a node (masqueraded by
//                                    natOutgoing) from a workload; prints "ready" once bound
//   lab-probe.js connect PORT ADDR…  one JSON line per address: {address, ok, seen, error}
import { createConnection, createServer } from 'node:net';

const TIMEOUT_MS = 3000;

/** IPv4 peers of a dual-stack socket show as ::ffff:a.b.c.d. */
const plain = (a: string | undefined) => (a ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

function serve(port: number): void {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.end(`${plain(s.remoteAddress)}\n`);
  });
  const listen = (host: string, fallback?: string) =>
    server.once('error', (err) => {
      if (!fallback) throw err;
      listen(fallback); // a namespace without IPv6
    }).listen({ port, host, ipv6Only: false }, () => process.stdout.write('ready\n'));
  listen('::', '0.0.0.0');
}

function connect(port: number, address: string): Promise<{ address: string; ok: boolean; seen?: string; error?: string }> {
  return new Promise((resolve) => {
    let data = '';
    const s = createConnection({ port, host: address, timeout: TIMEOUT_MS });
    const done = (r: { ok: boolean; seen?: string; error?: string }) => {
      s.destroy();
      resolve({ address, ...r });
    };
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('end', () => done({ ok: data.endsWith('\n'), seen: data.trim() }));
    s.on('timeout', () => done({ ok: false, error: 'timeout' }));
    s.on('error', (err) => done({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }));
  });
}

const [verb, portText, ...addresses] = process.argv.slice(2);
const port = Number(portText);
if (verb === 'serve') serve(port);
else if (verb === 'connect') {
  void Promise.all(addresses.map((a) => connect(port, a))).then((rs) => process.stdout.write(rs.map((r) => JSON.stringify(r)).join('\n') + '\n'));
} else {
  process.stderr.write('usage: lab-probe serve PORT | connect PORT ADDRESS...\n');
  process.exitCode = 2;
}
