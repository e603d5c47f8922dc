// sysctl writes inside a namespace: /proc/sys/net follows the network namespace of the
// writing thread, so the addon writes from a thread that entered it.

import { NetlinkError, ValidationError } from '../errors.js';
import { call } from './binding.js';
import { netnsArg } from './checks.js';

/** A key below /proc/sys, slash-separated: net/ipv4/conf/IFNAME/proxy_arp. */
const SYSCTL_KEY = /^(net|kernel)(\/[A-Za-z0-9_.-]{1,64}){1,6}$/;

/** Writes /proc/sys entries in order, inside `netns` when given. Stops at the first failure. */
export async function sysctlWrite(entries: ReadonlyArray<readonly [string, string]>, opts: { netns?: string } = {}): Promise<void> {
  const args = netnsArg(opts.netns);
  const raw = entries.map(([k, v], i): [string, string] => {
    if (typeof k !== 'string' || !SYSCTL_KEY.test(k) || k.split('/').includes('..')) throw new ValidationError(`entries[${i}]`, `not a sysctl key: ${JSON.stringify(k)}`);
    if (typeof v !== 'string' || v.length > 64 || v.includes('\0')) throw new ValidationError(`entries[${i}]`, 'value must be a short string');
    return [k, v];
  });
  if (raw.length === 0) return;
  return call(NetlinkError, (n) => n.sysctlWrite({ ...args, entries: raw }));
}
