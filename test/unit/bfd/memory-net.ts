// An in-memory network for BFD managers: hosts by address, datagrams delivered on the
// next fake-clock tick, and a switch to cut everything.

import type { FakeClock } from '../../helpers/fake-clock.js';
import type { BfdSender, BfdTransport } from '../../../src/bfd/udp-transport.js';

/** Hosts by address; a packet sent from `local` to `peer` reaches the peer's listener next tick. */
export class Net {
  readonly hosts = new Map<string, (payload: Buffer, from: string) => void>();
  readonly sent: { from: string; to: string; payload: Buffer }[] = [];
  cut = false;
  constructor(readonly clock: FakeClock) {}

  transport(me: string, opts: { listenFails?: boolean } = {}): BfdTransport {
    return {
      listen: async (_family, onPacket) => {
        if (opts.listenFails) throw new Error('bind EADDRINUSE 0.0.0.0:3784');
        this.hosts.set(me, onPacket);
      },
      sender: async (peer, local): Promise<BfdSender> => {
        let open = true;
        return {
          localPort: 49152,
          send: (payload) => {
            if (!open) return;
            const from = local ?? me;
            this.sent.push({ from, to: peer, payload });
            if (!this.cut) this.clock.setTimeout(() => this.hosts.get(peer)?.(payload, from), 0);
          },
          close: () => (open = false),
        };
      },
      close: async () => {
        this.hosts.delete(me);
      },
    };
  }
}

