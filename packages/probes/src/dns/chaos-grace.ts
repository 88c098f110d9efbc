// CHAOS identity queries (id.server, hostname.bind) go out with a probe's
// main query but never decide its outcome. Once the main query has settled
// they get a grace period of twice the time the probe has spent so far (at
// least 25 ms, at most 1 s): a server that drops CH queries costs a little
// latency, not a timeout, and a slow path still gets time to answer.

const CHAOS_GRACE_MIN_MS = 25;
const CHAOS_GRACE_MAX_MS = 1000;

/** How long to keep waiting for CHAOS answers after the main query settled, `elapsedMs` into the probe. */
export function chaosGraceMs(elapsedMs: number): number {
  return Math.min(CHAOS_GRACE_MAX_MS, Math.max(CHAOS_GRACE_MIN_MS, 2 * elapsedMs));
}
