// Anycast conditions as alert observations, so that catchment shifts,
// flapping and detours go through the same lifecycle as SLO burn alerts
// (dedupe, hysteresis, maintenance windows, quorum, renotify, delivery).
//
// Everything is judged from rollups: the evaluator runs every minute, and a
// region's rollup items already hold every series, so the last 25 hours cost
// at most 24 hour items and 119 minute items per region (anycastReadRanges),
// most of which the SLO windows read anyway. Raw results would cost one item
// per probe round.
//
// Each (condition, target) is one alert (an AlertKey of kind "anycast", named
// `anycast:<condition>:<target>`, see ./key.ts) with the region as its scope.
// SLO names cannot contain ':', so these names never collide with an SLO's in
// the state table, maintenance windows (`slos`) or quorum; a window's
// `regions` applies to them as to SLO scopes.
//
// Windows, all ending at the evaluation's end (a minute boundary):
// - recent: the last hour, from minute rollups;
// - baseline: the 24 h (and up to 59 min) before it, from hour rollups and
//   the minutes of the partial hour;
// - short: the last 15 minutes (catchment shift, flapping) or the last hour
//   (detour). A firing alert resolves only once its condition is gone from the
//   short window, as an SLO alert waits for a clean short window.
// A (target, region) with fewer than `minEvents` identified answers in a
// window it needs is held back: its alert neither fires nor resolves.
import { type Catchment, catchment } from "../analytics/catchment";
import type { AnalyticsConfig } from "../analytics/config";
import { detourAudit } from "../analytics/detour";
import type { MissingLocation } from "../analytics/locate";
import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import { type PopCatalogue, createPopCatalogue } from "../geo/catalogue";
import type { GeoPoint } from "../geo/types";
import { PERIOD_MS, periodStartMs } from "../rollup/period";
import { type Rollup, rollupPeriod } from "../rollup/rollup";
import { type PeriodRange, periodInRanges } from "../rollup/windows";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../time";
import { encodeAlertKey } from "./key";
import type { AlertObservation, AlertSeverity, AnycastAlertDetail, AnycastCondition, RollupAnycastCondition } from "./schema";

/** The window each condition is judged over (the rule's long window). */
export const ANYCAST_RECENT_MS = HOUR_MS;
/** What the last hour's catchment is compared with. */
export const ANYCAST_BASELINE_MS = DAY_MS;
/** The window a condition must be gone from before its alert resolves. */
export const ANYCAST_SHORT_WINDOW_MS: Readonly<Record<RollupAnycastCondition, number>> = {
  "catchment-shift": 15 * MINUTE_MS,
  flapping: 15 * MINUTE_MS,
  detour: HOUR_MS,
};
/**
 * A shift needs a majority on both sides: the baseline's dominant PoP answered
 * more than half of the baseline, the new one more than half of the last
 * hour. A region split between PoPs (ECMP, a PoP draining) changes its
 * plurality PoP by chance; that is noise, not a shift.
 */
export const CATCHMENT_SHIFT_MIN_SHARE = 0.5;

const SEVERITY_OF: Readonly<Record<Exclude<RollupAnycastCondition, "flapping">, AlertSeverity>> = {
  "catchment-shift": "ticket",
  detour: "ticket",
};

/** Severity each condition alerts with under this config; conditions turned off are absent. */
export function anycastAlertSeverities(config: Pick<AnalyticsConfig, "alerts">): Partial<Record<AnycastCondition, AlertSeverity>> {
  const { alerts } = config;
  const severities: Partial<Record<AnycastCondition, AlertSeverity>> = {};
  if (alerts.catchmentShift) severities["catchment-shift"] = SEVERITY_OF["catchment-shift"];
  if (alerts.flapping !== false) severities.flapping = alerts.flapping === true ? "page" : alerts.flapping;
  if (alerts.detour) severities.detour = SEVERITY_OF.detour;
  // The fast routing conditions (./fast-routing.ts): a PoP change is a ticket by default, an outage a page.
  if (alerts.popChange !== false) severities["pop-change"] = alerts.popChange === true ? "ticket" : alerts.popChange;
  if (alerts.outage !== false) severities.outage = alerts.outage === true ? "page" : alerts.outage;
  return severities;
}

