// `tabby node run`: the process around the Agent. Probes and /metrics come up first (the
// probes on 127.0.0.1:9099, /metrics on its own listener for Prometheus), then the
// datastore is waited for (readiness false meanwhile), the default pools are created,
// and the agent starts. SIGTERM at any point ends the process cleanly.
import type { Registry } from 'prom-client';
import { ResourceClient } from '../client/resource-client.js';
import { parseDatastoreUri, openDatastore, resolveDatastoreUri } from '../datastore/open.js';
import { etcdOptionsFromEnv } from '../datastore/etcd-options.js';
import { buildInfo } from '../util/build-info.js';
import { createLogger, type Logger } from '../util/log.js';
import { Agent } from './agent.js';
import { waitForDatastore } from './datastore-wait.js';
import { ensureDefaultPools } from './default-pools.js';
import { HealthServer, type HealthSource } from './health-server.js';
import { startupRegistry } from './metrics.js';
import type { Endpoint, NodeConfig } from './node-config.js';
import { StateError } from '../errors.js';

/** Probes, and /metrics on a second listener unless both were given the same address and port. */
async function startServers(cfg: NodeConfig, health: () => HealthSource, registry: () => Registry, log: Logger): Promise<HealthServer[]> {
  const same = (a: Endpoint | false, b: Endpoint | false) => a && b && a.address === b.address && a.port === b.port && a.port !== 0;
  const plans: [Endpoint, HealthServer, string][] = [];
  if (same(cfg.health, cfg.metrics)) plans.push([cfg.health as Endpoint, new HealthServer(registry, health), 'probes and metrics']);
  else {
    if (cfg.health) plans.push([cfg.health, new HealthServer(undefined, health), 'probes (/liveness, /readiness)']);
    if (cfg.metrics) plans.push([cfg.metrics, new HealthServer(registry, undefined), 'metrics (/metrics)']);
  }
  for (const [at, server, what] of plans) log.info({ ...(await server.start(at.address, at.port)), serving: what }, `${what} listening`);
  return plans.map((p) => p[1]);
}

export async function runNode(cfg: NodeConfig): Promise<void> {
  const logger = createLogger({ level: cfg.logLevel, name: 'tabby' });
  const log = logger.child({ component: 'node', node: cfg.nodeName });
  const info = buildInfo();
  log.info({ version: info.version, commit: info.commit, node: info.node }, 'starting Tabby');
  // Settings that can never work fail now, not after a wait.
  const uri = resolveDatastoreUri(cfg.datastore);
  if (parseDatastoreUri(uri).type === 'etcd') etcdOptionsFromEnv();

  let agent: Agent | undefined;
  let waiting = 'waiting for the datastore';
  const early = startupRegistry(info);
  const stopping = new AbortController();
  const servers = await startServers(
    cfg,
    () => ({ live: () => !stopping.signal.aborted, ready: () => agent?.readiness() ?? { ready: false, reason: waiting } }),
    () => agent?.metrics.registry ?? early,
    log,
  );
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    stopping.abort(new StateError(`stopped by ${signal}`));
    Promise.resolve(agent?.stop())
      .then(() => Promise.all(servers.map((s) => s.stop())))
      .then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'stop failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  let store;
  try {
    store = await waitForDatastore(() => openDatastore(uri, { etcd: { connectTimeoutMs: 3000 } }), log, {
      signal: stopping.signal,
      onAttempt: (attempt, err) => (waiting = `datastore unreachable (attempt ${attempt}): ${err.message}`),
    });
  } catch (err) {
    if (stopping.signal.aborted) return new Promise<never>(() => undefined); // stop() exits
    throw err;
  }
  await ensureDefaultPools(new ResourceClient(store), cfg.pools, log);
  agent = new Agent({
    nodeName: cfg.nodeName,
    store,
    dataplane: cfg.dataplane,
    bpfPinRoot: cfg.bpfPinRoot,
    stateDir: cfg.stateDir,
    secretsDir: cfg.secretsDir,
    ip: cfg.ip,
    ip6: cfg.ip6,
    ...(cfg.routerId ? { routerId: cfg.routerId } : {}),
    health: false,
    logger,
  });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  await new Promise<never>(() => undefined); // run until a signal
}
