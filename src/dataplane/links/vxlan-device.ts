// Calico's kernel VXLAN, declared then applied: the device vxlan.tabby (VNI 4096, UDP
// 4789, local = node address, parent = host interface, learning off, MTU host−50, MAC
// = this node's VTEP MAC, address = its tunnel IP /32), and per remote node a
// permanent neighbour `tunnelIP → MAC` and an FDB entry `MAC → nodeIP`. apply()
// compares with what the kernel holds and changes only the difference: an existing
// device that is right is adopted, stale entries go, and a device whose fixed
// attributes (VNI, port, local, parent) are wrong is recreated.
// IPv6 (family 6): Calico's vxlan-v6.calico over an IPv6 underlay — vxlan-v6.tabby, local =
// the node's IPv6 address, MTU host−70, address /128, NDP neighbours, FDB dst IPv6 (Felix
// felix/dataplane/linux/vxlan_mgr.go with ipVersion 6).

import { addrApply, addrList, type AddrOp } from '../../native/addresses.js';
import type { BatchOutcome } from '../../native/batch.js';
import { type Link, linkDelete, linkList, linkSet, vxlanCreate } from '../../native/links.js';
import { fdbApply, fdbList, type FdbOp, neighApply, type NeighbourOp, neighList } from '../../native/neighbours.js';
import { parseIP } from '../../api/net.js';
import { VXLAN_DEVICE, VXLAN_DEVICE_V6, type VxlanPeer } from '../dataplane-plan.js';

export interface VxlanDeviceOptions {
  netns?: string;
  /** Default vxlan.tabby (family 4) or vxlan-v6.tabby (family 6). */
  name?: string;
  /** The underlay's and the tunnel's family (default 4). */
  family?: 4 | 6;
  /** Underlay interface. */
  parent: string;
  /** This node's underlay address: the tunnel's source. */
  local: string;
  mtu: number;
  vni?: number;
  port?: number;
}

export interface VxlanDeviceState {
  /** This node's VTEP; undefined: the device should not exist. */
  local?: { tunnelIP: string; mac: string };
  peers: readonly VxlanPeer[];
}

export interface VxlanApplyResult {
  /** Netlink changes made (link, address, neighbour and FDB operations). */
  changes: number;
  errors: string[];
}

export class VxlanDevice {
  readonly name: string;
  readonly family: 4 | 6;
  private readonly opts: Required<Omit<VxlanDeviceOptions, 'netns' | 'family'>> & { netns?: string };
  private desired: VxlanDeviceState = { peers: [] };

  constructor(opts: VxlanDeviceOptions) {
    this.family = opts.family ?? 4;
    this.name = opts.name ?? (this.family === 6 ? VXLAN_DEVICE_V6 : VXLAN_DEVICE);
    const { family: _family, ...rest } = opts;
    this.opts = { ...rest, local: canonical(opts.local), name: this.name, vni: opts.vni ?? 4096, port: opts.port ?? 4789 };
  }

  /** The device MTU (host MTU minus VXLAN's overhead), applied on the next apply(). */
  setMtu(mtu: number): void {
    this.opts.mtu = mtu;
  }

  set(state: VxlanDeviceState): void {
    this.desired = { ...state, peers: [...state.peers] };
  }

  async apply(): Promise<VxlanApplyResult> {
    const result: VxlanApplyResult = { changes: 0, errors: [] };
    const ns = this.ns();
    const links = await linkList(ns);
    let dev = links.find((l) => l.name === this.name);
    const local = this.desired.local;
    if (!local) {
      if (dev) {
        await linkDelete({ name: this.name, ...ns });
        result.changes++;
      }
      return result;
    }
    if (dev && !this.fixedAttributesMatch(dev, links)) {
      await linkDelete({ name: this.name, ...ns });
      result.changes++;
      dev = undefined;
    }
    const mac = local.mac.toLowerCase();
    if (!dev) {
      await vxlanCreate({
        name: this.name, vni: this.opts.vni, port: this.opts.port, local: this.opts.local, parent: this.opts.parent,
        learning: false, mtu: this.opts.mtu, mac, up: true, ...ns,
        // eBPF IPv6 VXLAN sends GSO packets with a zero UDP checksum (RFC 6935): taken here.
        ...(this.family === 6 ? { udp6ZeroCsumRx: true } : {}),
      });
      result.changes++;
    } else if (dev.mtu !== this.opts.mtu || dev.mac !== mac || !dev.up) {
      await linkSet({ name: this.name, mtu: this.opts.mtu, mac, up: true, ...ns });
      result.changes++;
    }
    await this.applyAddress(local.tunnelIP, result);
    await this.applyNeighbours(result);
    await this.applyFdb(result);
    return result;
  }