/**
 * The rollup items to read per region for an evaluation ending at `endMs`:
 * hour items for the 24 whole hours before the hour the recent window starts
 * in, minute items from that hour's start to `endMs` (60 to 119 items). The
 * baseline thus spans 24 h plus the minutes of that partial hour.
 */
export function anycastReadRanges(endMs: number): PeriodRange[] {
  const minutesFromMs = anycastMinutesFromMs(endMs);
  return [
    { granularity: "hour", fromMs: minutesFromMs - ANYCAST_BASELINE_MS, toMs: minutesFromMs },
    { granularity: "minute", fromMs: minutesFromMs, toMs: endMs },
  ];
}

function anycastMinutesFromMs(endMs: number): number {
  if (!Number.isInteger(endMs) || endMs % MINUTE_MS !== 0) {
    throw new PopwatchCoreError("alert_input_invalid", `anycast evaluation end ${endMs} is not a minute boundary`);
  }
  return Math.floor((endMs - ANYCAST_RECENT_MS) / HOUR_MS) * HOUR_MS;
}

export interface AnycastAlertInput {
  /** Windows end here: a minute boundary up to which rollups are complete. */
  endMs: number;
  /** The regions' rollups of anycastReadRanges(endMs); any others (other targets, regions, granularities or periods) are ignored. */
  rollups: readonly Rollup[];
  /** Configured target names. */
  targets: readonly string[];
  /** The regions (alert scopes) to judge. */
  regions: readonly string[];
  analytics: Pick<AnalyticsConfig, "flapChangesPerHour" | "detourKm" | "alerts">;
  /** PoP locations for detours; default the built-in airports. */
  catalogue?: PopCatalogue;
  /** Locations of regions not in the AWS table (local runs). */
  regionLocations?: Readonly<Record<string, GeoPoint>>;
}

export interface AnycastAlertEvaluation {
  /** One per enabled condition, target and region, sorted by alert name then region. */
  observations: AlertObservation[];
  /** Regions and PoPs a detour could not be judged for, for lack of a location: reported, never alerted on. */
  missing: MissingLocation[];
}

interface Placed {
  rollup: Rollup;
  startMs: number;
  endMs: number;
}

/**
 * Observations of every enabled anycast condition for each (target, region).
 * Pure: the windows follow from `endMs`. Throws PopwatchCoreError
 * (`alert_input_invalid`) when `endMs` is not a minute boundary, and
 * (`analytics_input_invalid`) for overlapping rollups of one series.
 */
