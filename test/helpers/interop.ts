// One interface over the four routing daemons the interop tests run against Tabby —
// BIRD 2, GoBGP, FRR (bgpd + zebra) and ExaBGP — so the same matrix runs for each:
// configure neighbours and routes (with communities, large and extended communities),
// crash and restart with graceful restart, read back what it learned and what it
// forwards on. Each daemon runs in its own namespace with its own files.

import { routeDump } from '../../src/native/routes.js';
import { Bird, BIRD, BIRDC } from './bird.js';
import { ExaBgp, EXABGP } from './exabgp.js';
import { Frr, FRR_TOOLS } from './frr.js';
import { GoBgp, GOBGP, GOBGPD } from './gobgp.js';

export type DaemonKind = 'bird' | 'gobgp' | 'frr' | 'exabgp';

/** What each daemon needs on the machine (for needs()). */
export const TOOLS: Record<DaemonKind, string[]> = {
  bird: [BIRD, BIRDC],
  gobgp: [GOBGPD, GOBGP],
  frr: FRR_TOOLS,
  exabgp: [EXABGP],
};

export interface RouteSpec {
  prefix: string;
  nextHop: string;
  /** "asn:value" */
  communities?: string[];
  /** "asn:a:b" */
  large?: string[];
  /** Route targets "asn:value" (2-octet AS, extended community type 0x00 / 0x02). */
  rt?: string[];
  /** ExaBGP only: an attribute it sends as raw bytes. */
  raw?: { type: number; flags: number; hex: string };
  /** ExaBGP only: reflection attributes, as a route reflector would set them. */
  originatorId?: string;
  clusterList?: string[];
}

export interface NeighborSpec {
  address: string;
  asn: number;
  md5?: string;
  rrClient?: boolean;
}

export interface DaemonSpec {
  routerId: string;
  asn: number;
  local4: string;
  local6: string;
  neighbors: NeighborSpec[];
  routes: RouteSpec[];
  /** Set: a route reflector for its rrClient neighbours. */
  clusterId?: string;
  /** Graceful restart time offered (all daemons offer it here). */
  restartTime?: number;
}

/** A route as the daemon shows it, in one vocabulary for all four. */
export interface RouteView {
  prefix: string;
  nextHop?: string;
  asPath: number[];
  communities: string[];
  large: string[];
  /** "rt:asn:value" */
  ext: string[];
  /** Type codes of attributes it keeps without knowing them (where it shows them). */
  unknown: number[];
  originatorId?: string;
  clusterList?: string[];
}

export interface InteropDaemon {
  readonly kind: DaemonKind;
  readonly ns: string;
  /** Can it show unrecognised attributes it received (so the test can check passing them on)? */
  readonly showsUnknown: boolean;
  /** Does it install what it learns in the kernel (else fib() is its RIB)? */
  readonly hasKernel: boolean;
  start(spec: DaemonSpec, opts?: { restarting?: boolean }): Promise<void>;
  /** SIGKILL: a crash, nothing said to the peers. */
  crash(): Promise<void>;
  stop(): Promise<void>;
  established(neighbor: string): Promise<boolean>;
  route(prefix: string): Promise<RouteView | undefined>;
  /** The prefixes it forwards on now: its kernel's routes, or its RIB where it has no FIB. */
  fib(): Promise<Set<string>>;
  /**
   * Watches `prefixes` until stop(): each moment one was missing from what it forwards on.
   * Kernels are sampled every 50 ms; GoBGP's RIB and ExaBGP's received stream are
   * followed change by change (`continuous`), so no withdrawal can slip between samples.
   */
  watch(prefixes: readonly string[]): Promise<Watch>;
  log(): string;
}

export interface WatchResult {
  samples: number;
  continuous: boolean;
  missing: Array<{ at: number; prefix: string }>;
}

export interface Watch {
  stop(): Promise<WatchResult>;
}

const isV6 = (p: string): boolean => p.includes(':');

/** Every route in the namespace's kernel (both families), as "prefix" strings. */
export async function kernelPrefixes(ns: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const family of [4, 6] as const) for (const r of await routeDump({ family, netns: ns })) out.add(r.dst);
  return out;
}

