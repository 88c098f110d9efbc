// popwatch slo check: exact thresholds, JSON shape, table, the low-traffic
// guard, exit codes 0 (quiet), 1 (an alert fires) and 2 (bad input).
import { describe, expect, it } from "vitest";
import { main } from "../packages/cli/src/index";
import { captureIo } from "./support/capture-io";

async function slo(...argv: string[]) {
  const c = captureIo();
  const code = await main(["slo", ...argv], c.io);
  return { code, out: c.out, err: c.err };
}

async function checkJson(...argv: string[]) {
  const r = await slo("check", "--json", ...argv);
  expect(r.err).toBe("");
  const lines = r.out.trim().split("\n");
  expect(lines).toHaveLength(1);
  return {
    code: r.code,
    json: JSON.parse(lines[0]!) as { burnRates: Record<string, number | null>; firing: unknown[]; budgetRemaining: number | null },
  };
}

describe("popwatch slo", () => {
  it("--help lists the subcommands, check --help its options; both exit 0", async () => {
    const help = await slo("--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Subcommands:\n\s+check\s/);
    const checkHelp = await slo("check", "--help");
    expect(checkHelp.code).toBe(0);
    expect(checkHelp.out).toMatch(/--counts W=BAD\/TOTAL/);
    expect(checkHelp.out).toMatch(/Exit status: 0 no alert fires, 1 an alert fires, 2 usage error/);
    expect(await main(["--help"], captureIo().io)).toBe(0);
  });

  it("is listed in the top-level usage", async () => {
    const c = captureIo();
    await main(["--help"], c.io);
    expect(c.out).toMatch(/\n {2}slo check\s+/);
  });

  it("exactly 14.4× over 1h and 5m at 99.9 % does not page (exit 0); one more bad event in each does (exit 1)", async () => {
    const quiet = await checkJson("--objective", "0.999", "--counts", "1h=144/10000,5m=12/1000,30d=1000/2000000");
    expect(quiet.code).toBe(0);
    expect(quiet.json).toEqual({ burnRates: { "5m": 12, "1h": 14.4, "30d": 0.5 }, firing: [], budgetRemaining: 0.5 });

    const paging = await checkJson("--objective", "99.9%", "--counts", "1h=145/10000", "--counts", "5m=15/1000");
    expect(paging.code).toBe(1);
    expect(paging.json).toEqual({
      burnRates: { "5m": 15, "1h": 14.5 },
      firing: [{ severity: "page", long: "1h", short: "5m", factor: 14.4 }],
      budgetRemaining: null,
    });
  });

  it("the 28d factors: a 1d/2h burn of 2.8 is quiet, above it a ticket fires", async () => {
    // 28d ticket pair: 10 % of the budget in 1d → factor 2.8; at 99 %, 2.8× is 2.8 % errors.
    const quiet = await checkJson("--objective", "0.99", "--period", "28d", "--counts", "1d=28/1000,2h=28/1000");
    expect(quiet.code).toBe(0);
    expect(quiet.json.burnRates).toEqual({ "2h": 2.8, "1d": 2.8 });
    const ticket = await checkJson("--objective", "0.99", "--period", "28d", "--counts", "1d=29/1000,2h=29/1000");
    expect(ticket.code).toBe(1);
    expect(ticket.json.firing).toEqual([{ severity: "ticket", long: "1d", short: "2h", factor: 2.8 }]);
  });

  it("--min-events holds a low-traffic burn back and the table says why", async () => {
    const args = ["check", "--objective", "0.999", "--counts", "1h=1/12,5m=1/1"];
    const fires = await slo(...args);
    expect(fires.code).toBe(1);
    expect(fires.out).toMatch(/1h & 5m\s+page\s+14\.4×\s+83\.33×\s+1000×\s+FIRING/);
    const held = await slo(...args, "--min-events", "30");
    expect(held.code).toBe(0);
    expect(held.out).toMatch(/1h & 5m .*held back \(1h has 12 events, fewer than --min-events 30\)/);
    expect(held.out).toMatch(/firing: none/);
  });

  it("the table shows burn rates, alert status, budget remaining and time to exhaustion", async () => {
    const r = await slo("check", "--objective", "0.999", "--counts", "5m=2/1000,1h=10/10000,30d=1000/2000000");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^objective 99\.9% over 30d: error budget 0\.1% of events/);
    expect(r.out).toMatch(/\n5m\s+2\/1000\s+0\.2%\s+2×\n1h\s+10\/10000\s+0\.1%\s+1×\n30d\s+1000\/2000000\s+0\.05%\s+0\.5×\n/);
    expect(r.out).toMatch(/6h & 30m\s+page\s+6×\s+-\s+-\s+no data \(no events for 6h, 30m\)/);
    // 50 % left at 1× burn: half of 30 days.
    expect(r.out).toMatch(/budget remaining \(30d\): 50%; at the 1h burn rate it is spent in 15d\n/);
  });

  it("--exhaustion-rule pages at 3× with 10 % of the budget left (gone in 24 h)", async () => {
    const args = ["--objective", "0.999", "--counts", "1h=3/1000,30d=900/1000000"];
    expect((await checkJson(...args)).code).toBe(0);
    const r = await checkJson(...args, "--exhaustion-rule");
    expect(r.code).toBe(1);
    expect(r.json.firing).toEqual([{ severity: "page", long: "1h", short: null, factor: 3 }]);
    expect(r.json.budgetRemaining).toBeCloseTo(0.1, 12);
  });

  it("a window given without events has a null burn rate and cannot fire", async () => {
    const r = await checkJson("--objective", "0.999", "--counts", "1h=0/0,5m=5/5");
    expect(r.code).toBe(0);
    expect(r.json.burnRates).toEqual({ "5m": 1000, "1h": null });
  });

  const bad: [string, string[], RegExp][] = [
    ["BAD > TOTAL", ["--objective", "0.999", "--counts", "1h=11/10"], /1h has more bad events \(11\) than total \(10\)/],
    ["an unknown window", ["--objective", "0.999", "--counts", "2d=1/10"], /unknown window "2d"/],
    ["another period's window", ["--objective", "0.999", "--counts", "28d=1/10"], /28d is not this SLO's period \(--period 30d\)/],
    ["a window twice", ["--objective", "0.999", "--counts", "1h=1/10,1h=2/10"], /window 1h given twice/],
    ["malformed counts", ["--objective", "0.999", "--counts", "1h=1:10"], /expected WINDOW=BAD\/TOTAL/],
    ["an objective of 1", ["--objective", "1", "--counts", "1h=1/10"], /--objective: must be strictly between 0 and 1/],
    ["an objective of 0%", ["--objective", "0%", "--counts", "1h=1/10"], /--objective: must be strictly between 0 and 1/],
    ["a malformed objective", ["--objective", "three nines", "--counts", "1h=1/10"], /--objective: expected a number/],
    ["no objective", ["--counts", "1h=1/10"], /--objective is required/],
    ["no counts", ["--objective", "0.999"], /--counts is required/],
    ["an unknown period", ["--objective", "0.999", "--period", "90d", "--counts", "1h=1/10"], /--period: expected one of 7d, 28d, 30d/],
    ["a negative --min-events", ["--objective", "0.999", "--counts", "1h=1/10", "--min-events", "-1"], /min-events/],
    ["an unknown flag", ["--objective", "0.999", "--counts", "1h=1/10", "--burn"], /--burn/],
  ];
  for (const [what, args, message] of bad) {
    it(`exits 2 naming the problem for ${what}`, async () => {
      const r = await slo("check", ...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(message);
    });
  }

  it("exits 2 for a missing or unknown subcommand", async () => {
    expect((await slo()).code).toBe(2);
    const unknown = await slo("burn");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown subcommand "burn"/);
  });
});
