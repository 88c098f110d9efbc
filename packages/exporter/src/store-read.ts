// One refresh's reads: the SLO windows and the catchment window in one set of
// rollup reads per region (core's read model plans them, as for the report),
// then the stored alert states. What to compute is decided by the agent's SLO
// evaluation, core's catchment and store-samples.ts.
import { evaluateSlosFrom, evaluationEndMs, rollupLagMinutes, sloReadRanges } from "@popwatch/agent";
import {
  type AlertState,
  type AlertStateRepository,
  type PopwatchConfig,
  type RollupGranularity,
  catchment,
  catchmentSpan,
} from "@popwatch/core";
import { type ResultStore, readRollups } from "@popwatch/store";
import { type StoreSamples, storeSamples } from "./store-samples";

/** The parts of an opened store the refresh reads (openStore's result fits). */
export interface StoreMetricsSource {
  results: Pick<ResultStore, "queryPeriodRollups" | "readStats" | "listRegions">;
  alerts: Pick<AlertStateRepository, "loadStates">;
}

export interface StoreReadRequest {
  config: PopwatchConfig;
  /** The regions to evaluate; default every region the store holds results of (listRegions, read each refresh). */
  regions?: readonly string[] | undefined;
  nowMs: number;
  catchmentWindowMs: number;
  /** The period the dominant PoP is judged over: failovers are its changes. */
  catchmentBucket: RollupGranularity;
  topPops: number;
}

export interface StoreRead {
  samples: StoreSamples;
  /** Where the windows ended: the last minute boundary whose rollups are complete. */
  endMs: number;
  /** Rollup items and store queries the refresh cost. */
  itemsRead: number;
  queries: number;
}

export async function readStoreSamples(source: StoreMetricsSource, request: StoreReadRequest): Promise<StoreRead> {
  const { config } = request;
  const regions = request.regions ?? (await source.results.listRegions());
  const endMs = evaluationEndMs(request.nowMs, rollupLagMinutes(config));
  const span = catchmentSpan(endMs - request.catchmentWindowMs, endMs, request.catchmentBucket);
  const read = await readRollups(source.results, regions, { ranges: sloReadRanges(config, endMs), spans: [span] });
  const evaluated = evaluateSlosFrom(read, { config, regions, endMs });
  const catchments = catchment(
    regions.flatMap((region) => read.view.span(region, span)),
    { window: { from: span.fromMs, to: span.toMs }, bucket: request.catchmentBucket },
  );
  const alertStates: AlertState[] = config.slos.length === 0 ? [] : (await source.alerts.loadStates()).map((stored) => stored.state);
  return {
    samples: storeSamples({ config, scopes: evaluated.scopes, alertStates, catchments, topPops: request.topPops }),
    endMs,
    itemsRead: read.itemsRead,
    queries: read.queries,
  };
}