/** What every adapter has: its namespace, the tool that runs the daemon, the spec it started with. */
abstract class Adapter<T> {
  protected spec: DaemonSpec | undefined;
  constructor(
    readonly ns: string,
    protected readonly tool: T,
  ) {}
}

/** Daemons that install routes in their namespace's kernel: that is what they forward on. */
abstract class KernelAdapter<T> extends Adapter<T> {
  readonly hasKernel = true;

  fib(): Promise<Set<string>> {
    return kernelPrefixes(this.ns);
  }

  watch(prefixes: readonly string[]): Promise<Watch> {
    return sampler(() => this.fib(), prefixes);
  }
}

// ---- BIRD 2 ----

class BirdDaemon extends KernelAdapter<Bird> implements InteropDaemon {
  readonly kind = 'bird';
  readonly showsUnknown = true;

  private config(s: DaemonSpec): string {
    const statics = (fam: 4 | 6) =>
      s.routes
        .filter((r) => isV6(r.prefix) === (fam === 6))
        .map((r) => {
          const set = [
            ...(r.communities ?? []).map((c) => `bgp_community.add((${c.replace(':', ',')}));`),
            ...(r.large ?? []).map((c) => `bgp_large_community.add((${c.replaceAll(':', ',')}));`),
            ...(r.rt ?? []).map((c) => `bgp_ext_community.add((rt, ${c.replace(':', ',')}));`),
          ];
          return `  route ${r.prefix} blackhole${set.length ? ` { ${set.join(' ')} }` : ''};`;
        })
        .join('\n');
    const gr = s.restartTime ? `graceful restart on; graceful restart time ${s.restartTime};` : '';
    const nb = s.neighbors
      .map((n, i) => {
        const ibgp = n.asn === s.asn;
        const extra = [n.md5 ? `password "${n.md5}";` : '', n.rrClient ? 'rr client;' : '', s.clusterId ? `rr cluster id ${s.clusterId};` : '', ibgp ? 'direct;' : ''].join(' ');
        return `protocol bgp n${i} {
  local ${s.local4} as ${s.asn};
  neighbor ${n.address} as ${n.asn};
  hold time 30; connect delay time 1; connect retry time 2; error wait time 1, 4;
  ${gr} ${extra}
  ipv4 { import all; export all; };
  ipv6 { import all; export all; next hop address ${s.local6}; };
}`;
      })
      .join('\n');
    return `router id ${s.routerId};
log stderr all;
protocol device { scan time 10; }
protocol kernel k4 { ipv4 { import none; export all; }; graceful restart on; }
protocol kernel k6 { ipv6 { import none; export all; }; graceful restart on; }
protocol static s4 { ipv4;
${statics(4)}
}
protocol static s6 { ipv6;
${statics(6)}
}
${nb}
`;
  }

  async start(spec: DaemonSpec, opts: { restarting?: boolean } = {}): Promise<void> {
    this.spec = spec;
    await this.tool.start(this.config(spec), { recover: opts.restarting === true });
  }

  crash(): Promise<void> {
    return this.tool.stop({ kill: true });
  }

  stop(): Promise<void> {
    return this.tool.stop({ kill: true });
  }

  async established(neighbor: string): Promise<boolean> {
    const i = this.spec!.neighbors.findIndex((n) => n.address === neighbor);
    return (await this.tool.protocol(`n${i}`)).bgpState === 'Established';
  }

