// The workload's veth, wired as Calico's CNI plugin wires it
// (cni-plugin/pkg/dataplane/linux/dataplane_linux.go DoNetworking): the container side
// gets the /32 (/128) and a default route via 169.254.1.1 (a link-scope route makes that
// gateway reachable) or, for IPv6, via the host side's link-local address; the host side
// answers by proxy ARP / proxy NDP, forwards, and carries a host route per address. The
// host side's MAC is ee:ee:ee:ee:ee:ee so the kernel need not make a persistent one.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCidr } from '../api/net.js';
import { NetlinkError } from '../errors.js';
import { addrApply, addrList } from '../native/addresses.js';
import type { BatchOutcome } from '../native/batch.js';
import { linkDelete, linkList, linkSet, vethCreate } from '../native/links.js';
import { routeApply, routeDump, type RouteSpec } from '../native/routes.js';
import { sysctlWrite } from '../native/sysctl.js';
import type { CniRoute } from './cni-result.js';

export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
export const IPV4_GATEWAY = '169.254.1.1';
/** rtm_protocol "boot", what netlink libraries write by default: these routes are the plugin's, not the agent's. */
const RTPROT_BOOT = 3;
const SCOPE_LINK = 253;
const ENOENT = 2;
const EEXIST = 17;
const ENODEV = 19;

export interface VethSpec {
  /** Container network namespace (path). */
  netns: string;
  ifname: string;
  hostVeth: string;
  /** `address/32` and `address/128`. */
  addresses: string[];
  mtu: number;
  allowIpForwarding: boolean;
}

export interface Wired {
  containerMac: string;
  routes: CniRoute[];
}

const errno = (err: unknown) => (err instanceof NetlinkError ? err.errno : undefined);

function check(outcome: BatchOutcome, what: string): void {
  const bad = outcome.results.find((r) => !r.ok);
  if (bad && !bad.ok) throw new NetlinkError(what, bad.errno, bad.message);
}

/** Does the container already hold `ifname`? (SPEC.md: then ADD must fail.) */
export async function containerHas(netns: string, ifname: string): Promise<boolean> {
  return (await linkList({ netns })).some((l) => l.name === ifname);
}

export async function wireVeth(s: VethSpec): Promise<Wired> {
  const v4 = s.addresses.some((a) => parseCidr(a)?.family === 4);
  const v6 = s.addresses.some((a) => parseCidr(a)?.family === 6);
  // A veth left by an earlier, failed attempt goes first (Calico: "Clean up if hostVeth exists").
  await linkDelete({ name: s.hostVeth }).catch((err) => {
    if (errno(err) !== ENODEV) throw err;
  });
  await vethCreate({ name: s.hostVeth, peerName: s.ifname, peerNetns: s.netns, mtu: s.mtu, mac: HOST_VETH_MAC });

  // Before the links come up: DAD would hold the IPv6 address for a second on a point-to-point link.
  if (v6) {
    await sysctlWrite([['net/ipv6/conf/all/disable_ipv6', '0'], ['net/ipv6/conf/default/disable_ipv6', '0'], ['net/ipv6/conf/lo/disable_ipv6', '0'], [`net/ipv6/conf/${s.ifname}/accept_dad`, '0']], { netns: s.netns });
    await sysctlWrite([[`net/ipv6/conf/${s.hostVeth}/disable_ipv6`, '0'], [`net/ipv6/conf/${s.hostVeth}/accept_dad`, '0']]);
  }
  await hostSysctls(s.hostVeth, v4, v6);
  await setUp(s.hostVeth);
  await setUp(s.ifname, s.netns);

  check(await addrApply(s.addresses.map((cidr) => ({ op: 'add' as const, ifname: s.ifname, cidr, nodad: true })), { netns: s.netns }), 'container addresses');
  const routes: CniRoute[] = [];
  const inContainer: RouteSpec[] = [];
  if (v4) {
    inContainer.push({ dst: `${IPV4_GATEWAY}/32`, dev: s.ifname, scope: SCOPE_LINK, protocol: RTPROT_BOOT });
    inContainer.push({ dst: '0.0.0.0/0', gateway: IPV4_GATEWAY, dev: s.ifname, protocol: RTPROT_BOOT });
    routes.push({ dst: '0.0.0.0/0', gw: IPV4_GATEWAY });
  }
  if (v6) {
    const gw = await hostLinkLocal(s.hostVeth);
    inContainer.push({ dst: '::/0', gateway: gw, dev: s.ifname, protocol: RTPROT_BOOT });
    routes.push({ dst: '::/0', gw });
  }
  check(await routeApply(inContainer.map((route) => ({ op: 'add' as const, route })), { netns: s.netns }), 'container routes');
  const forward = s.allowIpForwarding ? '1' : '0';
  await sysctlWrite([...(v4 ? [['net/ipv4/ip_forward', forward] as [string, string]] : []), ...(v6 ? [['net/ipv6/conf/all/forwarding', forward] as [string, string]] : [])], { netns: s.netns });

  await hostRoutes(s.hostVeth, s.addresses);
  const mac = (await linkList({ netns: s.netns })).find((l) => l.name === s.ifname)?.mac ?? '';
  return { containerMac: mac, routes };
}

