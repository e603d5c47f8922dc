// BIRD as the benches' route sender: a static protocol with the routes (blackholes) and
// one BGP protocol per receiver, each started disabled and enabled over the control
// socket when its receiver's turn comes.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, stopPid, waitFor } from '../util/exec.js';
import { BirdControl } from './bird-control.js';
import { onCleanup } from './cleanup.js';

export interface SenderConfig {
  routerId: string;
  routes: readonly string[];
  /** The static protocol starts disabled (the mesh case enables it once sessions are up). */
  staticDisabled?: boolean;
  /** One `to_NAME` protocol each. */
  receivers: { name: string; local: string; localAs: number; neighbor: string; remoteAs: number }[];
}

export function senderConfig(c: SenderConfig): string {
  let text = `router id ${c.routerId};\nprotocol device { scan time 10; }\nprotocol static s4 {\n  ipv4;\n${c.staticDisabled ? '  disabled;\n' : ''}`;
  text += c.routes.map((p) => `  route ${p} blackhole;\n`).join('');
  text += '}\n';
  for (const r of c.receivers) {
    text += `protocol bgp to_${r.name} {
  local ${r.local} as ${r.localAs};
  neighbor ${r.neighbor} as ${r.remoteAs};
  disabled;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import none; export all; next hop self; };
}
`;
  }
  return text;
}

/** Starts BIRD with `config` in `ns`; resolves with its PID and an open control connection. */
export async function startSender(config: string, ns: string, dir: string, name: string): Promise<{ pid: number; ctl: BirdControl }> {
  const conf = join(dir, `${name}.conf`);
  const sock = join(dir, `${name}.ctl`);
  writeFileSync(conf, config);
  const pid = startDaemon(['bird', '-f', '-c', conf, '-s', sock], { netns: ns, logFile: join(dir, `${name}.log`) }).pid!;
  onCleanup(() => stopPid(pid, 3000));
  const ctl = new BirdControl(sock);
  await waitFor(`BIRD ${name}`, async () => {
    await ctl.open(2000);
    return true;
  }, 30_000, 100);
  onCleanup(() => ctl.close());
  return { pid, ctl };
}
