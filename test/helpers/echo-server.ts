// The python3 echo servers of the NAT tests: the socket setup they share, and starting
// one in a namespace until it prints "ready".

import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { startDaemon, waitFor } from '../../src/util/exec.js';

/**
 * Python (after `import socket, sys`): `host` and `port` from argv, a UDP socket `u`
 * and a listening TCP socket `t` (backlog `backlog`) bound to them, in the family of
 * `host`. `udpSetup` (whole lines) runs on `u` before its bind.
 */
export function echoSocketsPy(backlog: number, udpSetup = ''): string {
  return `host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM)
${udpSetup}u.bind((host, port))
t = socket.socket(fam)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((host, port))
t.listen(${backlog})
`;
}

/** Runs `python3 -u -c script args…` in `netns`, its output to `logFile`, until it logs "ready". */
export async function startPyServer(script: string, args: string[], netns: string, logFile: string): Promise<ChildProcess> {
  const child = startDaemon(['python3', '-u', '-c', script, ...args], { netns, logFile });
  await waitFor('the echo server', () => readFileSync(logFile, 'utf8').includes('ready'), 10_000);
  return child;
}
