// The store part of `/metrics`: SLO state, alert state and catchment, computed
// in the background every refreshMs and swapped into the gauges whole, so a
// scrape only renders values already computed: it never reads the store, and
// a slow or failing store cannot slow or fail a scrape. A failed refresh keeps
// the last values (their age shows in the evaluation timestamp), counts the
// failure by code and logs it.
import { type Logger, jsonLinesLogger } from "@popwatch/agent";
import { type PopwatchConfig, type RollupGranularity, STORE_METRICS } from "@popwatch/core";
import { StoreError, type StoreErrorCode } from "@popwatch/store";
import { Counter, Gauge, type Registry } from "prom-client";
import { type StoreMetricsSource, readStoreSamples } from "./store-read";
import type { ComputedMetric, StoreSamples } from "./store-samples";

export const STORE_METRICS_DEFAULTS = {
  refreshMs: 30_000,
  /** Long enough to hold a failover and its recovery, short enough to follow the current catchment. */
  catchmentWindowMs: 60 * 60_000,
  catchmentBucket: "minute",
  /** PoPs kept per target and region; the rest become `pop="other"`. */
  topPops: 5,
} as const satisfies { refreshMs: number; catchmentWindowMs: number; catchmentBucket: RollupGranularity; topPops: number };

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Why a refresh failed: the store's own code, or `evaluation_failed` when the
 * store answered but the read model refused what it read (or popwatch has a bug).
 */
export type StoreReadErrorCode = StoreErrorCode | "evaluation_failed";

// Every code, so the counter starts at 0 for each (a rate() over a series that appears at its first failure misses it).
const READ_ERROR_CODES: Record<StoreReadErrorCode, true> = {
  store_unavailable: true,
  store_throttled: true,
  store_conflict: true,
  store_invalid: true,
  store_misconfigured: true,
  store_locked: true,
  store_corrupt: true,
  evaluation_failed: true,
};

export interface StoreMetricsOptions {
  config: PopwatchConfig;
  /**
   * An opened store (openStore's result, or the CLI's open store's `{ results: store, alerts }`),
   * or a lease that opens one for each refresh and releases it after: the embedded store's
   * directory is then held only while a refresh reads, so a `popwatch run` can own it.
   */
  store: StoreMetricsSource | StoreLease;
  /** The regions to evaluate (the config's on an AWS table); default every region the store holds. */
  regions?: readonly string[];
  now?: () => number;
  /** Default 30 s. Refreshes never overlap: the next starts refreshMs after one ends. */
  refreshMs?: number;
  /** Catchment shares and failovers cover this much time before the evaluation end. Default 1 h. */
  catchmentWindowMs?: number;
  /** The period the dominant PoP is judged over; failovers count its changes. Default minute. */
  catchmentBucket?: RollupGranularity;
  /** PoPs kept per target and region; the rest are summed as `pop="other"`. Default 5. */
  topPops?: number;
  /** Refresh failures (warn) and, at debug, each refresh's cost. Default: JSON lines on stderr, warnings only. */
  logger?: Logger;
}

/** Opens the store for one refresh; `release` is called when the refresh has read what it needs. */
export type StoreLease = () => Promise<{ source: StoreMetricsSource; release(): Promise<void> }>;

export interface StoreMetrics {
  /** Adds the store metrics to a registry (any number of registries). */
  register(registry: Registry): void;
  /** Refreshes now (or joins the refresh under way); never rejects: a failure is counted and logged. */
  refresh(): Promise<void>;
  /** Stops refreshing and waits for a refresh under way. Does not close the store. */
  close(): Promise<void>;
}

