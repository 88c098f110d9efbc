// The comparison e2e.test.ts and bench/lab-convergence.ts make between
// popwatch's record of a route change and the router's, checked on simulated
// probing (no root, no lab): an ideal prober sampling a known fault and route
// change once a round must always pass it, whatever the phase, and a record
// stamped a round late must always fail it.

import type { RegionalResult } from "@popwatch/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Episode, SLOT_SKEW_MS, changeTiming, recordOf, stats, timingProblems } from "./convergence";
import type { LabEvent } from "./lab";
import type { RouteChange } from "./truth";

const ROUND_MS = 1_000;
const T0 = Date.parse("2026-11-22T12:00:00.000Z");

/** What a prober on one-second rounds records around a fault at `faultMs` and a route change `truthMs` later. */
function probeAround(faultMs: number, truthMs: number, brokenAtFault: boolean, stampLateMs = 0): RegionalResult[] {
  const changeMs = faultMs + truthMs;
  const first = Math.floor(faultMs / ROUND_MS) * ROUND_MS - 4 * ROUND_MS;
  const results: RegionalResult[] = [];
  for (let slot = first; slot <= changeMs + 4 * ROUND_MS; slot += ROUND_MS) {
    const pop = slot < faultMs ? "pop-a" : slot < changeMs ? (brokenAtFault ? null : "pop-a") : "pop-b";
    const stamp = new Date(slot + stampLateMs).toISOString();
    results.push({
      kind: "dns",
      target: "203.0.113.53:53",
      name: "lab-anycast",
      address: "203.0.113.53",
      port: 53,
      ok: pop !== null,
      startedAt: stamp,
      slotAt: stamp,
      region: "lab",
      timings: { totalMs: 1 },
      pop: pop === null ? null : { id: pop, source: "nsid", raw: pop, iata: null },
      failure: pop === null ? { code: "timeout", message: "no answer" } : null,
    } as unknown as RegionalResult);
  }
  return results;
}

function event(atMs: number): LabEvent {
  return { event: "fail", pop: "pop-a", mode: "dns-stop", at: new Date(atMs).toISOString(), atMs };
}

function change(atMs: number): RouteChange {
  return {
    at: new Date(atMs).toISOString(),
    atMs,
    prefix: "203.0.113.53/32",
    event: "change",
    pop: "pop-b",
    nextHop: "198.51.100.10",
    dev: "r-pop-b",
    previousPop: "pop-a",
  };
}

function episodeOf(faultMs: number, truthMs: number): Episode {
  return {
    mode: "dns-stop",
    pop: "pop-a",
    fault: event(faultMs),
    away: change(faultMs + truthMs),
    heal: { ...event(faultMs + truthMs + 10_000), event: "heal" },
    back: null,
    fromMs: faultMs - 10 * ROUND_MS,
    toMs: faultMs + truthMs + 10 * ROUND_MS,
  };
}

const scenario = fc.record({
  // Anywhere in a round, to the microsecond, as the router stamps it.
  faultMs: fc.double({ min: T0, max: T0 + ROUND_MS, noNaN: true }),
  truthMs: fc.double({ min: 0.001, max: 5_000, noNaN: true }),
  brokenAtFault: fc.boolean(),
});

describe("popwatch's bracket of a route change against the router's", () => {
  it("holds for every fault phase and convergence time when popwatch samples exactly once a round", () => {
    fc.assert(
      fc.property(scenario, ({ faultMs, truthMs, brokenAtFault }) => {
        const episode = episodeOf(faultMs, truthMs);
        const record = recordOf(episode, probeAround(faultMs, truthMs, brokenAtFault), "dns");
        expect(record.failovers).toHaveLength(1);
        const timing = changeTiming(record.away!, episode.fault, episode.away!);
        expect(timingProblems(timing, ROUND_MS, brokenAtFault)).toEqual([]);
        // popwatch's convergence is an upper bound on the router's, less than two rounds above it.
        if (brokenAtFault) {
          expect(timing.convergenceMs).toBeGreaterThanOrEqual(truthMs);
          expect(timing.convergenceMs - truthMs).toBeLessThan(2 * ROUND_MS);
        } else {
          expect(timing.failedSamples).toBe(0);
          expect(timing.convergenceMs).toBe(ROUND_MS);
        }
      }),
    );
  });

  it("fails for a record stamped a round or more late", () => {
    fc.assert(
      fc.property(
        scenario,
        fc.double({ min: ROUND_MS + SLOT_SKEW_MS, max: 5 * ROUND_MS, noNaN: true }),
        ({ faultMs, truthMs, brokenAtFault }, lateMs) => {
          const episode = episodeOf(faultMs, truthMs);
          const record = recordOf(episode, probeAround(faultMs, truthMs, brokenAtFault, lateMs), "dns");
          const timing = changeTiming(record.away!, episode.fault, episode.away!);
          expect(timingProblems(timing, ROUND_MS, brokenAtFault)).not.toEqual([]);
        },
      ),
    );
  });

  it("measures the outage to within a round of the router when a probe lands between the fault and the change", () => {
    // Fault 30 ms before a round, route change 100 ms later: the round's probe fails.
    const faultMs = T0 + 5 * ROUND_MS - 30;
    const episode = episodeOf(faultMs, 100);
    const record = recordOf(episode, probeAround(faultMs, 100, true), "dns");
    const timing = changeTiming(record.away!, episode.fault, episode.away!);
    expect(timing).toMatchObject({ convergenceMs: 2 * ROUND_MS, outageMs: ROUND_MS, failedSamples: 1, resolutionMs: ROUND_MS });
    expect(timingProblems(timing, ROUND_MS, true)).toEqual([]);
    expect(record.failed).toBe(1);
  });
});

describe("stats", () => {
  it("gives the lower middle value as the median, and the extremes", () => {
    expect(stats([5, 1, 4, 2])).toEqual({ n: 4, median: 2, min: 1, max: 5 });
    expect(stats([3])).toEqual({ n: 1, median: 3, min: 3, max: 3 });
    expect(stats([])).toBeNull();
  });
});
