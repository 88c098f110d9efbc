// The public surface of @popwatch/bgp: the readers other packages use.

// BGP wire decoding (MRT and BMP both carry whole BGP messages).
export { type BgpDecodeErrorCode, BgpWireError, MrtDecodeError } from "./errors";
export { type RouteEventContext, updateRouteEvents } from "./wire/events";
export { decodeBgpMessage } from "./wire/message";
export type {
  AsPathSegment,
  BgpDecodeOptions,
  BgpKeepalive,
  BgpMessage,
  BgpNotification,
  BgpOpen,
  BgpRouteRefresh,
  BgpUpdate,
  MpReach,
  MpUnreach,
  Nlri,
  PathAttributes,
} from "./wire/types";