/** Starts refreshing at once (the first refresh runs now), then every refreshMs until closed. */
export function createStoreMetrics(options: StoreMetricsOptions): StoreMetrics {
  const refreshMs = positiveOption("refreshMs", options.refreshMs, STORE_METRICS_DEFAULTS.refreshMs);
  // setTimeout fires at once beyond this, which would turn the refresh into a busy loop.
  if (refreshMs > MAX_TIMER_MS) throw new RangeError(`refreshMs must be at most ${MAX_TIMER_MS}, got ${refreshMs}`);
  const catchmentWindowMs = positiveOption("catchmentWindowMs", options.catchmentWindowMs, STORE_METRICS_DEFAULTS.catchmentWindowMs);
  const topPops = positiveOption("topPops", options.topPops, STORE_METRICS_DEFAULTS.topPops);
  if (!Number.isInteger(topPops)) throw new RangeError(`topPops must be a positive integer, got ${topPops}`);
  const now = options.now ?? Date.now;
  const logger = options.logger ?? defaultLogger();
  const log: Logger = (entry) => {
    try {
      logger(entry);
    } catch {
      // A broken log channel must not turn a counted failure into a crash.
    }
  };

  const gauges = Object.fromEntries(
    (Object.keys(STORE_METRICS) as (keyof typeof STORE_METRICS)[])
      .filter((key): key is ComputedMetric => key !== "evaluationErrors" && key !== "evaluationTimestamp")
      .map((key) => [key, gaugeOf(STORE_METRICS[key])]),
  ) as Record<ComputedMetric, Gauge>;
  const timestamp = gaugeOf(STORE_METRICS.evaluationTimestamp);
  const errors = new Counter({
    name: STORE_METRICS.evaluationErrors.name,
    help: STORE_METRICS.evaluationErrors.help,
    labelNames: STORE_METRICS.evaluationErrors.labels,
    registers: [],
  });
  for (const code of Object.keys(READ_ERROR_CODES)) errors.inc({ code }, 0);

  // Synchronous from reset to the last set: a scrape renders the old values or the new ones, never a mix.
  const publish = (samples: StoreSamples, computedAtMs: number) => {
    for (const key of Object.keys(gauges) as ComputedMetric[]) {
      const gauge = gauges[key];
      gauge.reset();
      for (const sample of samples[key]) gauge.set(sample.labels, sample.value);
    }
    timestamp.set(computedAtMs / 1000);
  };

  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const refreshOnce = async () => {
    const startedMs = now();
    try {
      const lease = typeof options.store === "function" ? await options.store() : { source: options.store, release: async () => {} };
      const read = await readStoreSamples(lease.source, {
        config: options.config,
        regions: options.regions,
        nowMs: startedMs,
        catchmentWindowMs,
        catchmentBucket: options.catchmentBucket ?? STORE_METRICS_DEFAULTS.catchmentBucket,
        topPops,
      }).finally(() => lease.release());
      publish(read.samples, startedMs);
      log({
        level: "debug",
        msg: "store metrics refreshed",
        endsAt: new Date(read.endMs).toISOString(),
        itemsRead: read.itemsRead,
        queries: read.queries,
        ms: now() - startedMs,
      });
    } catch (err) {
      const code: StoreReadErrorCode = err instanceof StoreError ? err.code : "evaluation_failed";
      errors.inc({ code });
      log({
        level: "warn",
        msg: "store metrics refresh failed; serving the previous values",
        code,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
  };

  const refresh = (): Promise<void> => {
    if (running === null) {
      running = refreshOnce().finally(() => {
        running = null;
      });
    }
    return running;
  };

  const loop = () => {
    void refresh().then(() => {
      if (!closed) {
        timer = setTimeout(loop, refreshMs);
        // The refresh must not keep a process alive whose server has stopped.
        timer.unref();
      }
    });
  };
  loop();

  return {
    register(registry) {
      for (const gauge of Object.values(gauges)) registry.registerMetric(gauge);
      registry.registerMetric(timestamp);
      registry.registerMetric(errors);
    },
    refresh,
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      await running;
    },
  };
}

/** Warnings on stderr, where an exporter run by a service manager is logged; the refreshes themselves stay quiet. */
function defaultLogger(): Logger {
  const lines = jsonLinesLogger((line) => void process.stderr.write(line));
  return (entry) => {
    if (entry.level !== "debug") lines(entry);
  };
}

function gaugeOf(spec: { name: string; help: string; labels: readonly string[] }): Gauge {
  return new Gauge({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [] });
}

function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  // A programmer's mistake in wiring, not a runtime condition: the CLI validates what users type.
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
