// Numbers from RFC 5880 (BFD) and RFC 5881 (BFD for IPv4 and IPv6, single hop), with
// the RFCs' names.

/** RFC 5880 §4.1 "Sta". */
export const BfdState = {
  AdminDown: 0,
  Down: 1,
  Init: 2,
  Up: 3,
} as const;
export type BfdState = (typeof BfdState)[keyof typeof BfdState];

export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof STATE_NAMES)[number];

/** RFC 5880 §4.1 "Diag". */
export const BfdDiag = {
  NO_DIAGNOSTIC: 0,
  CONTROL_DETECTION_TIME_EXPIRED: 1,
  ECHO_FUNCTION_FAILED: 2,
  NEIGHBOR_SIGNALED_SESSION_DOWN: 3,
  FORWARDING_PLANE_RESET: 4,
  PATH_DOWN: 5,
  CONCATENATED_PATH_DOWN: 6,
  ADMINISTRATIVELY_DOWN: 7,
  REVERSE_CONCATENATED_PATH_DOWN: 8,
} as const;
export type BfdDiag = (typeof BfdDiag)[keyof typeof BfdDiag];

export const DIAG_NAMES: Record<number, string> = {
  0: 'No Diagnostic',
  1: 'Control Detection Time Expired',
  2: 'Echo Function Failed',
  3: 'Neighbor Signaled Session Down',
  4: 'Forwarding Plane Reset',
  5: 'Path Down',
  6: 'Concatenated Path Down',
  7: 'Administratively Down',
  8: 'Reverse Concatenated Path Down',
};

export const diagName = (d: number): string => DIAG_NAMES[d] ?? `Reserved (${d})`;

/** RFC 5880 §4.1: the version this document describes. */
export const BFD_VERSION = 1;
/** RFC 5880 §4.1: Length of a Control packet without an Authentication Section. */
export const BFD_CONTROL_LENGTH = 24;
/** RFC 5880 §6.8.6: the least Length when the A bit is set. */
export const BFD_CONTROL_LENGTH_AUTH = 26;

/** RFC 5881 §4: destination port of single-hop Control packets. */
export const BFD_CONTROL_PORT = 3784;
/** RFC 5881 §4: the source port range. */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
/** RFC 5881 §5: sent with, and without authentication required on receipt, TTL / hop limit 255. */
export const BFD_TTL = 255;

/** RFC 5880 §6.8.3: bfd.DesiredMinTxInterval while the session is not Up, at least one second (µs). */
export const SLOW_TX_INTERVAL_US = 1_000_000;
