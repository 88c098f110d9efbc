// The one rollup read model. Every analysis that reads rollups (SLO burn
// rates, anycast alerts, the report and its charts, catchment) states what it
// needs as period ranges or spans; planRollupReads merges them into the
// fewest non-overlapping reads per granularity; an adapter (the store's
// readRollups) runs those reads once per region and fills a RollupView; each
// analysis then takes its rollups from the view. So a report that needs the
// same hour for its SLO windows, its catchment and its charts reads that item
// once.
//
// Everything here is pure: the adapter decides nothing but which range to
// send next, and asks this module for it.

import { HOUR_MS, MINUTE_MS } from "../time";
import { PERIOD_MS, type RollupGranularity } from "./period";
import type { Rollup } from "./rollup";
import { type PeriodRange, mergePeriodReads } from "./windows";

/**
 * A stretch of time to cover with the fewest items, none overlapping:
 * `finest: "hour"` takes hour items for the whole hours inside it and minute
 * items for the partial hours at either end; `finest: "minute"` takes minute
 * items only (a chart bucketed under an hour, a catchment judged per minute).
 * Hours are written once they have ended, so the trailing hours that have no
 * hour item yet are read as minutes (see fallbackReads).
 */
export interface RollupSpan {
  /** Inclusive; need not be aligned (the minute containing it is read). */
  fromMs: number;
  /** Exclusive; need not be aligned (the minute containing toMs - 1 is read). */
  toMs: number;
  finest: "minute" | "hour";
}

/** What to read per region: explicit periods (SLO and anycast windows) and spans. */
export interface RollupNeeds {
  ranges?: readonly PeriodRange[];
  spans?: readonly RollupSpan[];
}

export interface RollupReadPlan {
  /** Merged reads: per granularity, no two overlap or touch. */
  reads: PeriodRange[];
  spans: RollupSpan[];
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

interface SpanCut {
  /** Minute-aligned bounds of the span. */
  fromMs: number;
  toMs: number;
  /** Whole hours inside the span; empty (hoursFrom >= hoursTo) for a minute span or one shorter than an hour. */
  hoursFrom: number;
  hoursTo: number;
}

function cutSpan(span: RollupSpan): SpanCut {
  const fromMs = floorTo(span.fromMs, MINUTE_MS);
  const toMs = ceilTo(span.toMs, MINUTE_MS);
  if (span.finest === "minute") return { fromMs, toMs, hoursFrom: toMs, hoursTo: toMs };
  // From the unaligned bounds: an hour counts only when the span covers all of it.
  const hoursFrom = ceilTo(span.fromMs, HOUR_MS);
  const hoursTo = floorTo(span.toMs, HOUR_MS);
  return hoursFrom < hoursTo ? { fromMs, toMs, hoursFrom, hoursTo } : { fromMs, toMs, hoursFrom: toMs, hoursTo: toMs };
}

/** The periods a span takes when every hour item exists: minutes at the edges, hours between. */
export function spanPeriods(span: RollupSpan): PeriodRange[] {
  if (!(span.toMs > span.fromMs)) return [];
  const cut = cutSpan(span);
  const ranges: PeriodRange[] = [];
  const push = (granularity: RollupGranularity, fromMs: number, toMs: number) => {
    if (fromMs < toMs) ranges.push({ granularity, fromMs, toMs });
  };
  if (cut.hoursFrom >= cut.hoursTo) {
    push("minute", cut.fromMs, cut.toMs);
    return ranges;
  }
  push("minute", cut.fromMs, cut.hoursFrom);
  push("hour", cut.hoursFrom, cut.hoursTo);
  push("minute", cut.hoursTo, cut.toMs);
  return ranges;
}

export function planRollupReads(needs: RollupNeeds): RollupReadPlan {
  const spans = (needs.spans ?? []).filter((span) => span.toMs > span.fromMs);
  const ranges = [...(needs.ranges ?? []), ...spans.flatMap(spanPeriods)];
  for (const range of ranges) assertAligned(range);
  return { reads: mergePeriodReads(ranges), spans };
}

function assertAligned(range: PeriodRange): void {
  const unit = PERIOD_MS[range.granularity];
  if (!(range.fromMs < range.toMs) || range.fromMs % unit !== 0 || range.toMs % unit !== 0) {
    throw new RangeError(`read range ${range.granularity} [${range.fromMs}, ${range.toMs}) is empty or not aligned to its granularity`);
  }
}

/** Where a span's hour items end: the end of its last hour present, or its first whole hour when none is. */
function lastHourEnd(view: RollupView, region: string, cut: SpanCut): number {
  let end = cut.hoursFrom;
  for (let start = cut.hoursFrom; start < cut.hoursTo; start += HOUR_MS) if (view.has(region, "hour", start)) end = start + HOUR_MS;
  return end;
}

/**
 * The second round of reads for one region, after the plan's reads: minute
 * items of the trailing hours of each span that have no hour item yet, less
 * any minute range already read (so no item is read twice). Empty when every
 * hour was there.
 */
export function fallbackReads(plan: RollupReadPlan, view: RollupView, region: string): PeriodRange[] {
  const wanted: PeriodRange[] = [];
  for (const span of plan.spans) {
    const cut = cutSpan(span);
    if (cut.hoursFrom >= cut.hoursTo) continue;
    const end = lastHourEnd(view, region, cut);
    if (end < cut.hoursTo) wanted.push({ granularity: "minute", fromMs: end, toMs: cut.hoursTo });
  }
  const alreadyRead = plan.reads.filter((read) => read.granularity === "minute");
  return mergePeriodReads(wanted).flatMap((range) => subtractRanges(range, alreadyRead));
}

/** The parts of `range` outside every range of `minus` (all of one granularity, aligned). */
export function subtractRanges(range: PeriodRange, minus: readonly PeriodRange[]): PeriodRange[] {
  let parts: PeriodRange[] = [range];
  for (const cut of minus) {
    if (cut.granularity !== range.granularity) continue;
    parts = parts.flatMap((part) => {
      if (cut.toMs <= part.fromMs || cut.fromMs >= part.toMs) return [part];
      const pieces: PeriodRange[] = [];
      if (part.fromMs < cut.fromMs) pieces.push({ granularity: part.granularity, fromMs: part.fromMs, toMs: cut.fromMs });
      if (cut.toMs < part.toMs) pieces.push({ granularity: part.granularity, fromMs: cut.toMs, toMs: part.toMs });
      return pieces;
    });
  }
  return parts;
}

/**
 * Rollup items read for some regions: each item is every series' rollup of
 * one region and period. Items are looked up by (region, granularity, start);
 * a period absent from the store (no data) is absent here.
 */
export class RollupView {
  readonly #items = new Map<string, Map<RollupGranularity, Map<number, readonly Rollup[]>>>();
  #itemCount = 0;

