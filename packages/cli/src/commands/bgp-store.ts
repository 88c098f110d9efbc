// How every `popwatch bgp` command that writes hands events to the store: the
// agent's ingest pipeline (with its default fold, core's routingMinutes), so
// imports and live feeds keep snapshots and per-minute rollups exactly as the
// scheduled function does; and, once snapshots changed, the routing alerts
// judged and delivered right away, as the scheduled function does after an
// archive run (the evaluator would otherwise wait for its next minute).
import { type BgpIngestReport, ingestBgpEvents, runRoutingAlertCycle, summariseRoutingAlertCycle } from "@popwatch/agent";
import type { AlertStateRepository, BgpConfig, BgpEvent, PopwatchConfig, RoutingRepository } from "@popwatch/core";
import { createSinks } from "@popwatch/notify";
import type { Io } from "../io";

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

/** Judges the watched prefixes' snapshots now and delivers what changed; failures are printed, never thrown. */
export type RoutingAlerter = () => Promise<void>;

/**
 * The routing alert cycle the bgp commands run after an ingest that rewrote a
 * snapshot: one at a time (a live feed's batches may finish together), through
 * the configured sinks (default stdout, one JSON line per notification).
 */
export function routingAlerter(
  command: string,
  io: Io,
  config: PopwatchConfig,
  stores: { routing: RoutingRepository; alerts: AlertStateRepository },
): RoutingAlerter {
  const sinks = createSinks(config.alerting.sinks, { homeRegion: config.homeRegion, write: (line) => void io.stdout.write(line) });
  let running: Promise<void> = Promise.resolve();
  const runOnce = async (): Promise<void> => {
    try {
      const report = await runRoutingAlertCycle({
        config,
        routing: stores.routing,
        alerts: stores.alerts,
        sinks,
        now: Date.now(),
        ...(config.bgp?.rpki ? { vrpFile: config.bgp.rpki.vrpFile } : {}),
      });
      if (report === null) return;
      const summary = summariseRoutingAlertCycle(report);
      for (const problem of summary.problems) io.stderr.write(`popwatch ${command}: routing alerts: ${problem.code}: ${problem.message}\n`);
      if (summary.undelivered > 0) {
        io.stderr.write(
          `popwatch ${command}: routing alerts: ${summary.undelivered} notifications not delivered (kept for the next evaluation)\n`,
        );
      }
    } catch (err) {
      io.stderr.write(`popwatch ${command}: routing alerts: ${(err as Error).message ?? String(err)}\n`);
    }
  };
  return () => {
    running = running.then(runOnce);
    return running;
  };
}

function isAsyncIterable(events: AsyncIterable<BgpEvent> | readonly BgpEvent[]): events is AsyncIterable<BgpEvent> {
  return Symbol.asyncIterator in events;
}

async function* fromArray(events: readonly BgpEvent[]): AsyncGenerator<BgpEvent> {
  yield* events;
}
