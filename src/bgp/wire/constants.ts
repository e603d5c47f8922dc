// Numbers from the RFCs and IANA registries, under the RFCs' own names.

export const BGP_VERSION = 4;
export const BGP_PORT = 179;
/** RFC 6793: the 2-octet stand-in for an AS number that does not fit in 16 bits. */
export const AS_TRANS = 23456;

export const HEADER_LENGTH = 19;
export const MARKER_LENGTH = 16;
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654, once both sides advertised the Extended Message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

/** Smallest legal length of each message type, header included (RFC 4271 §4, RFC 2918). */
export const MIN_MESSAGE_LENGTH: Readonly<Record<number, number>> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

export const ErrorCode = {
  MESSAGE_HEADER_ERROR: 1,
  OPEN_MESSAGE_ERROR: 2,
  UPDATE_MESSAGE_ERROR: 3,
  HOLD_TIMER_EXPIRED: 4,
  FINITE_STATE_MACHINE_ERROR: 5,
  CEASE: 6,
  ROUTE_REFRESH_MESSAGE_ERROR: 7,
} as const;

/** RFC 4271 §4.5: used when no specific subcode applies. */
export const UNSPECIFIC = 0;

export const MessageHeaderError = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

export const OpenMessageError = {
  UNSUPPORTED_VERSION_NUMBER: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;

export const UpdateMessageError = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608. */
export const FsmError = {
  UNEXPECTED_MESSAGE_IN_OPENSENT: 1,
  UNEXPECTED_MESSAGE_IN_OPENCONFIRM: 2,
  UNEXPECTED_MESSAGE_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486, RFC 8538 (Hard Reset), RFC 9234 is OPEN not Cease. */
export const CeaseSubcode = {
  MAXIMUM_NUMBER_OF_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DE_CONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;

/** RFC 7313. */
export const RouteRefreshMessageError = {
  INVALID_MESSAGE_LENGTH: 1,
} as const;

export const ErrorCodeName: Readonly<Record<number, string>> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

export const ErrorSubcodeName: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

export const OptionalParameterType = {
  AUTHENTICATION: 1, // deprecated (RFC 5492)
  CAPABILITIES: 2,
  /** RFC 9072: marks the extended optional parameters length encoding. */
  EXTENDED_LENGTH: 255,
} as const;

export const CapabilityCode = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  OUTBOUND_ROUTE_FILTERING: 3,
  EXTENDED_NEXT_HOP_ENCODING: 5,
  EXTENDED_MESSAGE: 6,
  BGP_ROLE: 9,
  GRACEFUL_RESTART: 64,
  FOUR_OCTET_AS_NUMBER: 65,
  ADD_PATH: 69,
  ENHANCED_ROUTE_REFRESH: 70,
  LONG_LIVED_GRACEFUL_RESTART: 71,
  FQDN: 73,
} as const;

export const Afi = {
  IPV4: 1,
  IPV6: 2,
  L2VPN: 25,
} as const;

export const Safi = {
  UNICAST: 1,
  MULTICAST: 2,
  MPLS_LABEL: 4,
  EVPN: 70,
  MPLS_VPN: 128,
  FLOWSPEC: 133,
} as const;

export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  EXTENDED_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const;

export const Origin = {
  IGP: 0,
  EGP: 1,
  INCOMPLETE: 2,
} as const;
export type OriginValue = (typeof Origin)[keyof typeof Origin];

export const AsPathSegmentType = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;
export type AsPathSegmentTypeValue = (typeof AsPathSegmentType)[keyof typeof AsPathSegmentType];

/** IANA "BGP Well-known Communities". */
export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: 0xffff0000,
  ACCEPT_OWN: 0xffff0001,
  LLGR_STALE: 0xffff0006,
  NO_LLGR: 0xffff0007,
  BLACKHOLE: 0xffff029a,
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NOPEER: 0xffffff04,
} as const;

/** RFC 7313 ROUTE-REFRESH "Message Subtype" (the old Reserved octet). */
export const RouteRefreshSubtype = {
  NORMAL: 0,
  BEGINNING_OF_ROUTE_REFRESH: 1,
  END_OF_ROUTE_REFRESH: 2,
} as const;

/** RFC 7911 Send/Receive field of the ADD-PATH capability. */
export const AddPathMode = {
  RECEIVE: 1,
  SEND: 2,
  BOTH: 3,
} as const;

/** RFC 4724 / RFC 8538 graceful restart flag bits. */
export const GracefulRestartFlag = {
  RESTART_STATE: 0x8000,
  NOTIFICATION: 0x4000,
  TIME_MASK: 0x0fff,
  FORWARDING_STATE: 0x80,
} as const;

/** RFC 9003: the shutdown communication may be up to 255 octets of UTF-8. */
export const MAX_SHUTDOWN_COMMUNICATION_LENGTH = 255;
