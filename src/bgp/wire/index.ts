// The BGP message codec: Buffers in, typed values out, and back. A leaf module: it
// imports nothing else from the project, and what a session negotiated comes in as
// CodecOptions on each call.

export * from './constants.js';
export { BgpMessageError, type ErrorAction, type NotificationFields } from './errors.js';
export { INITIAL_OPTIONS, maxMessageLength, type CodecOptions } from './options.js';
export { FAMILIES, familyOf, type Family, type FamilyRow } from './family.js';
export { isIpv4Address, isIpv6Address, normalizeIpv6, prefixFamily } from './prefix.js';
export { checkHeader, readHeader, type Header } from './header.js';
export { MessageReader } from './message-reader.js';
export {
  capabilityCode,
  commonFamilies,
  findCapability,
  negotiateOptions,
  type AddPathFamily,
  type AfiSafi,
  type Capability,
  type CapabilityKind,
  type GracefulRestartFamily,
  type LongLivedFamily,
} from './capabilities.js';
export { decodeOpen, encodeOpen, type DecodedOpen, type Open } from './open.js';
export { asPathLength, formatAsPath, mergeAs4Path, type AsPathSegment } from './as-path.js';
export {
  community,
  formatCommunity,
  formatExtendedCommunity,
  formatLargeCommunity,
  parseCommunity,
  parseLargeCommunity,
  type LargeCommunity,
} from './communities.js';
export {
  ATTRIBUTE_ROWS,
  attributeName,
  attributeRow,
  type Aggregator,
  type AttributeRow,
  type MpReach,
  type MpUnreach,
  type PathAttributes,
  type RawAttribute,
} from './attributes.js';
export {
  decodeUpdate,
  encodeUpdate,
  endOfRib,
  isEndOfRib,
  routeChanges,
  type DecodedUpdate,
  type RouteChange,
  type Update,
} from './update.js';
export {
  decodeNotification,
  encodeNotification,
  formatNotification,
  notificationOf,
  shutdownCommunication,
  shutdownNotification,
  type Notification,
} from './notification.js';
export { decodeKeepalive, encodeKeepalive } from './keepalive.js';
export { decodeRouteRefresh, encodeRouteRefresh, routeRefresh, type RouteRefresh } from './route-refresh.js';
export { decodeMessage, encodeMessage, INTERNAL_DECODER_ERROR, type BgpMessage, type DecodedMessage } from './message.js';
