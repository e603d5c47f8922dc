// Writes the status of every CalicoNodeStatus naming this node, each on its own
// updatePeriodSeconds (0: not updated), as calico-node's status reporter does. The
// resource may be deleted at any time: then nothing is written back.

import type { ResourceClient } from '../client/resource-client.js';
import type { CalicoNodeStatus } from '../api/types.js';
import { NotFoundError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { nodeStatusReport, type NodeStatusFacts } from './node-status-report.js';

export interface NodeStatusWriterOptions {
  node: string;
  client: ResourceClient;
  /** The CalicoNodeStatus resources as the agent's cache has them. */
  list: () => CalicoNodeStatus[];
  facts: () => NodeStatusFacts | undefined;
  log: Logger;
  now?: () => number;
}

export class NodeStatusWriter {
  private readonly written = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly opts: NodeStatusWriterOptions) {}

  start(everyMs = 1000): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().then(() => undefined).finally(() => (this.running = undefined));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Writes the reports that are due; returns the names written. */
  async tick(): Promise<string[]> {
    const now = (this.opts.now ?? Date.now)();
    const due = this.opts.list().filter((r) => {
      const period = r.spec.updatePeriodSeconds ?? 10;
      const last = this.written.get(r.metadata.name);
      return r.spec.node === this.opts.node && period > 0 && (last === undefined || now - last >= period * 1000);
    });
    const out: string[] = [];
    if (due.length === 0) return out;
    const facts = this.opts.facts();
    if (!facts) return out;
    for (const r of due) {
      const name = r.metadata.name;
      this.written.set(name, now);
      try {
        await this.opts.client.modify('CalicoNodeStatus', name, (stored) => {
          if (!stored) throw new NotFoundError('CalicoNodeStatus', name);
          return { ...stored, status: nodeStatusReport((stored as CalicoNodeStatus).spec, facts) };
        });
        out.push(name);
      } catch (err) {
        if (!(err instanceof NotFoundError)) this.opts.log.warn({ err, name }, 'CalicoNodeStatus not written; retrying next period');
      }
    }
    return out;
  }
}
