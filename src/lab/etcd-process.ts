// What the lab's etcd and the tests' etcd servers share: the member's command line,
// the environment it runs in, and the TCP relay put in front of it.
import type { Socket } from 'node:net';

export interface EtcdMemberArgs {
  name: string;
  dataDir: string;
  /** Comma-separated, as etcd takes them. */
  listenClientUrls: string;
  advertiseClientUrl: string;
  peerUrl: string;
  /** `NAME=PEER_URL,…` */
  initialCluster: string;
  token: string;
  /** Appended after the common flags. */
  extra?: string[];
}

/** The flags of a new member logging warnings (zap) to stderr; without the binary. */
export function etcdArgs(o: EtcdMemberArgs): string[] {
  return [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${o.listenClientUrls}`,
    `--advertise-client-urls=${o.advertiseClientUrl}`,
    `--listen-peer-urls=${o.peerUrl}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=${o.initialCluster}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${o.token}`,
    '--logger=zap',
    '--log-outputs=stderr',
    '--log-level=warn',
    ...(o.extra ?? []),
  ];
}

/** process.env without ETCD* variables, which etcd would read as flags. */
export function etcdEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD')));
}

/**
 * Pipes an accepted `client` connection and its `upstream` both ways, keeping both in
 * `sockets` while open; an error on either ends both.
 */
export function relayConnection(client: Socket, upstream: Socket, sockets: Set<Socket>): void {
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.pipe(client);
}
