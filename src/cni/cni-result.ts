// CNI success results (SPEC.md section 5): what ADD prints, merged into a chained
// plugin's prevResult, and written in the requested version's shape.
import { compareVersions } from './cni-config.js';

export interface CniInterface {
  name: string;
  mac?: string;
  /** The namespace path for interfaces in the container; absent on the host. */
  sandbox?: string;
  /** 1.1.0 and later. */
  mtu?: number;
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  /** 0.3.x and 0.4.0 only. */
  version?: '4' | '6';
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: Record<string, unknown>;
}

export interface Attachment {
  host: CniInterface;
  container: CniInterface;
  /** `address/32` and `address/128` on the container interface. */
  addresses: string[];
  routes: CniRoute[];
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** The attachment added after whatever the earlier plugins of the chain reported. */
export function attachmentResult(cniVersion: string, attachment: Attachment, prev?: Record<string, unknown>): CniResult {
  const interfaces = [...list<CniInterface>(prev?.interfaces), attachment.host, attachment.container];
  const container = interfaces.length - 1;
  const ips = [...list<CniIp>(prev?.ips), ...attachment.addresses.map((address) => ({ address, interface: container }))];
  const routes = [...list<CniRoute>(prev?.routes), ...attachment.routes];
  const dns = typeof prev?.dns === 'object' && prev.dns !== null ? (prev.dns as Record<string, unknown>) : {};
  return formatResult({ cniVersion, interfaces, ips, routes, dns });
}

/** The result in the shape of its cniVersion: `version` on IPs before 1.0.0, interface `mtu` from 1.1.0. */
export function formatResult(r: CniResult): CniResult {
  const old = compareVersions(r.cniVersion, '1.0.0') < 0;
  const withMtu = compareVersions(r.cniVersion, '1.1.0') >= 0;
  return {
    cniVersion: r.cniVersion,
    interfaces: r.interfaces.map(({ mtu, ...i }) => (withMtu && mtu !== undefined ? { ...i, mtu } : i)),
    ips: r.ips.map(({ version: _v, ...ip }) => (old ? { ...ip, version: ip.address.includes(':') ? '6' : '4' } : ip)),
    routes: r.routes,
    dns: r.dns,
  };
}

/** Our addresses from a prevResult: those on the interface named `ifname` in `sandbox`. */
export function addressesIn(prev: Record<string, unknown> | undefined, ifname: string, sandbox: string): string[] {
  const interfaces = list<CniInterface>(prev?.interfaces);
  const idx = interfaces.findIndex((i) => i.name === ifname && i.sandbox === sandbox);
  if (idx < 0) return [];
  return list<CniIp>(prev?.ips)
    .filter((ip) => ip.interface === idx)
    .map((ip) => ip.address);
}
