// The Prometheus rule generator: groups per SLO, one recording pair per rule
// window and configured scope, alerts per scope and severity whose thresholds
// are factor × (1 − objective) as exact decimals, the minEvents guard, and
// the exhaustion rule left out with a note. Firing agreement with Prometheus
// itself is test/cli-slo-rules.test.ts (promtool).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PrometheusAlertingRule, type PrometheusRecordingRule, SLO_ALERT_NAME, alertRulesFor, prometheusRules } from "../src/index";
import { PROBE_SLO_GOOD, SCRAPE_LABELS } from "../src/metrics/exporter-metrics";
import { parseSlo } from "../src/slo/model";
import { errorRatioThreshold } from "../src/slo/prometheus-rules";
import { parseDecimal, rational, toDecimalString } from "../src/slo/rational";

const slo = (input: Record<string, unknown>) =>
  parseSlo({ name: "dns", target: "edge", sli: { type: "availability" }, objective: 0.999, ...input });
const isAlert = (r: PrometheusRecordingRule | PrometheusAlertingRule): r is PrometheusAlertingRule => "alert" in r;
const isRecord = (r: PrometheusRecordingRule | PrometheusAlertingRule): r is PrometheusRecordingRule => "record" in r;

describe("toDecimalString", () => {
  it("writes terminating rationals exactly and refuses the others", () => {
    expect(toDecimalString(rational(336, 25_000))).toBe("0.01344");
    expect(toDecimalString(rational(72, 5))).toBe("14.4");
    expect(toDecimalString(rational(3))).toBe("3");
    expect(toDecimalString(rational(-1, 8))).toBe("-0.125");
    expect(toDecimalString(rational(0))).toBe("0");
    expect(() => toDecimalString(rational(1, 3))).toThrow(RangeError);
  });

  it("property: parses back to the same rational", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat(40), fc.nat(40), (num, twos, fives) => {
        const value = rational(num, 2n ** BigInt(twos) * 5n ** BigInt(fives));
        expect(parseDecimal(toDecimalString(value))).toEqual(value);
      }),
    );
  });
});

describe("errorRatioThreshold", () => {
  it("is factor × (1 − objective) with no floating-point residue", () => {
    const [page1h] = alertRulesFor("30d");
    expect(errorRatioThreshold(page1h!.factor, 0.999)).toBe("0.0144"); // 14.4 × 0.001 is 0.014400000000000001 in floating point
    expect(errorRatioThreshold(alertRulesFor("28d")[0]!.factor, 0.9995)).toBe("0.00672");
    expect(errorRatioThreshold(alertRulesFor("7d")[1]!.factor, 0.95)).toBe("0.175");
  });
});

