// The public surface of @popwatch/bgp: the readers other packages use.
// (The formatter sorts these lines by module: bmp/ and ris-live/ are the live
// feeds; files and mrt/ the MRT reader; wire/ BGP wire decoding, which MRT and
// BMP both carry.)

export type { BmpError, BmpErrorCode } from "./bmp/decode";
export { type BmpListenOptions, type BmpListener, type BmpStats, listenBmp } from "./bmp/listener";
export type { BmpItem, BmpRouter } from "./bmp/session";
export { type BgpDecodeErrorCode, BgpWireError, LiveFeedConfigError, MrtDecodeError } from "./errors";
export { type MrtCompression, decompressedBytes, detectCompression, readMrtFile } from "./files";
export type { MrtEntry, MrtOrigin, MrtRibEntry, MrtStateEntry, MrtStats, MrtUpdateEntry, MrtWarning } from "./mrt/entries";
export { newMrtStats } from "./mrt/entries";
export { BGP_STATE_NAMES, type ReadMrtEventsOptions, mrtEntryEvents, readMrtEvents } from "./mrt/events";
export { type BgpdumpOptions, asPathText, bgpdumpLines, jsonLines } from "./mrt/format";
export { MAX_MRT_RECORD_LENGTH, type ReadMrtOptions, readMrtEntries } from "./mrt/reader";
export { RIS_LIVE_URL, type RisLiveItem, type RisLiveOptions, type RisLiveStats, type RisLiveWatch, watchRisLive } from "./ris-live/client";
export {
  type RisLiveLineErrorCode,
  type RisLiveLineItem,
  type RisLiveLinesOptions,
  readRisLiveLines,
} from "./ris-live/json-lines";
export type { RisLiveError, RisLiveErrorCode } from "./ris-live/messages";
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