  async route(prefix: string): Promise<RouteView | undefined> {
    const out = await this.tool.birdc('show', 'route', 'all', prefix, 'table', isV6(prefix) ? 'master6' : 'master4').catch(() => '');
    if (!out.includes('BGP.')) return undefined;
    // The first (best) route's attributes: up to the next route line.
    const lines = out.split('\n');
    const start = lines.findIndex((l) => l.includes('BGP.'));
    const attrs = new Map<string, string>();
    for (const l of lines.slice(start)) {
      // An attribute BIRD does not know shows as its hex code, "[t]" when transitive: "BGP.f0 [t]: de ad be ef".
      const m = /^\s+BGP\.([\w.]+)(?: \[\w+\])?:\s*(.*)$/.exec(l);
      if (!m) {
        if (attrs.size > 0 && /^\S/.test(l)) break;
        continue;
      }
      if (!attrs.has(m[1]!)) attrs.set(m[1]!, m[2]!.trim());
    }
    const pairs = (v: string | undefined, n: number) => [...(v ?? '').matchAll(/\(([^)]*)\)/g)].map((x) => x[1]!.split(',').map((t) => t.trim())).filter((t) => t.length === n);
    const v: RouteView = {
      prefix,
      asPath: (attrs.get('as_path') ?? '').split(/\s+/).filter(Boolean).map(Number),
      communities: pairs(attrs.get('community'), 2).map((t) => t.join(':')),
      large: pairs(attrs.get('large_community'), 3).map((t) => t.join(':')),
      ext: pairs(attrs.get('ext_community'), 3).map((t) => `${t[0]}:${t[1]}:${t[2]}`),
      unknown: [...attrs.keys()].filter((k) => /^[0-9a-f]{2}$/.test(k)).map((k) => parseInt(k, 16)),
    };
    const nh = attrs.get('next_hop');
    if (nh) v.nextHop = nh.split(/\s+/)[0]!;
    if (attrs.get('originator_id')) v.originatorId = attrs.get('originator_id')!;
    if (attrs.get('cluster_list')) v.clusterList = attrs.get('cluster_list')!.split(/\s+/).filter(Boolean);
    return v;
  }

  log(): string {
    return this.tool.log().slice(-3000);
  }
}

// ---- GoBGP ----

class GoBgpDaemon extends Adapter<GoBgp> implements InteropDaemon {
  readonly kind = 'gobgp';
  readonly showsUnknown = true;
  readonly hasKernel = false;

