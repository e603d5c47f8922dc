// Route realms for eBPF encapsulation: one realm per (kind, remote node), so the realm
// the kernel leaves on a packet after choosing an ECMP next hop names that next hop's
// tunnel. Numbers must stay put while routes carry them: a new agent seeds the
// allocator from the previous program's encap_realms map, and a freed number is only
// handed out again after every other one has been (a route still carrying it for a
// moment then never points at the wrong node).

import { DataplaneError } from '../dataplane-error.js';
import type { RealmKind } from './encap-map-codec.js';

export const MIN_REALM = 1;
export const MAX_REALM = 0xffff;

function keyOf(kind: RealmKind, nodeIP: string): string {
  return `${kind} ${nodeIP}`;
}

export class RealmAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();
  private cursor = MIN_REALM - 1;

  /** Takes over an assignment found in the kernel; a conflicting one is ignored (false). */
  seed(kind: RealmKind, nodeIP: string, realm: number): boolean {
    const key = keyOf(kind, nodeIP);
    if (!Number.isInteger(realm) || realm < MIN_REALM || realm > MAX_REALM) return false;
    if (this.byKey.has(key) || this.used.has(realm)) return false;
    this.byKey.set(key, realm);
    this.used.add(realm);
    this.cursor = Math.max(this.cursor, realm);
    return true;
  }

  /** The realm of (kind, node), allocating one if needed; throws when all 65535 are taken. */
  get(kind: RealmKind, nodeIP: string): number {
    const key = keyOf(kind, nodeIP);
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    for (let i = 0; i < MAX_REALM; i++) {
      this.cursor = this.cursor >= MAX_REALM ? MIN_REALM : this.cursor + 1;
      if (!this.used.has(this.cursor)) {
        this.byKey.set(key, this.cursor);
        this.used.add(this.cursor);
        return this.cursor;
      }
    }
    throw new DataplaneError('all 65535 route realms are in use');
  }

  /** Frees every realm not in `keep` (call after the routes using them are gone). */
  retain(keep: ReadonlySet<number>): void {
    for (const [key, realm] of this.byKey) {
      if (keep.has(realm)) continue;
      this.byKey.delete(key);
      this.used.delete(realm);
    }
  }

  get size(): number {
    return this.byKey.size;
  }
}