describe("prometheusRules", () => {
  it("one group per SLO: error ratio and event count for every rule window and configured scope, then page and ticket per scope", () => {
    const { groups, notes } = prometheusRules([slo({ period: "30d" })], { runbookUrl: "https://runbooks.example/dns" });
    expect(notes).toEqual([]);
    expect(groups.map((g) => g.name)).toEqual(["popwatch-slo-dns"]);
    const rules = groups[0]!.rules;
    const records = rules.filter(isRecord);
    const windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];
    expect(records.map((r) => [r.record, r.labels.scope])).toEqual(
      ["region", "pooled"].flatMap((scope) =>
        windows.flatMap((w) => [
          [`slo:sli_error:ratio_rate${w}`, scope],
          [`slo:sli_events:count${w}`, scope],
        ]),
      ),
    );
    const selector = `${PROBE_SLO_GOOD.name}{slo="dns"}`;
    expect(records[0]!.expr).toBe(
      `(sum by (${SCRAPE_LABELS.vantage}) (count_over_time(${selector}[5m])) - sum by (${SCRAPE_LABELS.vantage}) (sum_over_time(${selector}[5m])))\n/\nsum by (${SCRAPE_LABELS.vantage}) (count_over_time(${selector}[5m]))`,
    );
    expect(records.find((r) => r.labels.scope === "pooled" && r.record === "slo:sli_events:count1h")!.expr).toBe(
      `sum(count_over_time(${selector}[1h]))`,
    );
    // Rules with the same labels must not share one object (a YAML writer would emit anchors).
    expect(records[0]!.labels).not.toBe(records[1]!.labels);

    const alerts = rules.filter(isAlert);
    expect(rules.indexOf(alerts[0]!)).toBe(records.length); // recordings first: the alerts read this evaluation's values
    expect(alerts.map((a) => [a.alert, a.labels])).toEqual([
      [SLO_ALERT_NAME, { severity: "page", slo: "dns", scope: "region" }],
      [SLO_ALERT_NAME, { severity: "ticket", slo: "dns", scope: "region" }],
      [SLO_ALERT_NAME, { severity: "page", slo: "dns", scope: "pooled" }],
      [SLO_ALERT_NAME, { severity: "ticket", slo: "dns", scope: "pooled" }],
    ]);
    const pooledPage = alerts[2]!;
    expect(pooledPage.expr).toBe(
      [
        "(",
        '  (slo:sli_error:ratio_rate5m{slo="dns", scope="pooled"} > 0.0144)',
        "  and",
        '  (slo:sli_error:ratio_rate1h{slo="dns", scope="pooled"} > 0.0144)',
        "  and",
        '  (slo:sli_events:count1h{slo="dns", scope="pooled"} >= 30)',
        ")",
        "or",
        "(",
        '  (slo:sli_error:ratio_rate30m{slo="dns", scope="pooled"} > 0.006)',
        "  and",
        '  (slo:sli_error:ratio_rate6h{slo="dns", scope="pooled"} > 0.006)',
        "  and",
        '  (slo:sli_events:count6h{slo="dns", scope="pooled"} >= 30)',
        ")",
      ].join("\n"),
    );
    for (const alert of alerts) {
      expect(Object.keys(alert.annotations).sort()).toEqual(["description", "runbook", "runbook_url", "summary"]);
      expect(alert.annotations.runbook_url).toBe("https://runbooks.example/dns");
    }
    expect(pooledPage.annotations.description).toMatch(
      /1h and 5m above 0\.0144 \(14\.4×\), or 6h and 30m above 0\.006 \(6×\), with at least 30 events/,
    );
  });

  it("generates only the configured scopes, each period's own factors, and no guard when minEvents is 0", () => {
    const { groups } = prometheusRules([slo({ period: "7d", objective: 0.99, scopes: ["pooled"], minEvents: 0 })]);
    const rules = groups[0]!.rules;
    expect(new Set(rules.map((r) => r.labels.scope))).toEqual(new Set(["pooled"]));
    expect(rules.filter(isRecord).every((r) => !r.expr.includes("by ("))).toBe(true);
    const [page, ticket] = rules.filter(isAlert);
    expect(page!.expr).toContain("> 0.1344)"); // 13.44 × 0.01
    expect(page!.expr).toContain("> 0.035)"); // 3.5 × 0.01
    expect(ticket!.expr).toContain("> 0.014)"); // 1.4 × 0.01
    expect(ticket!.expr).toContain("slo:sli_error:ratio_rate3d"); // the factor-1 rule, strict
    expect(ticket!.expr).toContain("> 0.01)");
    expect(rules.some((r) => r.expr.includes("sli_events:count") && r.expr.includes(">="))).toBe(false);
    expect(ticket!.annotations.runbook_url).toBeUndefined();
  });

  it("leaves the exhaustion rule out and says so in a note", () => {
    const { groups, notes } = prometheusRules([slo({ exhaustionRule: true }), slo({ name: "http" })]);
    expect(groups.map((g) => g.name)).toEqual(["popwatch-slo-dns", "popwatch-slo-http"]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^SLO dns: exhaustionRule .* is not generated/);
  });

  it("no SLOs, no groups", () => {
    expect(prometheusRules([])).toEqual({ groups: [], notes: [] });
  });
});
