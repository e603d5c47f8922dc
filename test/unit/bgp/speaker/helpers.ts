// Speakers on an in-memory network with one fake clock: a dial to an address reaches the
// speaker registered there (its accept()), or a raw peer the test drives by hand.

import { FakeClock, settle } from '../../../helpers/fake-clock.js';
import { MemoryDialer } from '../../../helpers/memory-transport.js';
import { Speaker, type BestPath, type SpeakerOptions } from '../../../../src/bgp/speaker.js';
import type { Capability, Family } from '../../../../src/bgp/wire/index.js';
import { RawPeer } from '../session/helpers.js';

export { RawPeer, settle };

export interface Node {
  address: string;
  speaker: Speaker;
  dialer: MemoryDialer;
  /** Every onBestPaths batch, flattened. */
  changes: BestPath[];
}

export class MemoryNet {
  readonly clock = new FakeClock();
  private readonly nodes = new Map<string, Node>();
  /** Raw peers by address; each dial to one creates a new RawPeer. */
  private readonly raws = new Map<string, RawPeer[]>();

  /** A speaker at `address`; ASN and router id default from the last octet. */
  speaker(address: string, opts: Partial<SpeakerOptions> = {}): Node {
    const last = Number(address.split('.').pop());
    const dialer = new MemoryDialer(address);
    dialer.onDial = (attempt) => {
      const to = attempt.target.remoteAddress;
      const raw = this.raws.get(to);
      if (raw) {
        raw.push(new RawPeer(attempt.accept()));
        return;
      }
      const node = this.nodes.get(to);
      if (!node) {
        attempt.refuse('ECONNREFUSED');
        return;
      }
      node.speaker.accept(attempt.accept());
    };
    const speaker = new Speaker({
      routerId: `10.0.0.${last}`,
      localAsn: 65000 + last,
      listen: false,
      clock: this.clock,
      dialer,
      timers: { connectDelay: 1, connectRetry: 5 },
      ...opts,
    });
    const node: Node = { address, speaker, dialer, changes: [] };
    speaker.onBestPaths((c) => node.changes.push(...c));
    this.nodes.set(address, node);
    return node;
  }

  /** Dials to `address` are accepted and handed to raw peers. */
  rawAt(address: string): RawPeer[] {
    const list: RawPeer[] = [];
    this.raws.set(address, list);
    return list;
  }

  /** Moves the fake clock (timers fire in order, I/O settles in between). */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms);
  }
}

/** Capabilities of a raw peer: both families, 4-octet AS, and graceful restart if given. */
export function rawCapabilities(asn: number, gr?: { time: number; restarting?: boolean; notification?: boolean; forwarding?: boolean; families?: Family[] }): Capability[] {
  const caps: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'route-refresh' },
    { kind: 'four-octet-as', asn },
  ];
  if (gr) {
    caps.push({
      kind: 'graceful-restart',
      restarting: gr.restarting === true,
      notification: gr.notification === true,
      time: gr.time,
      families: (gr.families ?? ['ipv4', 'ipv6']).map((f) => ({ afi: f === 'ipv4' ? 1 : 2, safi: 1, forwarding: gr.forwarding !== false })),
    });
  }
  return caps;
}

/** OPEN and KEEPALIVE from a raw peer, then settle: the session is Established (hold time 0: raw peers send no keepalives). */
export async function rawEstablish(raw: RawPeer, asn: number, bgpId: string, caps: Capability[], holdTime = 0): Promise<void> {
  raw.send({ type: 'open', open: { asn, holdTime, bgpId, capabilities: caps } });
  raw.send({ type: 'keepalive' });
  await settle();
}

/** The learned table as "prefix nexthop,… peer" lines, sorted: easy to compare. */
export function table(speaker: Speaker): string[] {
  return speaker
    .bestPaths()
    .map((b) => `${b.prefix} ${b.nexthops.join(',')} ${b.peerId}`)
    .sort();
}

/** Waits (fake time) until `pred` holds, in steps; throws after `ms`. */
export async function until(net: MemoryNet, pred: () => boolean, ms = 60_000, step = 100): Promise<void> {
  for (let t = 0; t <= ms; t += step) {
    if (pred()) return;
    await net.advance(step);
  }
  throw new Error('condition not reached in fake time');
}