export function anycastAlertObservations(input: AnycastAlertInput): AnycastAlertEvaluation {
  const { endMs, analytics } = input;
  const minEvents = analytics.alerts.minEvents;
  const recentFromMs = endMs - ANYCAST_RECENT_MS;
  const ranges = anycastReadRanges(endMs);
  const baselineFromMs = ranges[0]!.fromMs;
  const severities = anycastAlertSeverities(analytics);
  const targets = new Set(input.targets);
  const regions = new Set(input.regions);

  const placed: Placed[] = [];
  for (const rollup of input.rollups) {
    if (!targets.has(rollup.target) || !regions.has(rollup.region)) continue;
    const startMs = periodStartMs(rollup.granularity, rollupPeriod(rollup));
    // Only the granularity each range is read at: an hour also given as minutes would count twice.
    if (startMs === null || !periodInRanges(rollup.granularity, startMs, ranges)) continue;
    placed.push({ rollup, startMs, endMs: startMs + PERIOD_MS[rollup.granularity] });
  }
  placed.sort((a, b) => a.startMs - b.startMs);
  const within = (fromMs: number, toMs: number) => placed.filter((p) => p.startMs >= fromMs && p.endMs <= toMs).map((p) => p.rollup);
  // A "day" bucket: one catchment over each whole window (they are at most 25 h long).
  const catchmentsOf = (fromMs: number, toMs: number) => byCell(catchment(within(fromMs, toMs), { bucket: "day" }));
  const baseline = catchmentsOf(baselineFromMs, recentFromMs);
  const recent = catchmentsOf(recentFromMs, endMs);
  const shortShift = catchmentsOf(endMs - ANYCAST_SHORT_WINDOW_MS["catchment-shift"], endMs);

  const observations: AlertObservation[] = [];
  const observe = (condition: RollupAnycastCondition, target: string, region: string, judged: Judged, detail: AnycastAlertDetail) => {
    const severity = severities[condition]!;
    const heldBack = judged.heldBack;
    observations.push({
      ...encodeAlertKey({ kind: "anycast", condition, target, scope: region, severity }),
      burning: !heldBack && judged.burning,
      shortWindowClean: judged.shortWindowClean,
      heldBack,
      burnRates: {},
      budgetRemaining: null,
      // Anycast conditions hold or not: no burn-rate factor to reach (the thresholds are in `anycast`).
      rule: { long: windowLabel(ANYCAST_RECENT_MS), short: windowLabel(ANYCAST_SHORT_WINDOW_MS[condition]), factor: 1 },
      anycast: detail,
    });
  };

  const cells = [...targets]
    .sort(compareStrings)
    .flatMap((target) => [...regions].sort(compareStrings).map((region) => ({ target, region })));

  if (severities["catchment-shift"] !== undefined) {
    for (const { target, region } of cells) {
      const key = cellKey(target, region);
      const before = dominance(baseline.get(key));
      const after = dominance(recent.get(key));
      const now = dominance(shortShift.get(key));
      const heldBack = before.events < minEvents || after.events < minEvents;
      const burning =
        before.pop !== null &&
        after.pop !== null &&
        after.pop !== before.pop &&
        before.share! > CATCHMENT_SHIFT_MIN_SHARE &&
        after.share! > CATCHMENT_SHIFT_MIN_SHARE;
      observe(
        "catchment-shift",
        target,
        region,
        { burning, heldBack, shortWindowClean: now.pop === null || now.pop === before.pop },
        {
          condition: "catchment-shift",
          target,
          before: before.pop,
          beforeShare: before.share,
          after: after.pop,
          afterShare: after.share,
          baselineEvents: before.events,
          recentEvents: after.events,
        },
      );
    }
  }

  if (severities.flapping !== undefined) {
    const series = new Map<string, Placed[]>();
    for (const p of placed) {
      const key = cellKey(p.rollup.target, p.rollup.region);
      const list = series.get(key);
      if (list === undefined) series.set(key, [p]);
      else list.push(p);
    }
    const threshold = analytics.flapChangesPerHour;
    for (const { target, region } of cells) {
      const key = cellKey(target, region);
      const events = dominance(recent.get(key)).events;
      const worst = worstSeries(series.get(key) ?? [], recentFromMs, endMs);
      const short = worstSeries(series.get(key) ?? [], endMs - ANYCAST_SHORT_WINDOW_MS.flapping, endMs);
      observe(
        "flapping",
        target,
        region,
        { burning: worst.changes >= threshold, heldBack: events < minEvents, shortWindowClean: short.changes === 0 },
        {
          condition: "flapping",
          target,
          changesPerHour: worst.changes,
          kind: worst.kind,
          threshold,
          shortWindowChanges: short.changes,
          recentEvents: events,
        },
      );
    }
  }

  let missing: MissingLocation[] = [];
  if (severities.detour !== undefined) {
    const catalogue = input.catalogue ?? createPopCatalogue();
    // The PoPs a target is known to have: any that answered any region in the 25 h read, and the operator's own sites.
    const known = new Map<string, Set<string>>();
    for (const c of [...baseline.values(), ...recent.values()]) {
      let pops = known.get(c.target);
      if (pops === undefined) {
        pops = new Set(catalogue.operatorIds);
        known.set(c.target, pops);
      }
      for (const pop of Object.keys(c.counts)) pops.add(pop);
    }
    const candidates = Object.fromEntries([...known].map(([target, pops]) => [target, [...pops].sort(compareStrings)]));
    const served = [...recent.values()];
    const audit = detourAudit(served, {
      catalogue,
      detourKm: analytics.detourKm,
      candidates,
      ...(input.regionLocations === undefined ? {} : { regionLocations: input.regionLocations }),
    });
    missing = audit.missing;
    for (const { target, region } of cells) {
      const here = recent.get(cellKey(target, region));
      const serving = dominance(here);
      const item =
        serving.pop === null ? undefined : audit.items.find((i) => i.target === target && i.region === region && i.pop === serving.pop);
      const burning = item?.reasons.includes("distance") === true;
      observe(
        "detour",
        target,
        region,
        // An unlocatable region or PoP cannot be judged either way: reported in `missing`, the status stands.
        { burning, heldBack: serving.events < minEvents || item === undefined, shortWindowClean: !burning },
        {
          condition: "detour",
          target,
          pop: serving.pop,
          nearestPop: item?.nearestPop ?? null,
          distanceKm: item?.distanceKm ?? null,
          nearestKm: item?.nearestKm ?? null,
          excessKm: item?.excessKm ?? null,
          detourKm: analytics.detourKm,
          recentEvents: serving.events,
        },
      );
    }
  }

  observations.sort((a, b) => compareStrings(a.slo, b.slo) || compareStrings(a.scope, b.scope));
  return { observations, missing };
}