/** Calico's configureSysctls for the host side. */
async function hostSysctls(veth: string, v4: boolean, v6: boolean): Promise<void> {
  const entries: [string, string][] = [];
  if (v4) {
    entries.push([`net/ipv4/conf/${veth}/route_localnet`, '1']);
    // The kernel delays proxy ARP answers by default; a Calico network needs no delay.
    entries.push([`net/ipv4/neigh/${veth}/proxy_delay`, '0']);
    entries.push([`net/ipv4/conf/${veth}/proxy_arp`, '1']);
    entries.push([`net/ipv4/conf/${veth}/forwarding`, '1']);
  }
  if (v6) {
    entries.push([`net/ipv6/conf/${veth}/proxy_ndp`, '1']);
    entries.push([`net/ipv6/conf/${veth}/forwarding`, '1']);
  }
  await sysctlWrite(entries);
  // Calico only warns when this one fails (a host without IPv6).
  await sysctlWrite([[`net/ipv6/conf/${veth}/accept_ra`, '0']]).catch(() => undefined);
}

async function setUp(name: string, netns?: string): Promise<void> {
  await linkSet({ name, up: true, ...(netns ? { netns } : {}) });
}

/** The host side's link-local address, the container's IPv6 gateway (it appears once the link is up). */
async function hostLinkLocal(veth: string): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const ll = (await addrList({ family: 6 })).find((a) => a.ifname === veth && a.address.startsWith('fe80:'));
    if (ll) return ll.address;
    await sleep(50);
  }
  throw new NetlinkError('ipv6-link-local', ENOENT, `no IPv6 link-local address on ${veth}: is IPv6 disabled on this host?`);
}

/** A host route per address through the veth; one that exists already must be ours. */
async function hostRoutes(veth: string, addresses: string[]): Promise<void> {
  const ops = addresses.map((cidr) => ({ op: 'add' as const, route: { dst: cidr, dev: veth, scope: SCOPE_LINK, protocol: RTPROT_BOOT } }));
  const outcome = await routeApply(ops);
  for (const [i, r] of outcome.results.entries()) {
    if (r.ok) continue;
    if (r.errno !== EEXIST) throw new NetlinkError('host route', r.errno, `${addresses[i]} dev ${veth}: ${r.message}`);
    const family = parseCidr(addresses[i]!)!.family;
    const existing = (await routeDump({ family })).find((x) => x.dst === addresses[i] && x.table === 254);
    if (existing?.dev !== veth) {
      throw new NetlinkError('host route', EEXIST, `route ${addresses[i]} already exists through ${existing?.dev ?? 'another interface'}, not ${veth}`);
    }
  }
}

/** Remove the pair (from either end); what is already gone is fine. */
export async function unwireVeth(s: { netns?: string; ifname: string; hostVeth: string }): Promise<void> {
  if (s.netns) {
    await linkDelete({ name: s.ifname, netns: s.netns }).catch((err) => {
      // No such device, or the namespace itself is gone.
      if (errno(err) !== ENODEV && errno(err) !== ENOENT) throw err;
    });
  }
  await linkDelete({ name: s.hostVeth }).catch((err) => {
    if (errno(err) !== ENODEV) throw err;
  });
}

/** What CHECK finds wrong with an attachment, as readable lines (empty when all is in place). */
export async function inspectVeth(s: { netns: string; ifname: string; hostVeth: string; addresses: string[] }): Promise<string[]> {
  const problems: string[] = [];
  let links;
  try {
    links = await linkList({ netns: s.netns });
  } catch (err) {
    return [`cannot enter ${s.netns}: ${(err as Error).message}`];
  }
  const inside = links.find((l) => l.name === s.ifname);
  if (!inside) return [`${s.ifname} is missing from ${s.netns}`];
  if (!inside.up) problems.push(`${s.ifname} is down`);
  const held = new Set((await addrList({ netns: s.netns })).filter((a) => a.ifname === s.ifname).map((a) => `${a.address}/${a.prefixLength}`));
  for (const a of s.addresses) if (!held.has(a)) problems.push(`${s.ifname} lacks ${a}`);
  const defaults = (await routeDump({ netns: s.netns })).filter((r) => r.dst === '0.0.0.0/0' || r.dst === '::/0');
  for (const fam of [4, 6] as const) {
    if (s.addresses.some((a) => parseCidr(a)?.family === fam) && !defaults.some((r) => r.family === fam && r.dev === s.ifname)) {
      problems.push(`no IPv${fam} default route through ${s.ifname}`);
    }
  }
  const host = (await linkList()).find((l) => l.name === s.hostVeth);
  if (!host) return [...problems, `host side ${s.hostVeth} is missing`];
  if (!host.up) problems.push(`${s.hostVeth} is down`);
  const routes = await routeDump();
  for (const a of s.addresses) if (!routes.some((r) => r.dst === a && r.dev === s.hostVeth)) problems.push(`no host route ${a} dev ${s.hostVeth}`);
  return problems;
}
