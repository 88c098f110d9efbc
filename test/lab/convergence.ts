// Fault episodes on the lab and how popwatch's record of them lines up with
// the router's. An episode: the preferred PoP is failed while `popwatch run`
// probes from the client, traffic settles elsewhere, the PoP is healed and
// traffic settles back. The router's truth log says when its forwarding
// changed; core's analyzeFailovers, over the results popwatch stored, says
// what the client saw. Shared by e2e.test.ts and bench/lab-convergence.ts.
import { type Blip, type Failover, type Outage, type ProbeKind, type RegionalResult, analyzeFailovers } from "@popwatch/core";
import { sleep } from "../support/daemons";
import { LabError } from "./errors";
import type { FailureMode, Lab, LabEvent } from "./lab";
import { type PopwatchRun, ROUND_INTERVAL_MS } from "./popwatch-run";
import type { AnycastFamily, PopName } from "./topology";
import type { RouteChange } from "./truth";

/**
 * Results are filed under their round's scheduled slot; the probe itself goes
 * out a few milliseconds later (the first round of a fresh run tens of
 * milliseconds later). Comparisons of slot times with the router's
 * microsecond stamps allow this much.
 */
export const SLOT_SKEW_MS = 250;

/** The probe kinds whose answers name a PoP in the lab (NSID/CHAOS, X-Served-By); tcp and tls carry no PoP. */
export const POP_KINDS = ["dns", "http"] as const satisfies readonly ProbeKind[];

/**
 * Whether `mode` breaks the PoP's answers of `kind` at the moment of the
 * fault. If so the client fails from the fault until the route moves; if not,
 * the old PoP keeps answering until the router moves traffic away (a BGP
 * speaker killed or frozen, nginx while only DNS stopped).
 */
export function breaksAtFault(mode: FailureMode, kind: ProbeKind): boolean {
  switch (mode) {
    case "link-down":
      return true;
    case "dns-stop":
    case "blackhole":
      return kind === "dns";
    case "bgp-kill":
    case "bgp-freeze":
      return false;
  }
}

export interface Episode {
  mode: FailureMode;
  pop: PopName;
  fault: LabEvent;
  /** The router's first change away from the PoP; null for a black hole, which keeps the route. */
  away: RouteChange | null;
  heal: LabEvent;
  /** The router's change back to the PoP after healing; null when it never left. */
  back: RouteChange | null;
  /** The window of results that holds the episode, with stable runs on either side. */
  fromMs: number;
  toMs: number;
}

export interface EpisodeOptions {
  /** Rounds popwatch must log before the fault, after the route moves and after it moves back. Default 3 (2 make a run stable). */
  settleRounds?: number;
  /** How long a black hole lasts. Default 5 s. */
  blackholeMs?: number;
  /** How long the router may take to move. Default 15 s (a frozen speaker takes its hold time). */
  routeTimeoutMs?: number;
  /**
   * Inject the fault this many ms after a round's slot (rounds start on whole
   * multiples of `roundIntervalMs`). Default: as soon as the settling rounds
   * are logged, which is always early in a round. Where the fault falls in
   * the round decides whether a probe lands between the fault and the route
   * change.
   */
  faultPhaseMs?: number;
  /** Default ROUND_INTERVAL_MS. */
  roundIntervalMs?: number;
  /** Whose route change to wait for: the IPv4 anycast address's (default) or the IPv6 one's (truth6.jsonl). */
  family?: AnycastFamily;
}

/** Fails `pop` with `mode` under a running popwatch, waits for the router and popwatch to settle, heals it, and waits again. */
export async function runEpisode(
  lab: Lab,
  run: PopwatchRun,
  pop: PopName,
  mode: FailureMode,
  options: EpisodeOptions = {},
): Promise<Episode> {
  const settle = options.settleRounds ?? 3;
  const routeTimeoutMs = options.routeTimeoutMs ?? 15_000;
  const fromMs = Date.now();
  await run.waitForRounds(settle, { afterMs: fromMs });
  if (options.faultPhaseMs !== undefined) {
    const intervalMs = options.roundIntervalMs ?? ROUND_INTERVAL_MS;
    const now = Date.now();
    let at = Math.floor(now / intervalMs) * intervalMs + options.faultPhaseMs;
    while (at <= now) at += intervalMs;
    await sleep(at - now);
  }
  const fault = await lab.fail(pop, mode);
  let away: RouteChange | null = null;
  if (mode === "blackhole") {
    await sleep(options.blackholeMs ?? 5_000);
  } else {
    // To another PoP: FRR replaces an IPv6 route by deleting it and adding the new one, so the
    // kernel shows about 0.1 ms without a route first (with three PoPs there is always another).
    away = await lab.waitForChange((c) => c.pop !== pop && c.pop !== null, {
      afterMs: fault.atMs,
      timeoutMs: routeTimeoutMs,
      family: options.family,
    });
    if (away === null) throw new LabError("not_ready", `${mode} at ${pop}: the router did not move within ${routeTimeoutMs} ms`);
    await run.waitForRounds(settle, { afterMs: away.atMs });
  }
  const heal = await lab.heal(pop);
  let back: RouteChange | null = null;
  if (away !== null) {
    back = await lab.waitForChange((c) => c.pop === pop, { afterMs: heal.atMs, timeoutMs: routeTimeoutMs, family: options.family });
    if (back === null)
      throw new LabError("not_ready", `${mode} at ${pop}: the router did not return within ${routeTimeoutMs} ms of the heal`);
  }
  await run.waitForRounds(settle, { afterMs: back?.atMs ?? heal.atMs });
  return { mode, pop, fault, away, heal, back, fromMs, toMs: Date.now() };
}

