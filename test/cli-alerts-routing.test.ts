// popwatch alerts on routing alerts: a hijack stored by the lifecycle shows
// the AS numbers and prefixes while it fires, and what recovered once
// resolved. States are written through the store's alert repository, as the
// evaluator does, from core's routing observations.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AlertState,
  type RoutingAlertConfig,
  applyBgpEvents,
  planAlerts,
  routingAlertObservations,
  routingAssessment,
} from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { openOwnedStore } from "../packages/cli/src/local-store";
import { captureIo } from "./support/capture-io";

const WATCHED = { prefix: "198.51.100.0/24", origins: [64500] };
const BGP: RoutingAlertConfig = { prefixes: [WATCHED], minPeers: 3, minVisibility: 0.8, visibilitySeverity: "page" };
const T0 = Date.parse("2026-03-01T12:00:00Z");
const route = (n: number, timeMs: number, asPath: number[]) => ({
  type: "A" as const,
  timeMs,
  source: "rrc00",
  peer: `203.0.113.${n}`,
  peerAs: 65000 + n,
  prefix: WATCHED.prefix,
  asPath,
  origin: asPath[asPath.length - 1]!,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-routing-alerts-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const c = captureIo();
  const code = await main(argv, c.io);
  return { code, out: c.out, err: c.err };
}

/** One evaluation: fold the events, plan, and store the plan as the evaluator would. */
async function evaluate(
  previous: AlertState[],
  events: ReturnType<typeof route>[],
  atMs: number,
  snapshot: ReturnType<typeof applyBgpEvents> | null,
) {
  const next = applyBgpEvents(snapshot, WATCHED, events);
  const plan = planAlerts({
    now: atMs,
    observations: routingAlertObservations([routingAssessment(next, WATCHED, BGP)], BGP),
    previous,
    config: { renotifyMinutes: 0, maintenance: [], quorum: {} },
  });
  const opened = await openOwnedStore({ dataDir: join(dir, "data") });
  try {
    await opened.alerts.applyPlan(await opened.alerts.loadStates(), plan);
  } finally {
    await opened.close();
  }
  return { plan, snapshot: next };
}

describe("popwatch alerts with routing alerts", () => {
  it("shows the hijacking origin while it fires and the restored origin once resolved", async () => {
    const clean = [1, 2, 3, 4].map((n) => route(n, T0 + n, [65000 + n, 64510, 64500]));
    const hijack = [1, 2, 3].map((n) => route(n, T0 + 60_000 + n, [65000 + n, 64666]));
    const restored = [1, 2, 3].map((n) => route(n, T0 + 120_000 + n, [65000 + n, 64510, 64500]));
    let step = await evaluate([], [...clean, ...hijack], T0 + 60_000, null);
    expect(step.plan.notifications.map((n) => n.slo)).toEqual(["routing:origin-hijack:198.51.100.0/24"]);

    const firing = await cli("alerts", "--data-dir", join(dir, "data"));
    expect(firing.code).toBe(0);
    expect(firing.out).toMatch(
      /routing:origin-hijack:198\.51\.100\.0\/24\s+page\s+pooled\s+FIRING\s.*origin hijack: AS64666 originates 198\.51\.100\.0\/24 \(expected AS64500\), seen by 3 peers/,
    );

    step = await evaluate(step.plan.next, restored, T0 + 120_000, step.snapshot);
    expect(step.plan.notifications.map((n) => n.kind)).toEqual(["resolved"]);
    const resolved = await cli("alerts", "--data-dir", join(dir, "data"));
    expect(resolved.out).toMatch(
      /routing:origin-hijack:198\.51\.100\.0\/24\s+page\s+pooled\s+resolved\s.*origin restored: 198\.51\.100\.0\/24 originated by AS64500 \(expected AS64500\)/,
    );
    // Conditions that never fired leave no state.
    expect(resolved.out).not.toMatch(/low-visibility|sub-prefix-hijack/);
  }, 60_000);
});
