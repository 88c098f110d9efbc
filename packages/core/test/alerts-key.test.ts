// Alert keys and their record form: every key survives encode → decode, every
// stored name survives decode → encode, and names written before keys were
// typed decode to the key they stood for.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ALERT_SEVERITIES,
  ANYCAST_CONDITIONS,
  type AlertKey,
  type AlertObservation,
  alertSubject,
  decodeAlertKey,
  encodeAlertKey,
  planAlerts,
} from "../src/alerts/index";
import { ROUTING_CONDITIONS } from "../src/routing/findings";

const scope = fc.constantFrom("pooled", "eu-west-1", "us-east-1", "local");
const severity = fc.constantFrom(...ALERT_SEVERITIES);
// As the SLO schema allows: no ':' (that is what keeps them apart from other kinds' names).
const sloName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/);
const keyArb: fc.Arbitrary<AlertKey> = fc.oneof(
  fc.record({ kind: fc.constant("slo" as const), slo: sloName, scope, severity }),
  fc.record({
    kind: fc.constant("anycast" as const),
    condition: fc.constantFrom(...ANYCAST_CONDITIONS),
    target: fc.string({ minLength: 1 }),
    scope,
    severity,
  }),
  fc.record({
    kind: fc.constant("routing" as const),
    condition: fc.constantFrom(...ROUTING_CONDITIONS),
    // Any text (canonical prefixes hold ':' and '/'), not only prefixes: the name must round-trip whatever it carries.
    prefix: fc.oneof(fc.constantFrom("198.51.100.0/24", "2001:db8::/32", "2001:db8:0:1::/64"), fc.string({ minLength: 1 })),
    scope,
    severity,
  }),
);

describe("alert key codec", () => {
  it("decodes every encoded key to itself", () => {
    fc.assert(
      fc.property(keyArb, (key) => {
        expect(decodeAlertKey(encodeAlertKey(key))).toEqual(key);
      }),
    );
  });

  it("re-encodes every stored name unchanged, whatever it holds", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), scope, severity, (slo, scope, severity) => {
        const fields = { slo, severity, scope };
        expect(encodeAlertKey(decodeAlertKey(fields))).toEqual(fields);
      }),
    );
  });

  it("reads names stored before keys were typed", () => {
    expect(decodeAlertKey({ slo: "anycast:flapping:k-root", severity: "page", scope: "eu-west-1" })).toEqual({
      kind: "anycast",
      condition: "flapping",
      target: "k-root",
      severity: "page",
      scope: "eu-west-1",
    });
    expect(alertSubject("anycast:detour:a:b")).toEqual({ kind: "anycast", condition: "detour", target: "a:b" });
    expect(alertSubject("checkout")).toEqual({ kind: "slo", slo: "checkout" });
    // Not an anycast condition: left as the name it is.
    expect(alertSubject("anycast:wobble:x")).toEqual({ kind: "slo", slo: "anycast:wobble:x" });
  });

  it("names routing alerts routing:<condition>:<prefix>, apart from SLO and anycast names", () => {
    expect(
      encodeAlertKey({ kind: "routing", condition: "origin-hijack", prefix: "2001:db8::/32", scope: "pooled", severity: "page" }),
    ).toEqual({
      slo: "routing:origin-hijack:2001:db8::/32",
      severity: "page",
      scope: "pooled",
    });
    expect(alertSubject("routing:sub-prefix-hijack:198.51.100.0/24")).toEqual({
      kind: "routing",
      condition: "sub-prefix-hijack",
      prefix: "198.51.100.0/24",
    });
    // An anycast target named like a routing alert stays an anycast alert, and an unknown condition is nobody's.
    expect(alertSubject("anycast:detour:routing:origin-hijack:x").kind).toBe("anycast");
    expect(alertSubject("routing:leak:198.51.100.0/24")).toEqual({ kind: "slo", slo: "routing:leak:198.51.100.0/24" });
    expect(alertSubject("routing:origin-hijack:")).toEqual({ kind: "slo", slo: "routing:origin-hijack:" });
  });

  it("never decodes an SLO's name (no ':') as another kind", () => {
    fc.assert(
      fc.property(sloName, (slo) => {
        expect(alertSubject(slo)).toEqual({ kind: "slo", slo });
      }),
    );
  });

  it("writes records with exactly the three key fields", () => {
    expect(
      encodeAlertKey({ kind: "anycast", condition: "catchment-shift", target: "edge", scope: "eu-west-1", severity: "ticket" }),
    ).toEqual({
      slo: "anycast:catchment-shift:edge",
      severity: "ticket",
      scope: "eu-west-1",
    });
  });
});

describe("planAlerts checks an observation's figures against its key", () => {
  const flapping = {
    condition: "flapping",
    target: "edge",
    changesPerHour: 8,
    kind: "dns",
    threshold: 6,
    shortWindowChanges: 0,
    recentEvents: 60,
  } as const;
  const observation = (slo: string, anycast?: typeof flapping): AlertObservation => ({
    slo,
    severity: "page",
    scope: "eu-west-1",
    burning: true,
    shortWindowClean: true,
    burnRates: {},
    budgetRemaining: null,
    rule: { long: "1h", short: "15m", factor: 1 },
    ...(anycast === undefined ? {} : { anycast }),
  });
  const plan = (o: AlertObservation) =>
    planAlerts({ now: 0, observations: [o], previous: [], config: { renotifyMinutes: 0, maintenance: [], quorum: {} } });

  it.each([
    [
      "anycast figures on an SLO alert",
      observation("checkout", flapping),
      /observations\.0\.anycast: an SLO alert \(checkout\) carries no anycast figures/,
    ],
    [
      "none on an anycast alert",
      observation("anycast:flapping:edge"),
      /observations\.0\.anycast: required on anycast alert anycast:flapping:edge/,
    ],
    [
      "another condition's",
      observation("anycast:detour:edge", flapping),
      /observations\.0\.anycast: flapping of edge on alert anycast:detour:edge/,
    ],
  ])("refuses %s", (_name, o, message) => {
    expect(() => plan(o)).toThrow(message);
  });

  it("accepts matching figures", () => {
    expect(plan(observation("anycast:flapping:edge", flapping)).notifications).toHaveLength(1);
  });
});