  private config(s: DaemonSpec): string {
    let t = `[global.config]
  as = ${s.asn}
  router-id = "${s.routerId}"
  port = 179
  local-address-list = ["${s.local4}", "${s.local6}"]
`;
    for (const n of s.neighbors) {
      t += `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.asn}
${n.md5 ? `    auth-password = "${n.md5}"\n` : ''}  [neighbors.timers.config]
    hold-time = 30
    keepalive-interval = 10
    connect-retry = 2
  [neighbors.transport.config]
    local-address = "${s.local4}"
${n.rrClient ? `  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = "${s.clusterId}"\n` : ''}${s.restartTime ? `  [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = ${s.restartTime}\n` : ''}`;
      for (const f of ['ipv4', 'ipv6']) {
        t += `  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${f}-unicast"
${s.restartTime ? '    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n' : ''}`;
      }
    }
    return t;
  }

  async start(spec: DaemonSpec, opts: { restarting?: boolean } = {}): Promise<void> {
    await this.tool.start(this.config(spec), { restarting: opts.restarting === true });
    for (const r of spec.routes) {
      const args = ['global', 'rib', '-a', isV6(r.prefix) ? 'ipv6' : 'ipv4', 'add', r.prefix, 'nexthop', r.nextHop];
      if (r.communities?.length) args.push('community', r.communities.join(','));
      if (r.large?.length) args.push('large-community', r.large.join(','));
      for (const rt of r.rt ?? []) args.push('rt', rt);
      await this.tool.cli(...args);
    }
  }

  crash(): Promise<void> {
    return this.tool.stop({ kill: true });
  }

  stop(): Promise<void> {
    return this.tool.stop({ kill: true });
  }

  async established(neighbor: string): Promise<boolean> {
    return (await this.tool.neighbor(neighbor).catch(() => ({ state: 'down' }))).state === 'established';
  }

  async route(prefix: string): Promise<RouteView | undefined> {
    const paths = await this.tool.paths(isV6(prefix) ? 'ipv6' : 'ipv4', prefix).catch(() => []);
    const best = paths.find((p) => p.best) ?? paths[0];
    if (!best) return undefined;
    const attrs = (best.attrs as Array<Record<string, unknown>>) ?? [];
    const v: RouteView = { prefix, asPath: [], communities: [], large: [], ext: [], unknown: [] };
    for (const a of attrs) {
      const type = a.type as number;
      if (type === 2) v.asPath = ((a.as_paths as Array<{ asns: number[] }>) ?? []).flatMap((s) => s.asns);
      else if (type === 3) v.nextHop = a.nexthop as string;
      else if (type === 14) v.nextHop = (a.nexthop as string) ?? v.nextHop;
      else if (type === 8) v.communities = (a.communities as number[]).map((c) => `${c >>> 16}:${c & 0xffff}`);
      else if (type === 32) v.large = (a.value as Array<{ ASN: number; LocalData1: number; LocalData2: number }>).map((c) => `${c.ASN}:${c.LocalData1}:${c.LocalData2}`);
      else if (type === 16) {
        v.ext = (a.value as Array<{ type: number; subtype: number; value: string }>).filter((e) => e.subtype === 2).map((e) => `rt:${e.value}`);
      } else if (type === 9) v.originatorId = a.value as string;
      else if (type === 10) v.clusterList = a.value as string[];
      else if (![1, 4, 5, 6, 7, 15, 17, 18].includes(type)) v.unknown.push(type);
    }
    return v;
  }

  async fib(): Promise<Set<string>> {
    const all = [...(await this.tool.prefixes('ipv4')), ...(await this.tool.prefixes('ipv6'))];
    return new Set(all);
  }

  /** `gobgp monitor global rib` per family: every best-path change as it happens. */
  async watch(prefixes: readonly string[]): Promise<Watch> {
    const want = new Set(prefixes);
    const missing: WatchResult['missing'] = [];
    let events = 0;
    const started: Array<Promise<void>> = [];
    const monitors = (['ipv4', 'ipv6'] as const).map((family) => {
      let first!: () => void;
      started.push(new Promise<void>((r) => (first = r)));
      return this.tool.monitor(family, (paths) => {
        first();
        for (const p of paths) {
          events++;
          const prefix = (p.nlri as { prefix?: string } | undefined)?.prefix;
          if (prefix && want.has(prefix) && p.withdrawal === true) missing.push({ at: Date.now(), prefix });
        }
      });
    });
    // --current dumps the table first: once both have spoken, no later change is missed.
    await Promise.race([Promise.all(started), new Promise((_, reject) => setTimeout(() => reject(new Error('gobgp monitor did not start')), 10_000))]);
    return {
      async stop() {
        await Promise.all(monitors.map((m) => m.stop()));
        return { samples: events, continuous: true, missing };
      },
    };
  }

  log(): string {
    return this.tool.log().slice(-3000);
  }
}

// ---- FRR ----

class FrrDaemon extends KernelAdapter<Frr> implements InteropDaemon {
  readonly kind = 'frr';
  // FRR keeps unrecognised transitive attributes and passes them on, but its JSON does not show them.
  readonly showsUnknown = false;

  private config(s: DaemonSpec): string {
    const maps = s.routes
      .map((r, i) => {
        const sets = [
          r.communities?.length ? ` set community ${r.communities.join(' ')} additive` : '',
          r.large?.length ? ` set large-community ${r.large.join(' ')} additive` : '',
          r.rt?.length ? ` set extcommunity rt ${r.rt.join(' ')}` : '',
        ].filter(Boolean);
        return `route-map R${i} permit 10\n${sets.join('\n')}\nexit\n`;
      })
      .join('');
    const af = (fam: 4 | 6) => {
      const lines: string[] = [];
      s.routes.forEach((r, i) => {
        if (isV6(r.prefix) === (fam === 6)) lines.push(`  network ${r.prefix} route-map R${i}`);
      });
      for (const n of s.neighbors) {
        if (fam === 6) lines.push(`  neighbor ${n.address} activate`, `  neighbor ${n.address} route-map NH6 out`);
        if (n.rrClient) lines.push(`  neighbor ${n.address} route-reflector-client`);
        if (fam === 4 && n.asn === s.asn && !n.rrClient) lines.push(`  neighbor ${n.address} next-hop-self`);
      }
      return ` address-family ${fam === 4 ? 'ipv4' : 'ipv6'} unicast\n${lines.join('\n')}\n exit-address-family\n`;
    };
    return `hostname ${this.ns}
${process.env.DEBUG_FRR ? 'debug bgp graceful-restart\ndebug bgp updates\ndebug bgp neighbor-events\n' : ''}${maps}route-map NH6 permit 10
 set ipv6 next-hop global ${s.local6}
exit
router bgp ${s.asn}
 bgp router-id ${s.routerId}
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 coalesce-time 0
${s.clusterId ? ` bgp cluster-id ${s.clusterId}\n` : ''}${s.restartTime ? ` bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n bgp graceful-restart restart-time ${s.restartTime}\n` : ''}${s.neighbors
      .map((n) => ` neighbor ${n.address} remote-as ${n.asn}\n neighbor ${n.address} timers 10 30\n neighbor ${n.address} timers connect 2\n${n.md5 ? ` neighbor ${n.address} password ${n.md5}\n` : ''}`)
      .join('')}${s.neighbors.map((n) => ` address-family ipv4 unicast\n  neighbor ${n.address} activate\n exit-address-family\n`).join('')}${af(4)}${af(6)}exit
`;
  }

