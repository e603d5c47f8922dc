// The plugin's commands. ADD: addresses from IPAM (under the host-wide lock), the veth,
// the WorkloadEndpoint; anything that fails undoes what came before, so a retried ADD
// starts clean. DEL: release by handle, delete the endpoint, remove the veth; whatever
// is already gone is fine (SPEC.md: DEL must succeed when resources are missing).
import { hostname } from 'node:os';
import { parseCidr, type Family } from '../api/net.js';
import { matchesSelector } from '../api/selector.js';
import type { IPPool, Node } from '../api/types.js';
import type { Datastore } from '../datastore/datastore.js';
import { resolveDatastoreUri } from '../datastore/open.js';
import { NetlinkError, NotFoundError } from '../errors.js';
import { Ipam } from '../ipam/ipam.js';
import { linkList } from '../native/links.js';
import type { NetConf } from './cni-config.js';
import type { CniEnv } from './cni-env.js';
import { CNI_CODE, CniError } from './cni-error.js';
import type { CniLog } from './cni-log.js';
import { attachmentNames, type AttachmentNames } from './cni-names.js';
import { addressesIn, attachmentResult, type CniResult } from './cni-result.js';
import { withIpamLock } from './ipam-lock.js';
import { WEP_KIND, workloadEndpointResource, type WorkloadEndpoint } from './workload-endpoint.js';
import { workloadMtu } from './workload-mtu.js';
import { containerHas, inspectVeth, unwireVeth, wireVeth } from './workload-veth.js';

export interface PluginContext {
  env: CniEnv;
  conf: NetConf;
  log: CniLog;
  /** Opened on first use and closed by the caller. */
  store(): Promise<Datastore>;
}

const ENOENT = 2;

export function nodeName(conf: NetConf, env: NodeJS.ProcessEnv = process.env): string {
  return conf.nodename ?? (env.TABBY_NODENAME || hostname());
}

export function datastoreUri(conf: NetConf): string {
  return resolveDatastoreUri(conf.datastore);
}

/** Pools named (by name or CIDR) in the configuration, else every pool; only those a workload may use. */
async function workloadPools(store: Datastore, conf: NetConf): Promise<IPPool[]> {
  const all = (await store.list('IPPool')).items as IPPool[];
  const usable = (p: IPPool) => !p.spec.allowedUses || p.spec.allowedUses.includes('Workload');
  if (!conf.ipam.pools) return all.filter(usable);
  return conf.ipam.pools.map((want) => {
    const cidr = parseCidr(want);
    const pool = all.find((p) => p.metadata.name === want || (cidr && p.spec.cidr === cidr.network));
    if (!pool) throw new CniError(CNI_CODE.InvalidConfig, 'invalid ipam.pools', `no IPPool named ${JSON.stringify(want)} (known: ${all.map((p) => p.metadata.name).join(', ') || 'none'})`);
    if (!usable(pool)) throw new CniError(CNI_CODE.InvalidConfig, 'invalid ipam.pools', `IPPool ${pool.metadata.name} does not allow Workload use`);
    return pool;
  });
}

/** Which families to assign: Calico's assign_ipv4 (default on) and assign_ipv6 (default off, on when a listed pool is IPv6). */
function families(conf: NetConf, pools: IPPool[]): Family[] {
  const has = (f: Family) => pools.some((p) => !p.spec.disabled && parseCidr(p.spec.cidr)?.family === f);
  const out: Family[] = [];
  if (conf.ipam.assignIpv4 && has(4)) out.push(4);
  if ((conf.ipam.assignIpv6 ?? conf.ipam.pools !== undefined) && has(6)) out.push(6);
  if (out.length === 0) {
    throw new CniError(CNI_CODE.IpamExhausted, 'no IP pool to assign from', `enabled pools: ${pools.filter((p) => !p.spec.disabled).map((p) => `${p.metadata.name} ${p.spec.cidr}`).join(', ') || 'none'}`);
  }
  return out;
}

