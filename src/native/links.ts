// Links: list, vxlan devices, delete, and the few attributes Tabby sets.

import { NetlinkError, ValidationError } from '../errors.js';
import { call } from './binding.js';
import { checkIfname, checkIp, checkMac, checkNetns, checkU32, netnsArg, optU32 } from './checks.js';

export interface VxlanInfo {
  vni?: number;
  port: number;
  local?: string;
  parent?: string;
  parentIndex?: number;
  learning: boolean;
  /** Collect-metadata ("external") mode. */
  external: boolean;
  /** IPv6 UDP packets with a zero checksum are taken (RFC 6935), not dropped. */
  udp6ZeroCsumRx?: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** From the ARPHRD type: ether, loopback, none, ipip, tunnel6, sit or other. */
  type: string;
  /** rtnetlink kind (veth, vxlan, bridge…), absent for physical devices and lo. */
  kind?: string;
  mtu: number;
  mac?: string;
  up: boolean;
  lowerUp: boolean;
  master?: number;
  masterName?: string;
  vxlan?: VxlanInfo;
}

export async function linkList(opts: { netns?: string } = {}): Promise<Link[]> {
  const args = netnsArg(opts.netns);
  return call(NetlinkError, (n) => n.linkList(args));
}

export interface VxlanCreateOptions {
  name: string;
  /** Required unless `external`. */
  vni?: number;
  /** UDP destination port, default 4789 (IANA's VXLAN port). */
  port?: number;
  /** Source address of the tunnel. */
  local?: string;
  /** Underlay device (ifname). */
  parent?: string;
  /** Learning of remote MACs from traffic; default false (entries are programmed). */
  learning?: boolean;
  external?: boolean;
  /** Take IPv6 UDP packets with a zero checksum (ip link … udp6zerocsumrx). */
  udp6ZeroCsumRx?: boolean;
  mtu?: number;
  mac?: string;
  /** Bring the device up on creation. */
  up?: boolean;
  netns?: string;
}

export async function vxlanCreate(opts: VxlanCreateOptions): Promise<void> {
  checkIfname(opts.name);
  const args: VxlanCreateOptions = { name: opts.name, ...netnsArg(opts.netns) };
  if (opts.external) {
    if (opts.vni !== undefined) throw new ValidationError('vni', 'must be absent in external (collect metadata) mode');
    args.external = true;
  } else {
    checkU32('vni', opts.vni, 0xffffff);
    args.vni = opts.vni;
  }
  args.port = optU32('port', opts.port, 0xffff);
  if (opts.local !== undefined) args.local = checkIp('local', opts.local);
  if (opts.parent !== undefined) {
    checkIfname(opts.parent, 'parent');
    args.parent = opts.parent;
  }
  if (opts.learning !== undefined) args.learning = opts.learning === true;
  if (opts.udp6ZeroCsumRx !== undefined) args.udp6ZeroCsumRx = opts.udp6ZeroCsumRx === true;
  args.mtu = optU32('mtu', opts.mtu, 65535);
  if (opts.mac !== undefined) args.mac = checkMac('mac', opts.mac);
  if (opts.up !== undefined) args.up = opts.up === true;
  return call(NetlinkError, (n) => n.vxlanCreate(args));
}

export interface VethCreateOptions {
  name: string;
  peerName: string;
  /** Where the peer is created (a namespace name or path); default: beside `name`. */
  peerNetns?: string;
  mtu?: number;
  mac?: string;
  peerMac?: string;
  netns?: string;
}

/** A veth pair whose peer is created directly in `peerNetns`; both ends start down. */
export async function vethCreate(opts: VethCreateOptions): Promise<void> {
  checkIfname(opts.name);
  checkIfname(opts.peerName, 'peerName');
  checkNetns(opts.peerNetns, 'peerNetns');
  const args: VethCreateOptions = { name: opts.name, peerName: opts.peerName, ...netnsArg(opts.netns) };
  if (opts.peerNetns !== undefined) args.peerNetns = opts.peerNetns;
  args.mtu = optU32('mtu', opts.mtu, 65535);
  if (opts.mac !== undefined) args.mac = checkMac('mac', opts.mac);
  if (opts.peerMac !== undefined) args.peerMac = checkMac('peerMac', opts.peerMac);
  return call(NetlinkError, (n) => n.vethCreate(args));
}

export async function linkDelete(opts: { name: string; netns?: string }): Promise<void> {
  checkIfname(opts.name);
  const args = { name: opts.name, ...netnsArg(opts.netns) };
  return call(NetlinkError, (n) => n.linkDelete(args));
}

export interface LinkSetOptions {
  name: string;
  up?: boolean;
  mtu?: number;
  mac?: string;
  netns?: string;
}

export async function linkSet(opts: LinkSetOptions): Promise<void> {
  checkIfname(opts.name);
  const args: LinkSetOptions = { name: opts.name, ...netnsArg(opts.netns) };
  if (opts.up !== undefined) args.up = opts.up === true;
  args.mtu = optU32('mtu', opts.mtu, 65535);
  if (opts.mac !== undefined) args.mac = checkMac('mac', opts.mac);
  return call(NetlinkError, (n) => n.linkSet(args));
}
