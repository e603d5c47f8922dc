// The settings of `tabby node run`, as calico-node takes them: every setting has a flag
// and environment variables (calico-node's name where it has one, TABBY_… otherwise), the
// flag winning. This one list makes the yargs options, is what docs/configuration.md
// documents (a test keeps them in step) and what node-config.ts resolves. It imports
// nothing, so the CLI can declare the options without loading the agent.
// Sources: calico-node node/pkg/lifecycle/startup/startup.go (IP, IP6, *_AUTODETECTION_METHOD,
// CALICO_ROUTER_ID from confd's bird.cfg template,
// CALICO_IPV4POOL_*, NO_DEFAULT_POOLS), node/pkg/lifecycle/utils/utils.go DetermineNodeName
// (NODENAME, then HOSTNAME lowercased, then the hostname), libcalico-go lib/apiconfig
// (ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_USERNAME/PASSWORD).

export interface EnvSetting {
  /** Environment variables, the first one set wins. */
  env: string[];
  /** The `tabby node run` flag (without --), or undefined when there is only the variable. */
  flag?: string;
  default: string;
  describe: string;
}

const pool = (v: 4 | 6, knob: string, flag: string, dflt: string, describe: string): EnvSetting => ({
  env: [`TABBY_IPV${v}POOL_${knob}`, `CALICO_IPV${v}POOL_${knob}`],
  flag: `ipv${v}-pool-${flag}`,
  default: dflt,
  describe,
});

/** The default pool of one family and its knobs (calico-node's CALICO_IPV4POOL_* and CALICO_IPV6POOL_*). */
const poolSettings = (v: 4 | 6): EnvSetting[] => [
  v === 4
    ? pool(4, 'CIDR', 'cidr', '192.168.0.0/16', 'the default IPv4 pool, created on start when no IPv4 pool exists; none: no default IPv4 pool')
    : pool(6, 'CIDR', 'cidr', 'none', 'the default IPv6 pool, created on start when no IPv6 pool exists (calico-node would invent a ULA /48; Tabby creates one only when named)'),
  ...(v === 4 ? [pool(4, 'IPIP', 'ipip', 'Never', 'its ipipMode: Always, CrossSubnet or Never')] : []),
  pool(v, 'VXLAN', 'vxlan', 'Never', 'its vxlanMode: Always, CrossSubnet or Never'),
  pool(v, 'NAT_OUTGOING', 'nat-outgoing', String(v === 4), 'its natOutgoing'),
  pool(v, 'BLOCK_SIZE', 'block-size', v === 4 ? '26' : '122', `its blockSize (${v === 4 ? '20-32' : '116-128'})`),
  pool(v, 'NODE_SELECTOR', 'node-selector', 'all()', 'its nodeSelector'),
  pool(v, 'DISABLE_BGP_EXPORT', 'disable-bgp-export', 'false', 'its disableBGPExport'),
];

export const ENV_TABLE: readonly EnvSetting[] = [
  { env: ['NODENAME', 'HOSTNAME'], flag: 'name', default: 'the hostname', describe: 'node name (HOSTNAME and the hostname are lowercased, as calico-node does)' },
  { env: ['TABBY_DATASTORE', 'ETCD_ENDPOINTS'], flag: 'datastore', default: 'file:/var/lib/tabby', describe: 'datastore URI; ETCD_ENDPOINTS (comma-separated URLs) means etcd:ETCD_ENDPOINTS' },
  { env: ['TABBY_ETCD_CA', 'ETCD_CA_CERT_FILE'], default: 'system CAs', describe: 'PEM CA of the etcd server certificates (https:// endpoints)' },
  { env: ['TABBY_ETCD_CERT', 'ETCD_CERT_FILE'], default: 'none', describe: 'PEM client certificate for etcd client-certificate auth' },
  { env: ['TABBY_ETCD_KEY', 'ETCD_KEY_FILE'], default: 'none', describe: 'PEM private key of that certificate' },
  { env: ['TABBY_ETCD_USERNAME', 'ETCD_USERNAME'], default: 'none', describe: 'etcd user (role-based auth), with the password' },
  { env: ['TABBY_ETCD_PASSWORD', 'ETCD_PASSWORD'], default: 'none', describe: 'etcd password' },
  { env: ['IP'], flag: 'ip', default: 'unset', describe: 'IPv4 address: autodetect, none, or ADDRESS[/LEN] (the prefix length is read from the interface holding it); unset: the Node\'s address, autodetected when it has none' },
  { env: ['IP_AUTODETECTION_METHOD'], flag: 'ip-autodetection-method', default: 'first-found', describe: 'first-found, can-reach=DEST, interface=REGEX, skip-interface=REGEX, cidr=CIDR[,CIDR]' },
  { env: ['IP6'], flag: 'ip6', default: 'unset', describe: 'IPv6 address: autodetect, none, or ADDRESS[/LEN]; unset: the Node\'s IPv6 address if it has one' },
  { env: ['IP6_AUTODETECTION_METHOD'], flag: 'ip6-autodetection-method', default: 'first-found', describe: 'as IP_AUTODETECTION_METHOD, for IPv6' },
  { env: ['CALICO_ROUTER_ID'], flag: 'router-id', default: 'the node IPv4 address', describe: 'BGP router ID: an IPv4 address, or hash (from the node name); a node without IPv4 uses hash' },
  { env: ['NO_DEFAULT_POOLS'], flag: 'no-default-pools', default: 'false', describe: 'true: never create a default IP pool' },
  ...poolSettings(4),
  ...poolSettings(6),
  { env: ['TABBY_DATAPLANE'], flag: 'dataplane', default: 'bpf', describe: 'bpf, iptables or none' },
  { env: ['TABBY_BPF_PIN_ROOT'], flag: 'bpf-pin-root', default: '/sys/fs/bpf/tabby', describe: 'bpf dataplane: the bpffs directory its maps and programs are pinned in and reused from by the next agent' },
  { env: ['TABBY_STATE_DIR'], flag: 'state-dir', default: '/var/run/tabby', describe: 'holds agent.sock for `tabby node status`' },
  { env: ['TABBY_SECRETS_DIR'], flag: 'secrets-dir', default: '/etc/tabby/secrets', describe: 'BGP passwords (secretKeyRef) as DIR/<secret>/<key>' },
  { env: ['TABBY_LOG_LEVEL'], flag: 'log-level', default: 'Info', describe: 'Trace, Debug, Info, Warning, Error, Fatal, Panic or None (any case)' },
  { env: ['TABBY_HEALTH_ADDRESS'], flag: 'health-address', default: '127.0.0.1', describe: 'address of /liveness and /readiness' },
  { env: ['TABBY_HEALTH_PORT'], flag: 'health-port', default: '9099', describe: 'their port; 0 picks a free one, -1 turns them off' },
  { env: ['TABBY_METRICS_ADDRESS'], flag: 'metrics-address', default: '0.0.0.0', describe: 'address of /metrics (Prometheus)' },
  { env: ['TABBY_METRICS_PORT'], flag: 'metrics-port', default: '9091', describe: 'its port (Felix\'s metrics port); 0 picks a free one, -1 turns it off' },
];