async function assignAddresses(ctx: PluginContext, store: Datastore, names: AttachmentNames, node: string, pools: IPPool[]): Promise<string[]> {
  const { env, conf } = ctx;
  const labels = ((await store.get('Node', node)) as Node | undefined)?.metadata.labels ?? {};
  const ipam = new Ipam(store);
  const attributes = {
    containerID: env.containerID,
    ifname: env.ifname,
    network: conf.name,
    ...(names.ids.orchestrator === 'k8s' ? { namespace: names.ids.namespace, pod: names.ids.pod } : {}),
  };
  return withIpamLock(conf.ipamLockFile, ctx.log, async () => {
    const out: string[] = [];
    try {
      for (const family of families(conf, pools)) {
        const address = await ipam.assign(node, names.handle, family, { pools, labels, attributes });
        out.push(`${address}/${family === 4 ? 32 : 128}`);
      }
    } catch (err) {
      // One family without the other is no use (Calico releases the IPv6 when IPv4 failed).
      if (out.length > 0) await ipam.release(names.handle);
      throw err;
    }
    return out;
  });
}

export async function cniAdd(ctx: PluginContext): Promise<CniResult> {
  const { env, conf, log } = ctx;
  const node = nodeName(conf);
  const names = attachmentNames(env, conf.name, node);
  log.bind({ node, workloadEndpoint: names.wepName, handle: names.handle });
  try {
    if (await containerHas(env.netns, env.ifname)) {
      throw new CniError(CNI_CODE.Internal, `interface ${env.ifname} already exists in the container`, `${env.netns} holds ${env.ifname}; DEL the attachment first`);
    }
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENOENT) throw new CniError(CNI_CODE.UnknownContainer, 'container network namespace not found', env.netns);
    throw err;
  }
  const store = await ctx.store();
  const pools = await workloadPools(store, conf);
  const addresses = await assignAddresses(ctx, store, names, node, pools);
  log.info({ addresses }, 'addresses assigned');
  try {
    const mtu = conf.mtu ?? workloadMtu(await linkList(), pools);
    const wired = await wireVeth({ netns: env.netns, ifname: env.ifname, hostVeth: names.hostVeth, addresses, mtu, allowIpForwarding: conf.allowIpForwarding });
    const wep = workloadEndpointResource({ names, network: conf.name, netns: env.netns, addresses, mac: wired.containerMac });
    await store.txn([{ op: 'upsert', resource: wep }]);
    log.info({ hostVeth: names.hostVeth, mtu }, 'workload wired');
    return attachmentResult(
      conf.cniVersion,
      {
        host: { name: names.hostVeth, mac: 'ee:ee:ee:ee:ee:ee', mtu },
        container: { name: env.ifname, mac: wired.containerMac, sandbox: env.netns, mtu },
        addresses,
        routes: wired.routes,
      },
      conf.prevResult,
    );
  } catch (err) {
    log.error({ err }, 'ADD failed; undoing it');
    await undo(ctx, store, names);
    throw err;
  }
}

/** Best effort: every step runs even when an earlier one fails. */
async function undo(ctx: PluginContext, store: Datastore, names: AttachmentNames): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [
    ['veth', () => unwireVeth({ netns: ctx.env.netns, ifname: ctx.env.ifname, hostVeth: names.hostVeth })],
    ['endpoint', () => store.delete(WEP_KIND, names.wepName).catch((e) => (e instanceof NotFoundError ? undefined : Promise.reject(e)))],
    ['addresses', () => withIpamLock(ctx.conf.ipamLockFile, ctx.log, () => new Ipam(store).release(names.handle))],
  ];
  for (const [what, step] of steps) await step().catch((err: Error) => ctx.log.error({ err, what }, 'undo step failed'));
}

export async function cniDel(ctx: PluginContext): Promise<void> {
  const { env, conf, log } = ctx;
  const node = nodeName(conf);
  const names = attachmentNames(env, conf.name, node);
  log.bind({ node, workloadEndpoint: names.wepName, handle: names.handle });
  const store = await ctx.store();
  const released = await withIpamLock(conf.ipamLockFile, log, () => new Ipam(store).release(names.handle));
  await store.delete(WEP_KIND, names.wepName).catch((e) => {
    if (!(e instanceof NotFoundError)) throw e;
  });
  await unwireVeth({ netns: env.netns || undefined, ifname: env.ifname, hostVeth: names.hostVeth });
  log.info({ released: released.map((r) => r.address) }, 'workload removed');
}

