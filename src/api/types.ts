// Calico v3 resource shapes (projectcalico.org/v3) as Tabby stores them after validation.

export const API_VERSION = 'projectcalico.org/v3';

/** Kubernetes-style metadata; a store sets resourceVersion, uid and creationTimestamp. */
export interface ObjectMeta {
  name: string;
  /** The store revision of the last write to this resource, as a decimal string. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

export interface Resource<K extends string = string, S = unknown, St = unknown> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  status?: St;
}

export type LogSeverity = 'Trace' | 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
/** A password reference ready to read (see calc: a BGPPassword without secretKeyRef is none). */
export interface SecretKeyRef { secretKeyRef: { name: string; key: string } }
/** Calico's BGPPassword as written: secretKeyRef optional; name defaults to "". */
export interface BGPPassword { secretKeyRef?: { name?: string; key: string; optional?: boolean } }
export interface Community { name: string; value: string }
export interface PrefixAdvertisement { cidr: string; communities: string[] }
export interface ServiceCidr { cidr: string }

export interface BGPConfigurationSpec {
  asNumber?: number;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  bindMode?: 'None' | 'NodeIP';
  /** Case-insensitive, as the CRD pattern `^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$` allows. */
  logSeverityScreen?: string;
  nodeMeshPassword?: BGPPassword;
  nodeMeshMaxRestartTime?: string;
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  serviceClusterIPs?: ServiceCidr[];
  serviceExternalIPs?: ServiceCidr[];
  serviceLoadBalancerIPs?: ServiceCidr[];
  ignoredInterfaces?: string[];
  serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  programClusterRoutes?: 'Enabled' | 'Disabled';
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
}

export type NextHopMode = 'Auto' | 'Self' | 'Keep';
export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  asNumber?: number;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  nextHopMode?: NextHopMode;
  password?: BGPPassword;
  sourceAddress?: 'UseNodeIP' | 'None';
  failureDetectionMode?: 'None' | 'BFDIfDirectlyConnected';
  restartMode?: 'GracefulRestart' | 'LongLivedGracefulRestart';
  maxRestartTime?: string;
  birdGatewayMode?: 'Recursive' | 'DirectIfDirectlyConnected';
  keepaliveTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters?: string[];
  localASNumber?: number;
  localWorkloadSelector?: string;
  reversePeering?: 'Auto' | 'Manual';
}

export interface NodeBGPSpec {
  ipv4Address?: string;
  ipv6Address?: string;
  asNumber?: number;
  routeReflectorClusterID?: string;
  ipv4IPIPTunnelAddr?: string;
}
export interface NodeSpec {
  bgp?: NodeBGPSpec;
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  addresses?: { address: string; type?: string }[];
  orchRefs?: { nodeName?: string; orchestrator?: string }[];
  wireguard?: { interfaceIPv4Address?: string; interfaceIPv6Address?: string };
  interfaces?: { name?: string; addresses?: string[] }[];
}

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';
export interface IPPoolSpec {
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  nodeSelector: string;
  namespaceSelector?: string;
  allowedUses?: ('Workload' | 'Tunnel' | 'LoadBalancer')[];
  assignmentMode?: 'Automatic' | 'Manual';
}

export interface BGPFilterRule {
  cidr?: string;
  matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn';
  prefixLength?: { min?: number; max?: number };
  source?: 'RemotePeers';
  interface?: string;
  peerType?: 'eBGP' | 'iBGP';
  communities?: { values: string[] };
  asPathPrefix?: number[];
  priority?: number;
  action: 'Accept' | 'Reject';
  operations?: ({ addCommunity: { value: string } } | { prependASPath: { prefix: number[] } } | { setPriority: { value: number } })[];
}
export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}

export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Close';
export interface CalicoNodeStatusSpec {
  node: string;
  classes: ('Agent' | 'BGP' | 'Routes')[];
  updatePeriodSeconds?: number;
}
export interface CalicoNodeStatusStatus {
  lastUpdated?: string;
  agent?: { birdV4?: { state: string; version?: string; routerID?: string; lastBootTime?: string }; birdV6?: unknown };
  bgp?: {
    numberEstablishedV4: number;
    numberEstablishedV6: number;
    numberNotEstablishedV4: number;
    numberNotEstablishedV6: number;
    peersV4?: { peerIP: string; type: 'NodeMesh' | 'NodePeer' | 'GlobalPeer'; state: BgpState; since: string }[];
    peersV6?: { peerIP: string; type: 'NodeMesh' | 'NodePeer' | 'GlobalPeer'; state: BgpState; since: string }[];
  };
  routes?: {
    routesV4?: { type: 'FIB' | 'RIB'; destination: string; gateway: string; interface: string; learnedFrom?: { sourceType: string; peerIP?: string } }[];
    routesV6?: unknown[];
  };
}

export type BGPConfiguration = Resource<'BGPConfiguration', BGPConfigurationSpec>;
export type BGPPeer = Resource<'BGPPeer', BGPPeerSpec>;
export type Node = Resource<'Node', NodeSpec>;
export type IPPool = Resource<'IPPool', IPPoolSpec>;
export type BGPFilter = Resource<'BGPFilter', BGPFilterSpec>;
export type CalicoNodeStatus = Resource<'CalicoNodeStatus', CalicoNodeStatusSpec, CalicoNodeStatusStatus>;

/** Calico's defaults with no BGPConfiguration at all. */
export const DEFAULTS = {
  asNumber: 64512,
  nodeToNodeMeshEnabled: true,
  listenPort: 179,
  logSeverityScreen: 'Info' as LogSeverity,
  holdTime: 90,
  keepaliveTime: 30,
  maxRestartTime: 120,
  vxlanVni: 4096,
  vxlanPort: 4789,
  blockSizeV4: 26,
  blockSizeV6: 122,
} as const;