/** What popwatch recorded for one probe kind within an episode's window. */
export interface KindRecord {
  kind: ProbeKind;
  failovers: Failover[];
  outages: Outage[];
  blips: Blip[];
  /** The failover away from the episode's PoP, and the one back to it. */
  away: Failover | null;
  back: Failover | null;
  /** Failed results of this kind in the window. */
  failed: number;
  /** Results of this kind in the window. */
  samples: number;
}

export function recordOf(episode: Episode, results: readonly RegionalResult[], kind: ProbeKind): KindRecord {
  const ofKind = results.filter((r) => r.kind === kind);
  const analysis = analyzeFailovers(ofKind, { window: { from: episode.fromMs, to: episode.toMs } });
  const inWindow = ofKind.filter((r) => {
    const ms = Date.parse(r.slotAt ?? r.startedAt);
    return ms >= episode.fromMs && ms < episode.toMs;
  });
  return {
    kind,
    failovers: analysis.failovers,
    outages: analysis.outages,
    blips: analysis.blips,
    away: analysis.failovers.find((f) => f.from === episode.pop) ?? null,
    back: analysis.failovers.find((f) => f.to === episode.pop) ?? null,
    failed: inWindow.filter((r) => !r.ok).length,
    samples: inWindow.length,
  };
}

/** One route change as popwatch bracketed it, next to the router's stamp. Milliseconds. */
export interface ChangeTiming {
  /** Router: from the fault (or heal) to its route change. */
  truthMs: number;
  /** popwatch: last answer from the old PoP to first from the new (Failover.convergenceMs). */
  convergenceMs: number;
  resolutionMs: number;
  /** popwatch: first failure to first success after; null when nothing failed. */
  outageMs: number | null;
  failedSamples: number;
  /** The fault (or heal) after popwatch's last answer from the old PoP. */
  triggerAfterLastGoodMs: number;
  /** The route change after popwatch's last answer from the old PoP. */
  changeAfterLastGoodMs: number;
  /** popwatch's first answer from the new PoP after the route change. */
  firstGoodAfterChangeMs: number;
}

export function changeTiming(failover: Failover, trigger: LabEvent, change: RouteChange): ChangeTiming {
  const lastGoodMs = Date.parse(failover.lastGoodFromAt);
  const firstGoodMs = Date.parse(failover.firstGoodToAt);
  return {
    truthMs: change.atMs - trigger.atMs,
    convergenceMs: failover.convergenceMs,
    resolutionMs: failover.resolutionMs,
    outageMs: failover.outageMs,
    failedSamples: failover.failedSamples,
    triggerAfterLastGoodMs: trigger.atMs - lastGoodMs,
    changeAfterLastGoodMs: change.atMs - lastGoodMs,
    firstGoodAfterChangeMs: firstGoodMs - change.atMs,
  };
}

/**
 * Where popwatch's bracket of a route change disagrees with the router, for
 * probing every `intervalMs`; empty when it agrees. popwatch can only place
 * an event between two rounds, so each end of its bracket is checked to
 * within one interval (plus SLOT_SKEW_MS):
 * - the router's change lies between popwatch's last answer from the old PoP
 *   and its first from the new one, and that first answer came within one
 *   round of the change;
 * - `brokenAtTrigger` (the old PoP stopped answering at the fault): popwatch's
 *   last answer from it came within one round before the fault, so
 *   convergenceMs exceeds the router's time by less than two rounds, and a
 *   measured outage is within one round of it;
 * - otherwise the old PoP answered until the route moved: its last answer
 *   came within one round before the change.
 */
export function timingProblems(timing: ChangeTiming, intervalMs: number, brokenAtTrigger: boolean): string[] {
  const problems: string[] = [];
  const round = intervalMs + SLOT_SKEW_MS;
  const within = (name: string, value: number, low: number, high: number) => {
    if (!(value >= low && value < high)) problems.push(`${name} ${value.toFixed(1)} ms outside [${low}, ${high})`);
  };
  within("changeAfterLastGoodMs", timing.changeAfterLastGoodMs, -SLOT_SKEW_MS, brokenAtTrigger ? Number.POSITIVE_INFINITY : round);
  within("firstGoodAfterChangeMs", timing.firstGoodAfterChangeMs, -SLOT_SKEW_MS, round);
  if (brokenAtTrigger) {
    within("triggerAfterLastGoodMs", timing.triggerAfterLastGoodMs, -SLOT_SKEW_MS, round);
    within("convergenceMs - truthMs", timing.convergenceMs - timing.truthMs, -2 * SLOT_SKEW_MS, 2 * round);
    if (timing.outageMs !== null) within("|outageMs - truthMs|", Math.abs(timing.outageMs - timing.truthMs), 0, round);
  }
  return problems;
}

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
}

/** Median (the lower middle of an even count), min and max; null for no values. */
export function stats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, median: sorted[Math.floor((sorted.length - 1) / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
}
