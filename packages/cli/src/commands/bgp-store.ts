// How every `popwatch bgp` command that writes hands events to the store: the
// agent's ingest pipeline (with its default fold, core's routingMinutes), so
// imports and live feeds keep snapshots and per-minute rollups exactly as the
// scheduled function does.
import { type BgpIngestReport, ingestBgpEvents } from "@popwatch/agent";
import type { BgpConfig, BgpEvent, RoutingRepository } from "@popwatch/core";

export type IngestCounts = Pick<BgpIngestReport, "read" | "matched" | "written" | "duplicates">;

/**
 * Writes the events of the watched prefixes and folds the minutes they touch.
 * The CLI's readers end normally at a bad record (their failures are data), so
 * a stream that still throws is a fault and is rethrown, after what came before it was written.
 */
export async function storeBgpEvents(
  repo: RoutingRepository,
  bgp: BgpConfig,
  events: AsyncIterable<BgpEvent> | readonly BgpEvent[],
): Promise<BgpIngestReport> {
  const report = await ingestBgpEvents(repo, bgp, isAsyncIterable(events) ? events : fromArray(events));
  if (report.interrupted !== undefined) throw report.interrupted;
  return report;
}

function isAsyncIterable(events: AsyncIterable<BgpEvent> | readonly BgpEvent[]): events is AsyncIterable<BgpEvent> {
  return Symbol.asyncIterator in events;
}

async function* fromArray(events: readonly BgpEvent[]): AsyncGenerator<BgpEvent> {
  yield* events;
}