  async start(spec: DaemonSpec): Promise<void> {
    this.spec = spec;
    await this.tool.start({ bgpd: this.config(spec) });
  }

  /** bgpd crashes; zebra, and so the kernel routes, stay (FRR's graceful restart). */
  crash(): Promise<void> {
    return this.tool.stopBgpd('SIGKILL');
  }

  stop(): Promise<void> {
    return this.tool.stop();
  }

  async established(neighbor: string): Promise<boolean> {
    return (await this.tool.bgpState(neighbor)) === 'Established';
  }

  async route(prefix: string): Promise<RouteView | undefined> {
    const p = await this.tool.route(prefix);
    if (!p) return undefined;
    const str = (o: unknown) => ((o as { string?: string } | undefined)?.string ?? '').split(/\s+/).filter(Boolean);
    const v: RouteView = {
      prefix,
      asPath: str(p.aspath).map(Number),
      communities: str(p.community),
      large: str(p.largeCommunity),
      ext: str(p.extendedCommunity).map((e) => e.replace(/^RT:/, 'rt:')),
      unknown: [],
    };
    const nh = (p.nexthops as Array<{ ip: string }> | undefined)?.[0]?.ip;
    if (nh) v.nextHop = nh;
    if (p.originatorId) v.originatorId = p.originatorId as string;
    const cl = (p.clusterList as { list?: string[] } | undefined)?.list;
    if (cl) v.clusterList = cl;
    return v;
  }

  log(): string {
    return this.tool.log('bgpd');
  }

  /** For the restart: bgpd alone comes back, with the same configuration. */
  async restartBgpd(): Promise<void> {
    await this.tool.startBgpd(this.config(this.spec!));
  }
}

// ---- ExaBGP ----

class ExaDaemon extends Adapter<ExaBgp> implements InteropDaemon {
  readonly kind = 'exabgp';
  readonly showsUnknown = true;
  readonly hasKernel = false;

  static routeLine(r: RouteSpec): string {
    const parts = [`route ${r.prefix} next-hop ${r.nextHop}`];
    if (r.communities?.length) parts.push(`community [ ${r.communities.join(' ')} ]`);
    if (r.large?.length) parts.push(`large-community [ ${r.large.join(' ')} ]`);
    if (r.rt?.length) parts.push(`extended-community [ ${r.rt.map((x) => `target:${x}`).join(' ')} ]`);
    if (r.originatorId) parts.push(`originator-id ${r.originatorId}`);
    if (r.clusterList?.length) parts.push(`cluster-list [ ${r.clusterList.join(' ')} ]`);
    if (r.raw) parts.push(`attribute [ 0x${r.raw.type.toString(16)} 0x${r.raw.flags.toString(16)} 0x${r.raw.hex} ]`);
    return `${parts.join(' ')};`;
  }

  async start(spec: DaemonSpec): Promise<void> {
    if (spec.neighbors.length !== 1) throw new Error('the ExaBGP adapter speaks to one neighbour');
    this.spec = spec;
    const n = spec.neighbors[0]!;
    await this.tool.start({
      address: n.address,
      localAddress: spec.local4,
      routerId: spec.routerId,
      localAs: spec.asn,
      peerAs: n.asn,
      ...(n.md5 ? { md5: n.md5 } : {}),
      ...(spec.restartTime ? { gracefulRestart: spec.restartTime } : {}),
      routes: spec.routes.map(ExaDaemon.routeLine),
    });
  }

