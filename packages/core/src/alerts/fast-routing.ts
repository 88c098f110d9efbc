// Fast routing alerts: what one probing round of a region says about each
// target compared with the rounds just before it, as observations for the
// alert lifecycle. The probe judges them right after writing a round, so a
// PoP change or an outage reaches the sinks within the round instead of after
// the evaluator's next minute (the evaluator never observes these keys).
//
// Both are anycast alerts (`anycast:pop-change:<target>`,
// `anycast:outage:<target>`, the region as scope), so dedupe, maintenance
// windows, region quorum and the outbox's exactly-once delivery apply as to
// every other alert:
// - outage fires with the first round in which every probe of the target
//   failed in the region, after a round in which it was seen at all, and
//   resolves with the first round in which one succeeds again;
// - pop-change fires with the round whose PoP differs from the last one
//   identified before it, and resolves once the new PoP has answered
//   failoverMinStableSamples rounds in a row. Changes while it fires fold into
//   the same episode (its resolve names the PoP it settled on); the flapping
//   alert is the one that counts them.
//
// The PoP of a target in a round is the one most probe kinds identified (each
// kind's own PoP being the one most of its probes identified). A tie keeps
// the previous round's PoP when it is among the tied ones, else the round has
// no PoP: kinds disagreeing never makes a change on its own.

import type { AnalyticsConfig } from "../analytics/config";
import type { RegionalResult } from "../analytics/input";
import { compareStrings } from "../compare";
import { PopwatchCoreError } from "../errors";
import { toEpochMs } from "../rollup/period";
import { resultSeriesTarget, resultTime } from "../rollup/rollup";
import { anycastAlertSeverities } from "./anycast";
import { encodeAlertKey } from "./key";
import type { AlertObservation, AlertSeverity, AnycastAlertDetail, FastRoutingCondition } from "./schema";

/** What one round showed of one target in one region. */
export interface RoundTargetOutcome {
  /** Probes of the target in the round, and how many succeeded. */
  probes: number;
  ok: number;
  /** The PoP each probe kind identified (the one most of its probes identified; ties by id). */
  kinds: Record<string, string>;
  /** Distinct failure codes of the round, sorted. */
  failures: string[];
}

/** One round of one region: what fast routing keeps of it (a few bytes per target). */
export interface RoundOutcome {
  region: string;
  /** The round's scheduled slot, epoch ms. */
  slotMs: number;
  /** By target name. */
  targets: Record<string, RoundTargetOutcome>;
}

/** Severity of each fast routing condition under this config; conditions turned off are absent. */
export function fastRoutingSeverities(config: Pick<AnalyticsConfig, "alerts">): Partial<Record<FastRoutingCondition, AlertSeverity>> {
  const all = anycastAlertSeverities(config);
  const severities: Partial<Record<FastRoutingCondition, AlertSeverity>> = {};
  if (all["pop-change"] !== undefined) severities["pop-change"] = all["pop-change"];
  if (all.outage !== undefined) severities.outage = all.outage;
  return severities;
}

/** Earlier rounds fastRoutingObservations needs besides the current one. */
export function fastRoutingHistoryRounds(config: Pick<AnalyticsConfig, "failoverMinStableSamples">): number {
  return Math.max(1, config.failoverMinStableSamples);
}

/**
 * The rounds in `results`, of one region, by slot (slotAt, else startedAt),
 * oldest first. Results of other regions or without a valid time are ignored.
 */
export function roundOutcomes(region: string, results: readonly RegionalResult[]): RoundOutcome[] {
  const bySlot = new Map<number, RegionalResult[]>();
  for (const result of results) {
    if (result.region !== region) continue;
    const ms = toEpochMs(resultTime(result));
    if (ms === null) continue;
    const list = bySlot.get(ms);
    if (list === undefined) bySlot.set(ms, [result]);
    else list.push(result);
  }
  return [...bySlot.entries()].sort(([a], [b]) => a - b).map(([slotMs, round]) => roundOutcome(region, slotMs, round));
}

