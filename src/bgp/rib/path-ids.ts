// Path identifiers we send with add-path (RFC 7911 §3: "assigned by the sender", unique
// per prefix and session). One id per route source — the peer it came from and the
// peer's own path id — the same on every session and for every prefix, as BIRD gives
// each rte_src one global id. A path keeps its id while it exists, however often its
// attributes change, so a replacement is an implicit withdraw of the old attributes
// (RFC 7911 §5) rather than a withdraw followed by an announce.

import type { Path } from './types.js';

export class PathIds {
  private readonly ids = new Map<string, number>();
  private next = 1;

  /** The id we send for `path` (never 0, which BIRD and GoBGP read as "no id given"). */
  of(path: Path): number {
    const key = path.pathId === 0 ? path.peer.id : `${path.peer.id}\0${path.pathId}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(key, id);
    }
    return id;
  }

  /** The peer is gone for good: its ids may not be reused (a client may still hold them), only forgotten. */
  forget(peerId: string): void {
    for (const key of this.ids.keys()) if (key === peerId || key.startsWith(`${peerId}\0`)) this.ids.delete(key);
  }

  get size(): number {
    return this.ids.size;
  }
}
