// The public surface of @popwatch/bgp: the readers other packages use.

// ---- Live feeds: RIS Live and BMP (branch feeds) ----
export { LiveFeedConfigError } from "./errors";
export { RIS_LIVE_URL, type RisLiveItem, type RisLiveOptions, type RisLiveStats, type RisLiveWatch, watchRisLive } from "./ris-live/client";
export type { RisLiveError, RisLiveErrorCode } from "./ris-live/messages";