  crash(): Promise<void> {
    return this.tool.stop({ kill: true });
  }

  stop(): Promise<void> {
    return this.tool.stop({ kill: true });
  }

  async established(): Promise<boolean> {
    const states = this.tool.events().filter((e) => e.kind === 'state');
    return states.at(-1)?.kind === 'state' && (states.at(-1) as { state: string }).state === 'up';
  }

  async route(prefix: string): Promise<RouteView | undefined> {
    const r = this.tool.routes().get(prefix);
    if (!r) return undefined;
    const a = r.attributes;
    const v: RouteView = {
      prefix,
      nextHop: r.nextHop,
      asPath: ((a['as-path'] as number[]) ?? []).flat(),
      communities: ((a.community as number[][]) ?? []).map((c) => c.join(':')),
      large: ((a['large-community'] as number[][]) ?? []).map((c) => c.join(':')),
      ext: ((a['extended-community'] as Array<{ string: string }>) ?? []).map((e) => e.string.replace(/^target:/, 'rt:')),
      unknown: Object.keys(a)
        .filter((k) => k.startsWith('attribute-0x'))
        .map((k) => parseInt(k.slice('attribute-'.length).split('-')[0]!, 16)),
    };
    if (a['originator-id']) v.originatorId = a['originator-id'] as string;
    if (a['cluster-list']) v.clusterList = a['cluster-list'] as string[];
    return v;
  }

  async fib(): Promise<Set<string>> {
    return new Set(this.tool.routes().keys());
  }

  /** Every withdrawal it was sent for these prefixes while watched. */
  async watch(prefixes: readonly string[]): Promise<Watch> {
    const from = this.tool.events().length;
    const want = new Set(prefixes);
    return {
      stop: async () => {
        const events = this.tool.events().slice(from);
        const missing = events.flatMap((e) => (e.kind === 'withdraw' && want.has(e.prefix) ? [{ at: 0, prefix: e.prefix }] : []));
        return { samples: events.length, continuous: true, missing };
      },
    };
  }

  log(): string {
    return this.tool.log().slice(-3000);
  }

}

export function makeDaemon(kind: DaemonKind, ns: string, dir: string, name: string): InteropDaemon {
  switch (kind) {
    case 'bird':
      return new BirdDaemon(ns, new Bird(ns, dir, name));
    case 'gobgp':
      return new GoBgpDaemon(ns, new GoBgp(ns, dir, name));
    case 'frr':
      return new FrrDaemon(ns, new Frr(ns, dir, name));
    case 'exabgp':
      return new ExaDaemon(ns, new ExaBgp(ns, dir, name));
  }
}

/** A crashed daemon back, in graceful-restart recovery where it has one. */
export async function restartDaemon(d: InteropDaemon, spec: DaemonSpec): Promise<void> {
  if (d instanceof FrrDaemon) return d.restartBgpd();
  return d.start(spec, { restarting: true });
}


/**
 * Samples `read()` every `every` ms until stop(); records each moment one of `want` was
 * missing. For "zero routes missing from the survivor's kernel" across a restart.
 */
export async function sampler(read: () => Promise<Set<string>>, want: readonly string[], every = 50): Promise<Watch> {
  const missing: Array<{ at: number; prefix: string }> = [];
  let samples = 0;
  let errors = 0;
  let running = true;
  let first!: () => void;
  const started = new Promise<void>((r) => (first = r));
  const loop = (async () => {
    while (running) {
      const t = Date.now();
      try {
        const have = await read();
        samples++;
        first();
        for (const p of want) if (!have.has(p)) missing.push({ at: t, prefix: p });
      } catch {
        errors++;
      }
      const wait = every - (Date.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  await started;
  // Idempotent: tests also call it at teardown, so a failed assertion cannot leave it running.
  let result: Promise<WatchResult> | undefined;
  return {
    stop() {
      running = false;
      result ??= loop.then(() => {
        if (errors > samples) throw new Error(`sampling failed ${errors} times`);
        return { samples, continuous: false, missing };
      });
      return result;
    },
  };
}
