// Node IP autodetection with Calico's methods: first-found, can-reach=DEST,
// interface=REGEX, skip-interface=REGEX, cidr=CIDR. Addresses are kept as CIDRs because the
// prefix length defines "same subnet" for CrossSubnet (storing /32 breaks it, calico#3003).
import { cidrContains, parseCidr, parseIP } from '../api/net.js';
import { TabbyError, ValidationError } from '../errors.js';
import { type Address, addrList } from '../native/addresses.js';
import { type Link, linkList } from '../native/links.js';
import { run } from '../util/exec.js';

/** No address on this host matches the autodetection method. */
export class AutodetectError extends TabbyError {
  override readonly code = 'AUTODETECT';
}

/** Interfaces never used for the node address (Calico's list plus Tabby's own devices). */
export const EXCLUDED_INTERFACES = [
  /^docker/, /^cbr/, /^dummy/, /^virbr/, /^lxcbr/, /^veth/, /^lo$/, /^cali/, /^tunl/, /^flannel/,
  /^kube-ipvs/, /^cni/, /^vxlan[.-]/, /^wireguard\.cali/, /^wg-v6\.cali/, /^nodelocaldns/, /^tabby/,
];

export type Method =
  | { kind: 'first-found' }
  | { kind: 'can-reach'; dest: string }
  | { kind: 'interface'; patterns: RegExp[] }
  | { kind: 'skip-interface'; patterns: RegExp[] }
  | { kind: 'cidr'; cidrs: string[] }
  /** calico-node's IP=ADDRESS[/LEN]: that address, with the prefix length of the interface holding it. */
  | { kind: 'address'; address: string; prefixLength?: number };

const regexes = (text: string, what: string): RegExp[] =>
  text.split(',').map((p) => {
    try {
      return new RegExp(`^(?:${p.trim()})$`);
    } catch (err) {
      throw new ValidationError(what, `bad regular expression ${JSON.stringify(p)}: ${(err as Error).message}`);
    }
  });

export function parseMethod(text = 'first-found', source = '--ip'): Method {
  if (text === 'first-found') return { kind: 'first-found' };
  const ip = parseIP(text);
  if (ip) return { kind: 'address', address: ip.address };
  const cidr = text.includes('/') ? parseCidr(text) : undefined;
  if (cidr) return { kind: 'address', address: cidr.address, prefixLength: cidr.prefixLength };
  const eq = text.indexOf('=');
  const [name, value] = eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
  if (!value) throw new ValidationError(source, `unknown autodetection method ${JSON.stringify(text)} (an address, first-found, can-reach=DEST, interface=REGEX, skip-interface=REGEX, cidr=CIDR)`);
  switch (name) {
    case 'can-reach':
      return { kind: 'can-reach', dest: value };
    case 'interface':
      return { kind: 'interface', patterns: regexes(value, source) };
    case 'skip-interface':
      return { kind: 'skip-interface', patterns: regexes(value, source) };
    case 'cidr':
      return { kind: 'cidr', cidrs: value.split(',').map((c) => c.trim()) };
    default:
      throw new ValidationError(source, `unknown autodetection method ${JSON.stringify(name)}`);
  }
}

/**
 * Pick the node address of `family` from the interfaces and addresses given (pure).
 * Among candidates, up interfaces with carrier come first and /32 (/128) addresses — usually
 * VIPs — last, so a floating VIP is not taken for the node IP.
 */
export function chooseAddress(method: Method, family: 4 | 6, links: Link[], addrs: Address[], reachSource?: string): string | undefined {
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const usable = addrs.filter((a) => a.family === family && a.scope === 0 && !a.tentative && !(family === 6 && a.address.startsWith('fe80')));
  const named = (a: Address) => byIndex.get(a.ifindex)?.name ?? a.ifname ?? '';
  let candidates: Address[];
  switch (method.kind) {
    case 'address': {
      // On an interface: its prefix length, unless one was given (calico-node GetLocalCIDR).
      const held = addrs.find((a) => a.family === family && parseIP(a.address)?.address === method.address);
      if (parseIP(method.address)?.family !== family) return undefined;
      return `${method.address}/${method.prefixLength ?? held?.prefixLength ?? (family === 4 ? 32 : 128)}`;
    }
    case 'can-reach':
      candidates = usable.filter((a) => a.address === reachSource);
      break;
    case 'interface':
      candidates = usable.filter((a) => method.patterns.some((p) => p.test(named(a))));
      break;
    case 'cidr':
      candidates = usable.filter((a) => method.cidrs.some((c) => cidrContains(c, a.address)));
      break;
    case 'skip-interface':
    case 'first-found': {
      const skip = method.kind === 'skip-interface' ? method.patterns : [];
      candidates = usable.filter((a) => !EXCLUDED_INTERFACES.some((p) => p.test(named(a))) && !skip.some((p) => p.test(named(a))));
      break;
    }
  }
  const host = family === 4 ? 32 : 128;
  const rank = (a: Address) => {
    const l = byIndex.get(a.ifindex);
    return (l?.up && l.lowerUp ? 0 : 2) + (a.prefixLength === host ? 1 : 0);
  };
  const best = [...candidates].sort((x, y) => rank(x) - rank(y) || x.ifindex - y.ifindex)[0];
  return best?.cidr;
}

/** The source address the kernel would use towards `dest`. */
async function routeSource(dest: string, netns?: string): Promise<string | undefined> {
  const r = await run(['ip', '-j', 'route', 'get', dest], { netns, allowFail: true });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { prefsrc?: string }[])[0]?.prefsrc;
}

/** Autodetect against the live kernel (optionally inside a namespace). */
export async function autodetectAddress(methodText: string | undefined, family: 4 | 6, netns?: string): Promise<string | undefined> {
  const method = parseMethod(methodText);
  const [links, addrs] = await Promise.all([linkList({ netns }), addrList({ family, netns })]);
  const src = method.kind === 'can-reach' ? await routeSource(method.dest, netns) : undefined;
  return chooseAddress(method, family, links, addrs, src);
}

/**
 * calico-node's IP / IP6 setting with its autodetection method. `unset`: the Node's stored
 * address; IPv4 autodetects when there is none, IPv6 never does. `autodetect`: detect, else
 * keep the stored address. `none`: the stored address, never detect. `explicit`: `method`
 * is the address. (node/pkg/lifecycle/startup/startup.go configureIPsAndSubnets.)
 */
export interface AddressSetting {
  mode: 'unset' | 'autodetect' | 'none' | 'explicit';
  method: string;
}

/** The node's address of `family` by the rules above; `detect` runs the method. */
export async function resolveNodeAddress(
  s: AddressSetting, family: 4 | 6, stored: string | undefined, detect: (method: string) => Promise<string | undefined>,
): Promise<string | undefined> {
  if (s.mode === 'explicit') return detect(s.method);
  if (s.mode === 'autodetect' || (s.mode === 'unset' && family === 4 && !stored)) {
    const found = await detect(s.method);
    if (found) return found;
    if (stored) return stored;
    throw new AutodetectError(`failed to autodetect an IPv${family} address with method ${s.method}`);
  }
  return stored || undefined;
}
