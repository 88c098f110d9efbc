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

import { MINUTE_MS } from "../time";
import { PERIOD_MS, type RollupGranularity } from "./period";
import type { Rollup } from "./rollup";
import { type PeriodRange, mergePeriodReads, periodInRanges } from "./windows";

/**
 * A stretch of time to cover with the fewest items, none overlapping: the
 * coarsest periods (up to `finest`) that lie wholly inside it, finer ones at
 * its edges: `finest: "day"` takes days for the whole days, hours for the
 * whole hours around them and minutes at the ends (catchment shares over a
 * month); `"hour"` stops at hours (a catchment judged per hour, chart buckets
 * of an hour or more); `"minute"` takes minutes only. Hours and days are
 * written once they have ended, so a trailing period without its item yet is
 * read at the next finer granularity (see fallbackReads).
 */
export interface RollupSpan {
  /** Inclusive; need not be aligned (the minute containing it is read). */
  fromMs: number;
  /** Exclusive; need not be aligned (the minute containing toMs - 1 is read). */
  toMs: number;
  finest: RollupGranularity;
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
const FINER: Readonly<Record<RollupGranularity, RollupGranularity | null>> = { day: "hour", hour: "minute", minute: null };

type Presence = (granularity: RollupGranularity, startMs: number) => boolean;

/**
 * The ranges covering [fromMs, toMs) at `granularity` and finer: whole
 * periods of `granularity` from the first inside the span up to the last one
 * present (all of them when `present` is null: the plan before any read),
 * finer ranges for the rest. Bounds stay unaligned until the minute level, so
 * a period counts only when the span covers all of it.
 */
function cover(granularity: RollupGranularity, fromMs: number, toMs: number, present: Presence | null): PeriodRange[] {
  const finer = FINER[granularity];
  if (finer === null) {
    const from = floorTo(fromMs, MINUTE_MS);
    const to = ceilTo(toMs, MINUTE_MS);
    return from < to ? [{ granularity: "minute", fromMs: from, toMs: to }] : [];
  }
  const unit = PERIOD_MS[granularity];
  const first = ceilTo(fromMs, unit);
  const last = floorTo(toMs, unit);
  if (first >= last) return cover(finer, fromMs, toMs, present);
  let end = first;
  for (let start = first; start < last; start += unit) if (present === null || present(granularity, start)) end = start + unit;
  return [
    ...cover(finer, fromMs, first, present),
    ...(first < end ? [{ granularity, fromMs: first, toMs: end }] : []),
    ...cover(finer, end, toMs, present),
  ];
}

function spanRanges(span: RollupSpan, present: Presence | null): PeriodRange[] {
  return span.toMs > span.fromMs ? cover(span.finest, span.fromMs, span.toMs, present) : [];
}

/** The periods a span takes when every item exists: the coarsest inside, finer at the edges. */
export function spanPeriods(span: RollupSpan): PeriodRange[] {
  return spanRanges(span, null);
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

/**
 * The next round of reads for one region: what the spans need, given the
 * items found so far (finer periods for trailing hours and days not rolled up
 * yet), less every range already read, so no item is read twice. Empty once
 * the spans are covered; each round can only go one granularity finer, so a
 * reader needs at most two rounds after the plan's reads.
 */
export function fallbackReads(plan: RollupReadPlan, view: RollupView, region: string): PeriodRange[] {
  // A period not read yet may exist: read it before falling back to finer ones.
  const read = view.readRanges(region);
  const present: Presence = (granularity, startMs) => view.has(region, granularity, startMs) || !periodInRanges(granularity, startMs, read);
  const wanted = mergePeriodReads(plan.spans.flatMap((span) => spanRanges(span, present)));
  return wanted.flatMap((range) => subtractRanges(range, read));
}
/** The parts of `range` outside every range of `minus` (aligned; ranges of other granularities are ignored). */
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
  readonly #read = new Map<string, PeriodRange[]>();
  #itemCount = 0;

  /** Records that a range was read for a region (its items, if any, are added separately). */
  markRead(region: string, range: PeriodRange): void {
    this.addRegion(region);
    const ranges = this.#read.get(region) ?? [];
    ranges.push({ ...range });
    this.#read.set(region, ranges);
  }

  /** Ranges read for a region so far, merged. */
  readRanges(region: string): PeriodRange[] {
    return mergePeriodReads(this.#read.get(region) ?? []);
  }

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
   * A span's rollups without overlaps: the coarsest items present, finer ones
   * for the rest (see RollupSpan). The span must have been part of the plan
   * this view was read for, with its fallback reads.
   */
  span(region: string, span: RollupSpan): Rollup[] {
    return this.inRanges(
      region,
      spanRanges(span, (granularity, startMs) => this.has(region, granularity, startMs)),
    );
  }
}