export async function cniCheck(ctx: PluginContext): Promise<void> {
  const { env, conf } = ctx;
  if (!conf.prevResult) throw new CniError(CNI_CODE.InvalidConfig, 'CHECK needs prevResult', 'the runtime must pass the result of the ADD');
  const names = attachmentNames(env, conf.name, nodeName(conf));
  const addresses = addressesIn(conf.prevResult, env.ifname, env.netns);
  if (addresses.length === 0) throw new CniError(CNI_CODE.CheckFailed, 'attachment is not as ADD left it', `prevResult lists no address on ${env.ifname} in ${env.netns}`);
  const problems = await inspectVeth({ netns: env.netns, ifname: env.ifname, hostVeth: names.hostVeth, addresses });
  const store = await ctx.store();
  const blocks = await new Ipam(store).blocks();
  for (const a of addresses) {
    const ip = parseCidr(a)!.address;
    const holder = blocks.map((b) => b.spec.allocations[ip]).find((h) => h !== undefined);
    if (holder !== names.handle) problems.push(`IPAM: ${ip} is ${holder ? `held by ${holder}` : 'not allocated'}, not by ${names.handle}`);
  }
  const wep = (await store.get(WEP_KIND, names.wepName)) as WorkloadEndpoint | undefined;
  if (!wep) problems.push(`WorkloadEndpoint ${names.wepName} is missing`);
  else {
    if (JSON.stringify((wep.spec.ipNetworks ?? []).slice().sort()) !== JSON.stringify(addresses.slice().sort())) problems.push(`WorkloadEndpoint ${names.wepName} lists other networks`);
    const mac = (await linkList({ netns: env.netns }).catch(() => [])).find((l) => l.name === env.ifname)?.mac;
    if (wep.spec.mac && mac && wep.spec.mac !== mac) problems.push(`${env.ifname} has MAC ${mac}, the WorkloadEndpoint says ${wep.spec.mac}`);
  }
  if (problems.length > 0) throw new CniError(CNI_CODE.CheckFailed, 'attachment is not as ADD left it', problems.join('; '));
}

/** STATUS (1.1.0): ready when the datastore answers and a pool can give workloads addresses. */
export async function cniStatus(ctx: PluginContext): Promise<void> {
  let pools: IPPool[];
  try {
    pools = await workloadPools(await ctx.store(), ctx.conf);
  } catch (err) {
    if (err instanceof CniError) throw new CniError(CNI_CODE.PluginNotAvailable, 'the plugin is not available', err.details || err.msg);
    throw new CniError(CNI_CODE.PluginNotAvailable, 'the plugin is not available', `datastore ${datastoreUri(ctx.conf)}: ${(err as Error).message}`);
  }
  const node = ((await (await ctx.store()).get('Node', nodeName(ctx.conf))) as Node | undefined)?.metadata.labels ?? {};
  if (!pools.some((p) => !p.spec.disabled && matchesSelector(p.spec.nodeSelector, node))) {
    throw new CniError(CNI_CODE.PluginNotAvailable, 'the plugin is not available', 'no enabled IP pool selects this node');
  }
}

/** GC (1.1.0): release what this network holds on this node for attachments not in the valid list. */
export async function cniGc(ctx: PluginContext): Promise<void> {
  const { conf, log } = ctx;
  const node = nodeName(conf);
  const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerID}/${a.ifname}`));
  const store = await ctx.store();
  const ipam = new Ipam(store);
  const handles = new Set<string>();
  for (const b of await ipam.blocks()) {
    for (const [address, handle] of Object.entries(b.spec.allocations)) {
      const a = b.spec.attributes?.[address];
      if (a?.node === node && a.network === conf.name && a.containerID && a.ifname && !valid.has(`${a.containerID}/${a.ifname}`)) handles.add(handle);
    }
  }
  if (handles.size > 0) {
    const released = await withIpamLock(conf.ipamLockFile, log, async () => (await Promise.all([...handles].map((h) => ipam.release(h)))).flat());
    log.info({ released: released.map((r) => r.address) }, 'garbage collected addresses');
  }
  for (const wep of (await store.list(WEP_KIND)).items as WorkloadEndpoint[]) {
    const s = wep.spec;
    if (s.node !== node || !s.profiles?.includes(conf.name) || !s.containerID || !s.endpoint || valid.has(`${s.containerID}/${s.endpoint}`)) continue;
    await store.delete(WEP_KIND, wep.metadata.name).catch(() => undefined);
    if (s.interfaceName) await unwireVeth({ ifname: s.endpoint, hostVeth: s.interfaceName });
    log.info({ workloadEndpoint: wep.metadata.name }, 'garbage collected endpoint');
  }
}
