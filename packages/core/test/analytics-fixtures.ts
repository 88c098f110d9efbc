// Synthetic result streams for the analytics tests: one token per round.
//   "fra"      answered ok from PoP fra
//   "x"        failed (timeout), no PoP
//   "x:ams"    failed with a PoP (e.g. an HTTP 503 that still carried cf-ray)
//   "?"        answered ok, no PoP evidence
import { type ProbeKind, type RegionalResult, type Rollup, type RollupGranularity, rollupResults } from "../src/index";

export const T0 = Date.parse("2025-03-02T10:00:00.000Z");
export const ROUND_MS = 10_000;

export interface StreamOptions {
  target?: string;
  region?: string;
  kind?: ProbeKind;
  startMs?: number;
  intervalMs?: number;
  rttMs?: number;
}

export function result(over: {
  target?: string;
  region?: string;
  kind?: ProbeKind;
  ms: number;
  ok: boolean;
  pop: string | null;
  iata?: string | null;
  timings?: Record<string, number>;
}): RegionalResult {
  const kind = over.kind ?? "dns";
  const at = new Date(over.ms).toISOString();
  return {
    kind,
    target: "198.51.100.53:53",
    address: "198.51.100.53",
    port: 53,
    name: over.target ?? "anycast",
    ok: over.ok,
    startedAt: at,
    slotAt: at,
    timings: (over.timings ?? { totalMs: 12, rttMs: 11 }) as unknown as RegionalResult["timings"],
    pop: over.pop === null ? null : { id: over.pop, source: "nsid", raw: over.pop, iata: over.iata ?? null },
    failure: over.ok ? null : { code: "timeout", message: "no answer" },
    region: over.region ?? "eu-central-1",
  } as RegionalResult;
}

export function stream(tokens: string, options: StreamOptions = {}): RegionalResult[] {
  const start = options.startMs ?? T0;
  const interval = options.intervalMs ?? ROUND_MS;
  return tokens
    .trim()
    .split(/\s+/)
    .map((token, i) => {
      const failed = token === "x" || token.startsWith("x:");
      const pop = token === "?" || token === "x" ? null : failed ? token.slice(2) : token;
      return result({
        ...(options.target !== undefined ? { target: options.target } : {}),
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.kind !== undefined ? { kind: options.kind } : {}),
        ms: start + i * interval,
        ok: !failed,
        pop,
      });
    });
}

/** `n` copies of a token, space-separated. */
export const times = (n: number, token: string) => Array.from({ length: n }, () => token).join(" ");

/** The rollups the store would hold for these results. */
export function rollupsOf<G extends RollupGranularity>(results: readonly RegionalResult[], granularity: G): Rollup[] {
  const byRegion = new Map<string, RegionalResult[]>();
  for (const r of results) byRegion.set(r.region, [...(byRegion.get(r.region) ?? []), r]);
  return [...byRegion].flatMap(([region, list]) => rollupResults(list, { region, granularity }));
}