/** One round's results (all of one region and slot) reduced to what fast routing compares. */
export function roundOutcome(region: string, slotMs: number, results: readonly RegionalResult[]): RoundOutcome {
  const byTarget = new Map<string, { probes: number; ok: number; votes: Map<string, Map<string, number>>; failures: Set<string> }>();
  for (const result of results) {
    const name = resultSeriesTarget(result);
    let target = byTarget.get(name);
    if (target === undefined) {
      target = { probes: 0, ok: 0, votes: new Map(), failures: new Set() };
      byTarget.set(name, target);
    }
    target.probes++;
    if (result.ok === true) target.ok++;
    else if (typeof result.failure?.code === "string") target.failures.add(result.failure.code);
    // A PoP that answered with an error still answered: its id counts.
    const pop = result.pop?.id;
    if (typeof pop === "string" && pop !== "") {
      let votes = target.votes.get(result.kind);
      if (votes === undefined) {
        votes = new Map();
        target.votes.set(result.kind, votes);
      }
      votes.set(pop, (votes.get(pop) ?? 0) + 1);
    }
  }
  const targets: Record<string, RoundTargetOutcome> = {};
  for (const name of [...byTarget.keys()].sort(compareStrings)) {
    const target = byTarget.get(name)!;
    const kinds: Record<string, string> = {};
    for (const kind of [...target.votes.keys()].sort(compareStrings)) kinds[kind] = plurality(target.votes.get(kind)!, (tied) => tied[0]!)!;
    targets[name] = { probes: target.probes, ok: target.ok, kinds, failures: [...target.failures].sort(compareStrings) };
  }
  return { region, slotMs, targets };
}

/**
 * The PoP a round identified for a target: the one most kinds agree on. A tie
 * keeps `previous` when it is among the tied PoPs, else yields null.
 */
export function roundPop(outcome: RoundTargetOutcome | undefined, previous: string | null): string | null {
  if (outcome === undefined) return null;
  const votes = new Map<string, number>();
  for (const pop of Object.values(outcome.kinds)) votes.set(pop, (votes.get(pop) ?? 0) + 1);
  return plurality(votes, (tied) => (previous !== null && tied.includes(previous) ? previous : null));
}

/** The most voted PoP; a tie is settled by `onTie`. */
function plurality(votes: ReadonlyMap<string, number>, onTie: (tied: string[]) => string | null): string | null {
  let best = 0;
  let tied: string[] = [];
  for (const [pop, count] of votes) {
    if (count > best) {
      best = count;
      tied = [pop];
    } else if (count === best) tied.push(pop);
  }
  if (tied.length <= 1) return tied[0] ?? null;
  return onTie(tied.sort(compareStrings));
}

export interface FastRoutingInput {
  /** The round just written. */
  current: RoundOutcome;
  /** Earlier rounds of the region, any order; rounds at or after current's slot, or of another region, are ignored. */
  history: readonly RoundOutcome[];
  /** When the probe judged the round, epoch ms (the notification's detectedAt). */
  detectedAtMs: number;
  analytics: Pick<AnalyticsConfig, "failoverMinStableSamples" | "alerts">;
}

/**
 * One observation per enabled condition and target probed in the current
 * round, sorted by alert name. Pure. Throws PopwatchCoreError
 * (`alert_input_invalid`) for a slot or detection time that is not an instant.
 */
