// The evaluator locates a vantage the way it locates an AWS region: by the
// registry's claimed location, or the config's own `vantage` section. A
// self-hosted vantage in London answered from New York is a detour; without a
// location it is reported missing, never judged. Embedded store, alert state
// in the same table; the evaluation instant is passed, never read.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runEvaluationCycle } from "@popwatch/agent";
import {
  PERIOD_MS,
  type PopwatchConfigInput,
  type RegionalResult,
  type Vantage,
  airportLocation,
  greatCircleKm,
  parseConfig,
  rollupPeriod,
  rollupResults,
} from "@popwatch/core";
import { DynamoAlertStateStore, DynamoResultStore, type EmbeddedStore, ensureTable, startEmbeddedStore } from "@popwatch/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MINUTE = PERIOD_MS.minute;
const VANTAGE = "home-1";
const T = Date.parse("2025-06-02T12:00:00.000Z");
const TARGET = { name: "edge", address: "198.51.100.10", probes: { dns: {} } };

let dir: string;
let embedded: EmbeddedStore;
let tableSeq = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "popwatch-vantage-loc-"));
  embedded = await startEmbeddedStore({ dataDir: join(dir, "data") });
});
afterAll(async () => {
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The last hour before T, one answer a minute: jfk, and lhr once (so the target is known to have a London PoP). */
function answers(): RegionalResult[] {
  const out: RegionalResult[] = [];
  for (let i = 60; i >= 1; i--) {
    const at = new Date(T - i * MINUTE).toISOString();
    const pop = i === 60 ? "lhr" : "jfk";
    out.push({
      kind: "dns",
      target: "198.51.100.10:53",
      address: "198.51.100.10",
      port: 53,
      name: "edge",
      ok: true,
      startedAt: at,
      slotAt: at,
      timings: { totalMs: 80, rttMs: 79 },
      pop: { id: pop, source: "nsid", raw: pop, iata: null },
      failure: null,
      region: VANTAGE,
    } as unknown as RegionalResult);
  }
  return out;
}

async function evaluate(config: PopwatchConfigInput, registered: Vantage[]) {
  const tableName = `vantage-${++tableSeq}`;
  await ensureTable(embedded.client, tableName, { pollMs: 10 });
  const results = new DynamoResultStore({ client: embedded.client, tableName });
  for (const rollup of rollupResults(answers(), { region: VANTAGE, granularity: "minute" })) {
    expect(await results.putPeriodRollups("minute", rollupPeriod(rollup), [rollup])).toBe(true);
  }
  if (registered.length > 0) await results.putVantages(registered);
  return runEvaluationCycle({
    config: parseConfig(config),
    store: results,
    alerts: new DynamoAlertStateStore({ client: embedded.client, tableName }),
    sinks: [],
    regions: [VANTAGE],
    now: T,
  });
}

const detourOf = (cycle: Awaited<ReturnType<typeof evaluate>>) => cycle.anycast.observations.find((o) => o.slo === "anycast:detour:edge");

describe("the evaluator locates vantages", () => {
  const london: Vantage = { name: VANTAGE, source: "self-hosted", claimed: { iata: "LHR" }, country: "GB", asn: null };
  const excessKm = greatCircleKm(airportLocation("LHR")!, airportLocation("JFK")!);

  it("from the registry: London served by New York is a detour", async () => {
    const cycle = await evaluate({ targets: [TARGET] }, [london]);
    expect(cycle.anycast.missing).toEqual([]);
    const detour = detourOf(cycle);
    expect(detour).toMatchObject({ scope: VANTAGE, burning: true, heldBack: false });
    const anycast = detour?.anycast as { pop: string; nearestPop: string; excessKm: number } | undefined;
    expect(anycast).toMatchObject({ pop: "jfk", nearestPop: "lhr" });
    expect(anycast?.excessKm).toBeCloseTo(excessKm, 6);
  });

  it("from the config's vantage section, over the registry's entry of the same name", async () => {
    const elsewhere: Vantage = { ...london, claimed: { iata: "JFK" } };
    const config = { targets: [TARGET], vantage: { name: VANTAGE, location: "LHR" } };
    const cycle = await evaluate(config, [elsewhere]);
    expect(detourOf(cycle)).toMatchObject({ burning: true });
    // Claimed at JFK alone, the vantage is served by its nearest PoP: no detour.
    expect(detourOf(await evaluate({ targets: [TARGET] }, [elsewhere]))).toMatchObject({ burning: false });
  });

  it("without a location: reported missing, held back", async () => {
    const cycle = await evaluate({ targets: [TARGET] }, []);
    expect(cycle.anycast.missing).toEqual([{ target: "edge", region: VANTAGE, pop: null, missing: "region" }]);
    expect(detourOf(cycle)).toMatchObject({ burning: false, heldBack: true });
  });
});
