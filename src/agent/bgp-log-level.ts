// BGPConfiguration logSeverityScreen as calico-node applies it: the level of the BGP
// daemon's own logs (confd renders BIRD's `debug` from it; a node.<name> override wins).
// The speaker logs through one logger; every logger derived from it (peers, sessions) is
// tracked, so a new level reaches them all at once. Unset: the agent's own level.

import type { Logger } from '../util/log.js';
import { parseLogLevel } from '../util/log.js';

export class BgpLogLevel {
  readonly logger: Logger;
  private readonly base: string;
  private readonly derived = new Set<WeakRef<Logger>>();

  constructor(parent: Logger) {
    this.base = parent.level;
    this.logger = parent.child({});
    // Inherited by every descendant (pino calls the prototype's onChild).
    this.logger.onChild = (child) => {
      if (this.derived.size > 4096) this.sweep();
      this.derived.add(new WeakRef(child));
    };
  }

  /** A Calico severity name (Trace…Fatal), or undefined for the agent's level. */
  set(severity: string | undefined): void {
    const level = severity === undefined ? this.base : parseLogLevel(severity, 'logSeverityScreen');
    if (level === this.logger.level) return;
    this.logger.level = level;
    for (const ref of this.derived) {
      const l = ref.deref();
      if (l) l.level = level;
      else this.derived.delete(ref);
    }
  }

  private sweep(): void {
    for (const ref of this.derived) if (!ref.deref()) this.derived.delete(ref);
  }
}
