// HTTP for the outside: /liveness and /readiness (kubelet's probes, 127.0.0.1 by default)
// and /metrics (Prometheus). One class serves either or both: the node runner gives the
// probes and the metrics a listener each, so Prometheus can scrape without the probes
// being exposed. The sources are functions, so they can be switched once the agent runs.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  live(): boolean;
  ready(): { ready: boolean; reason: string };
}

type Source<T> = T | (() => T | undefined) | undefined;
const current = <T>(s: Source<T>): T | undefined => (typeof s === 'function' ? (s as () => T | undefined)() : s);

export class HealthServer {
  private server?: Server;

  constructor(private readonly registry: Source<Registry>, private readonly health: Source<HealthSource>) {}

  async start(host: string, port: number): Promise<{ host: string; port: number }> {
    this.server = createServer(async (req, res) => {
      try {
        const registry = current(this.registry);
        const health = current(this.health);
        if (req.url === '/metrics' && registry) {
          const body = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType }).end(body);
        } else if (req.url === '/liveness' && health) {
          const ok = health.live();
          res.writeHead(ok ? 200 : 503).end(ok ? 'live\n' : 'not live\n');
        } else if (req.url === '/readiness' && health) {
          const r = health.ready();
          res.writeHead(r.ready ? 200 : 503).end(`${r.reason}\n`);
        } else {
          res.writeHead(404).end('not found\n');
        }
      } catch (err) {
        res.writeHead(500).end(`${(err as Error).message}\n`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as { address: string; port: number };
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