  /** Deletes the device, and with it its routes, neighbours and FDB entries. */
  async remove(): Promise<boolean> {
    const ns = this.ns();
    if (!(await linkList(ns)).some((l) => l.name === this.name)) return false;
    await linkDelete({ name: this.name, ...ns });
    return true;
  }

  private ns(): { netns?: string } {
    return this.opts.netns === undefined ? {} : { netns: this.opts.netns };
  }

  private fixedAttributesMatch(dev: Link, links: Link[]): boolean {
    const v = dev.vxlan;
    if (dev.kind !== 'vxlan' || !v || v.external) return false;
    const parent = links.find((l) => l.name === this.opts.parent);
    return v.vni === this.opts.vni && v.port === this.opts.port && v.local === this.opts.local && !v.learning &&
      (this.family !== 6 || v.udp6ZeroCsumRx === true) &&
      (v.parentIndex === undefined ? v.parent === this.opts.parent : v.parentIndex === parent?.index);
  }

  private async applyAddress(tunnelIP: string, result: VxlanApplyResult): Promise<void> {
    const ns = this.ns();
    const want = `${canonical(tunnelIP)}/${this.family === 6 ? 128 : 32}`;
    // IPv6: the kernel's own link-local address stays.
    const have = (await addrList({ family: this.family, ...ns })).filter((a) => a.ifname === this.name && !a.cidr.toLowerCase().startsWith('fe80:'));
    const ops: AddrOp[] = [];
    for (const a of have) if (a.cidr !== want) ops.push({ op: 'delete', ifname: this.name, cidr: a.cidr });
    if (!have.some((a) => a.cidr === want)) ops.push({ op: 'add', ifname: this.name, cidr: want, ...(this.family === 6 ? { nodad: true } : {}) });
    this.count(await addrApply(ops, ns), ops.map((o) => `address ${o.op} ${o.cidr}`), result);
  }

  private async applyNeighbours(result: VxlanApplyResult): Promise<void> {
    const ns = this.ns();
    const want = new Map(this.desired.peers.map((p) => [canonical(p.tunnelIP), p.mac.toLowerCase()]));
    const have = (await neighList({ family: this.family, ...ns })).filter((n) => n.ifname === this.name);
    const ops: NeighbourOp[] = [];
    const ok = new Set<string>();
    for (const n of have) {
      if (!n.permanent) continue; // the kernel's own (incomplete, failed): replaced below if wanted
      const mac = want.get(n.ip);
      if (mac === undefined) ops.push({ op: 'delete', ifname: this.name, ip: n.ip });
      else if (n.mac?.toLowerCase() === mac) ok.add(n.ip);
    }
    for (const [ip, mac] of want) if (!ok.has(ip)) ops.push({ op: 'replace', ifname: this.name, ip, mac });
    this.count(await neighApply(ops, ns), ops.map((o) => `neighbour ${o.op} ${o.ip}`), result);
  }

  private async applyFdb(result: VxlanApplyResult): Promise<void> {
    const ns = this.ns();
    const want = new Map(this.desired.peers.map((p) => [p.mac.toLowerCase(), canonical(p.nodeIP)]));
    const have = (await fdbList(ns)).filter((f) => f.ifname === this.name && f.mac !== undefined);
    const deletes: FdbOp[] = [];
    const ok = new Set<string>();
    for (const f of have) {
      const mac = f.mac!.toLowerCase();
      if (want.get(mac) === f.dst && f.permanent) ok.add(mac);
      else deletes.push({ op: 'delete', ifname: this.name, mac, ...(f.dst ? { dst: f.dst } : {}) });
    }
    const adds: FdbOp[] = [];
    for (const [mac, dst] of want) if (!ok.has(mac)) adds.push({ op: 'append', ifname: this.name, mac, dst });
    // Deletes first: a MAC whose remote moved loses the old one before it gains the new.
    const ops = [...deletes, ...adds];
    this.count(await fdbApply(ops, ns), ops.map((o) => `fdb ${o.op} ${o.mac} dst ${o.dst ?? '-'}`), result);
  }

  private count(out: BatchOutcome, what: string[], result: VxlanApplyResult): void {
    out.results.forEach((r, i) => {
      if (r.ok) result.changes++;
      else result.errors.push(`${this.name}: ${what[i]}: ${r.message}`);
    });
  }
}

/** The address as the kernel reports it (IPv6 compressed, lower case), so desired and held compare equal. */
function canonical(address: string): string {
  return parseIP(address)?.address ?? address;
}
