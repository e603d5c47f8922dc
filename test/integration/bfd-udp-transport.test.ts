// The BFD UDP transport on real sockets (loopback, random ports): RFC 5881 §5 — a
// Control packet is accepted only with TTL / hop limit 255 (the kernel filter drops 254),
// for IPv4 and IPv6; RFC 5881 §4 — packets go out from a source port in 49152–65535 and
// with TTL 255 (else our own receiver would drop them).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { UdpTransport } from '../../src/bfd/udp-transport.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sendWithTtl(family: 4 | 6, port: number, ttl: number, payload: string): Promise<void> {
  const s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
  await new Promise<void>((r) => s.bind(0, family === 4 ? '127.0.0.1' : '::1', () => r()));
  s.setTTL(ttl);
  await new Promise<void>((r, j) => s.send(payload, port, family === 4 ? '127.0.0.1' : '::1', (err) => (err ? j(err) : r())));
  s.close();
}

describe('BFD UDP transport', () => {
  for (const family of [4, 6] as const) {
    test(`IPv${family}: TTL 255 accepted, 254 dropped by the kernel; our sender uses 49152–65535 and TTL 255`, async () => {
      const port = randomInt(20000, 40000);
      const got: { payload: string; from: string }[] = [];
      const rx = new UdpTransport({ port });
      await rx.listen(family, (payload, from) => got.push({ payload: payload.toString(), from }));
      try {
        await sendWithTtl(family, port, 254, 'ttl254');
        await sendWithTtl(family, port, 255, 'ttl255');
        await sendWithTtl(family, port, 1, 'ttl1');
        const tx = new UdpTransport({ peerPort: port });
        const loop = family === 4 ? '127.0.0.1' : '::1';
        const sender = await tx.sender(loop, loop);
        assert.ok(sender.localPort >= 49152 && sender.localPort <= 65535, `source port ${sender.localPort}`);
        sender.send(Buffer.from('ours'));
        sender.close(); // what was sent still leaves (an AdminDown on the way out)
        for (let i = 0; i < 40 && got.length < 2; i++) await wait(25);
        await wait(50);
        assert.deepEqual(got.map((g) => g.payload).sort(), ['ours', 'ttl255']);
      } finally {
        await rx.close();
      }
    });
  }
});