interface Judged {
  burning: boolean;
  heldBack: boolean;
  shortWindowClean: boolean;
}

function cellKey(target: string, region: string): string {
  return JSON.stringify([target, region]);
}

function byCell(catchments: readonly Catchment[]): Map<string, Catchment> {
  return new Map(catchments.map((c) => [cellKey(c.target, c.region), c]));
}

function dominance(c: Catchment | undefined): { pop: string | null; share: number | null; events: number } {
  if (c === undefined || c.dominant === null) return { pop: null, share: null, events: c?.total ?? 0 };
  return { pop: c.dominant, share: c.shares[c.dominant] ?? 0, events: c.total };
}

/**
 * Answering-PoP changes within [fromMs, toMs) of the probe kind that changed
 * most. Counted as popChangesPerHour counts them: each rollup's own changes,
 * plus one wherever its first PoP differs from the last PoP identified before
 * it, including the rollup just before the window (the change shows in the
 * window's first answer). `placed` is in time order.
 */
function worstSeries(placed: readonly Placed[], fromMs: number, toMs: number): { changes: number; kind: string | null } {
  const byKind = new Map<string, { last: string | null; changes: number }>();
  for (const { rollup, startMs, endMs } of placed) {
    if (startMs >= toMs) break;
    let chain = byKind.get(rollup.kind);
    if (chain === undefined) {
      chain = { last: null, changes: 0 };
      byKind.set(rollup.kind, chain);
    }
    const inside = startMs >= fromMs && endMs <= toMs;
    if (!inside && endMs > fromMs) continue;
    if (inside) {
      chain.changes += rollup.popChanges;
      if (rollup.firstPop !== null && chain.last !== null && chain.last !== rollup.firstPop) chain.changes++;
    }
    if (rollup.lastPop !== null) chain.last = rollup.lastPop;
  }
  let worst: { changes: number; kind: string | null } = { changes: 0, kind: null };
  for (const kind of [...byKind.keys()].sort(compareStrings)) {
    const { changes } = byKind.get(kind)!;
    if (changes > worst.changes) worst = { changes, kind };
  }
  return worst;
}

function windowLabel(ms: number): string {
  return ms % HOUR_MS === 0 ? `${ms / HOUR_MS}h` : `${ms / MINUTE_MS}m`;
}