export function fastRoutingObservations(input: FastRoutingInput): AlertObservation[] {
  const { current, analytics } = input;
  if (!Number.isFinite(current.slotMs) || !Number.isFinite(input.detectedAtMs)) {
    throw new PopwatchCoreError("alert_input_invalid", "fast routing: the round's slot and the detection time must be instants");
  }
  for (const round of [current, ...input.history]) checkOutcome(round);
  const severities = fastRoutingSeverities(analytics);
  const stableSamples = analytics.failoverMinStableSamples;
  const kept = fastRoutingHistoryRounds(analytics);
  const earlier = input.history
    .filter((round) => round.region === current.region && round.slotMs < current.slotMs)
    .sort((a, b) => a.slotMs - b.slotMs)
    .slice(-kept);
  const rounds = [...earlier, current];
  const slotAt = new Date(current.slotMs).toISOString();
  const detectedAt = new Date(input.detectedAtMs).toISOString();
  const observations: AlertObservation[] = [];
  const observe = (condition: FastRoutingCondition, target: string, judged: Judged, detail: AnycastAlertDetail, short: string) => {
    observations.push({
      ...encodeAlertKey({ kind: "anycast", condition, target, scope: current.region, severity: severities[condition]! }),
      burning: !judged.heldBack && judged.burning,
      shortWindowClean: judged.shortWindowClean,
      heldBack: judged.heldBack,
      burnRates: {},
      budgetRemaining: null,
      rule: { long: "1 round", short, factor: 1 },
      anycast: detail,
    });
  };

  for (const target of Object.keys(current.targets).sort(compareStrings)) {
    const now = current.targets[target]!;
    if (now.probes === 0) continue;
    if (severities.outage !== undefined) {
      const failed = now.probes - now.ok;
      const down = now.ok === 0;
      const lastOk = earlier.findLast((round) => (round.targets[target]?.ok ?? 0) > 0);
      // "While it succeeded before": a target never seen before in the rounds kept (a first round) is not judged down yet.
      const seenBefore = earlier.some((round) => (round.targets[target]?.probes ?? 0) > 0);
      observe(
        "outage",
        target,
        { burning: down, heldBack: down && !seenBefore, shortWindowClean: !down },
        {
          condition: "outage",
          target,
          probes: now.probes,
          failed,
          failures: now.failures,
          lastOkAt: now.ok > 0 ? slotAt : lastOk === undefined ? null : new Date(lastOk.slotMs).toISOString(),
          slotAt,
          detectedAt,
        },
        "1 round",
      );
    }
    if (severities["pop-change"] !== undefined) {
      // Each round's PoP in order, ties settled by the PoP before it.
      const pops: (string | null)[] = [];
      let last: string | null = null;
      for (const round of rounds) {
        const pop = roundPop(round.targets[target], last);
        pops.push(pop);
        if (pop !== null) last = pop;
      }
      const to = pops.at(-1)!;
      const before = pops.slice(0, -1).findLast((pop) => pop !== null) ?? null;
      // The run of rounds `to` answered in, back from the current one; rounds without a PoP neither count nor break it.
      let stableRounds = 0;
      let from: string | null = null;
      let changedAt: string | null = null;
      if (to !== null) {
        let firstOfRun = rounds.length - 1;
        for (let i = rounds.length - 1; i >= 0; i--) {
          const pop = pops[i]!;
          if (pop === null) continue;
          if (pop !== to) {
            from = pop;
            changedAt = new Date(rounds[firstOfRun]!.slotMs).toISOString();
            break;
          }
          stableRounds++;
          firstOfRun = i;
        }
      }
      observe(
        "pop-change",
        target,
        {
          burning: to !== null && before !== null && to !== before,
          heldBack: to === null,
          shortWindowClean: stableRounds >= stableSamples,
        },
        {
          condition: "pop-change",
          target,
          from,
          to,
          changedAt,
          kinds: { ...now.kinds },
          stableRounds,
          stableSamples,
          slotAt,
          detectedAt,
        },
        stableSamples === 1 ? "1 round" : `${stableSamples} rounds`,
      );
    }
  }
  observations.sort((a, b) => compareStrings(a.slo, b.slo));
  return observations;
}

/** Outcomes come from roundOutcome; a hand-made one that contradicts itself is a caller's fault. */
function checkOutcome(round: RoundOutcome): void {
  for (const [target, outcome] of Object.entries(round.targets)) {
    const { probes, ok } = outcome;
    if (!(Number.isInteger(probes) && Number.isInteger(ok) && ok >= 0 && ok <= probes)) {
      throw new PopwatchCoreError(
        "alert_input_invalid",
        `fast routing: round ${round.slotMs} of ${round.region}: ${target} has ${ok} of ${probes} probes ok`,
      );
    }
  }
}

interface Judged {
  burning: boolean;
  heldBack: boolean;
  shortWindowClean: boolean;
}