  /** Records one item; a period added twice is a bug in the reader (it would count twice), so it throws. */
  add(region: string, granularity: RollupGranularity, startMs: number, rollups: readonly Rollup[]): void {
    let byGranularity = this.#items.get(region);
    if (byGranularity === undefined) {
      byGranularity = new Map();
      this.#items.set(region, byGranularity);
    }
    let byStart = byGranularity.get(granularity);
    if (byStart === undefined) {
      byStart = new Map();
      byGranularity.set(granularity, byStart);
    }
    if (byStart.has(startMs)) throw new RangeError(`rollup item ${region} ${granularity} ${new Date(startMs).toISOString()} added twice`);
    byStart.set(startMs, rollups);
    this.#itemCount++;
  }

  /** Marks a region as read even when it held no item, so regions() lists it. */
  addRegion(region: string): void {
    if (!this.#items.has(region)) this.#items.set(region, new Map());
  }

  get(region: string, granularity: RollupGranularity, startMs: number): readonly Rollup[] | undefined {
    return this.#items.get(region)?.get(granularity)?.get(startMs);
  }

  has(region: string, granularity: RollupGranularity, startMs: number): boolean {
    return this.get(region, granularity, startMs) !== undefined;
  }

  /** Regions read, sorted. */
  regions(): string[] {
    return [...this.#items.keys()].sort();
  }

  /** Items held. */
  get size(): number {
    return this.#itemCount;
  }

  /** The rollups of every item inside the ranges (which must not overlap), earliest first per range. */
  inRanges(region: string, ranges: readonly PeriodRange[]): Rollup[] {
    const rollups: Rollup[] = [];
    for (const range of ranges) {
      for (let start = range.fromMs; start < range.toMs; start += PERIOD_MS[range.granularity]) {
        const item = this.get(region, range.granularity, start);
        if (item !== undefined) rollups.push(...item);
      }
    }
    return rollups;
  }

  /** Items inside the ranges that are present (for reporting what a window used). */
  countInRanges(region: string, ranges: readonly PeriodRange[]): number {
    let count = 0;
    for (const range of ranges) {
      for (let start = range.fromMs; start < range.toMs; start += PERIOD_MS[range.granularity]) {
        if (this.has(region, range.granularity, start)) count++;
      }
    }
    return count;
  }

  /**
   * A span's rollups without overlaps: hour items for its whole hours up to
   * the last one present, minute items for the rest. The span must have been
   * part of the plan this view was read for (with its fallback reads).
   */
  span(region: string, span: RollupSpan): Rollup[] {
    if (!(span.toMs > span.fromMs)) return [];
    const cut = cutSpan(span);
    if (cut.hoursFrom >= cut.hoursTo) return this.inRanges(region, [{ granularity: "minute", fromMs: cut.fromMs, toMs: cut.toMs }]);
    const end = lastHourEnd(this, region, cut);
    const ranges: PeriodRange[] = [];
    if (cut.fromMs < cut.hoursFrom) ranges.push({ granularity: "minute", fromMs: cut.fromMs, toMs: cut.hoursFrom });
    if (cut.hoursFrom < end) ranges.push({ granularity: "hour", fromMs: cut.hoursFrom, toMs: end });
    if (end < cut.toMs) ranges.push({ granularity: "minute", fromMs: end, toMs: cut.toMs });
    return this.inRanges(region, ranges);
  }
}
