import { describe, expect, it } from "vitest";
import { PopwatchCoreError } from "../src/errors";
import { ConfigError } from "../src/index";
import { compilePopIdentification } from "../src/pop/identify";
import { parsePopIdentification, popRuleSchema } from "../src/pop/schema";

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parsePopIdentification(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error("expected a ConfigError");
}

const rule = (overrides: Record<string, unknown>) => ({ rules: [{ source: "nsid", regex: "^(.+)$", template: "$1", ...overrides }] });

describe("popIdentificationSchema", () => {
  it("defaults to no rules and no fingerprints", () => {
    expect(parsePopIdentification({})).toEqual({ rules: [], tlsFingerprints: {} });
    expect(parsePopIdentification(undefined)).toEqual({ rules: [], tlsFingerprints: {} });
  });

  it("lowercases header sources and normalizes fingerprints", () => {
    const parsed = parsePopIdentification({
      rules: [{ source: "header:X-Served-By", regex: "^(.+)$", template: "$1" }],
      tlsFingerprints: { ["AB:".repeat(31) + "AB"]: "pop-a" },
    });
    expect(parsed.rules[0]!.source).toBe("header:x-served-by");
    expect(parsed.tlsFingerprints).toEqual({ ["ab".repeat(32)]: "pop-a" });
  });

  it.each([
    ["a bad regex", rule({ regex: "(unclosed" }), "rules.0.regex", /^invalid regular expression: .*(unterminated|group)/i],
    ["an empty regex", rule({ regex: "" }), "rules.0.regex", /must not be empty/],
    ["a catastrophic regex", rule({ regex: "^(a+)+$" }), "rules.0.regex", /^unsafe regular expression: nested quantifier "\(a\+\)\+"/],
    ["an unknown rule key", rule({ flags: "i" }), "rules.0.flags", /unknown key/],
    ["an unknown top-level key", { rules: [], extra: true }, "extra", /unknown key/],
    [
      "a bad source",
      rule({ source: "cookie" }),
      "rules.0.source",
      /must be one of nsid, id.server, hostname.bind, tls-fingerprint or header:<name>, got "cookie"/,
    ],
    ["an empty header name", rule({ source: "header:" }), "rules.0.source", /header:<name>/],
    ["a header name with spaces", rule({ source: "header:x served" }), "rules.0.source", /header:<name>/],
    ["a bad template reference", rule({ template: "$x" }), "rules.0.template", /invalid template: "\$x"/],
    ["an unterminated $<", rule({ template: "$<iata" }), "rules.0.template", /invalid template/],
    [
      "a missing numbered group",
      rule({ template: "$2" }),
      "rules.0.template",
      /\$2 refers to a group the regex does not have \(it has 1\)/,
    ],
    ["a missing named group", rule({ template: "$<iata>" }), "rules.0.template", /\$<iata> refers to a named group/],
    ["a non-string regex", rule({ regex: 5 }), "rules.0.regex", /expected string/],
    ["a missing template", { rules: [{ source: "nsid", regex: "x" }] }, "rules.0.template", /expected string/],
    ["rules not an array", { rules: {} }, "rules", /expected array/],
    ["a bad fingerprint key", { tlsFingerprints: { "not-hex": "pop-a" } }, "tlsFingerprints.not-hex", /SHA-256/],
    ["an empty fingerprint PoP", { tlsFingerprints: { ["ab".repeat(32)]: " " } }, `tlsFingerprints.${"ab".repeat(32)}`, /must name a PoP/],
  ])("reports %s at its path", (_label, input, path, message) => {
    const issues = issuesOf(input);
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it("names the path in the error message", () => {
    expect(() => parsePopIdentification(rule({ regex: "[" }))).toThrow(/^rules\.0\.regex: invalid regular expression: /m);
  });

  it("reports every problem at once", () => {
    const issues = issuesOf({
      rules: [
        { source: "nope", regex: "(", template: "$1" },
        { source: "nsid", regex: "ok", template: "ok", extra: 1 },
      ],
      tlsFingerprints: { zz: "a" },
    });
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      ["rules.0.regex", "rules.0.source", "rules.1.extra", "tlsFingerprints.zz"].sort(),
    );
  });

  it("rejects one fingerprint mapped to two PoPs", () => {
    const issues = issuesOf({ tlsFingerprints: { ["ab".repeat(32)]: "pop-a", ["AB".repeat(32)]: "pop-b" } });
    expect(issues).toContainEqual({ path: `tlsFingerprints.${"AB".repeat(32)}`, message: expect.stringMatching(/different PoP/) });
  });

  it("reports a non-object as the root", () => {
    expect(issuesOf(42)).toEqual([{ path: "", message: expect.stringMatching(/expected object/) }]);
    expect(() => parsePopIdentification("x")).toThrow(/^\(root\): /);
  });

  it("accepts safe patterns the safety check must not refuse", () => {
    for (const regex of [
      "^(?<site>[a-z]{3}\\d*)$",
      "^(?:ab)+$",
      "^(a+)?b$",
      "^[(+*]+(x)$",
      "\\(+(y)",
      "^(?<=x)(a){2}$",
      "a{2,}(b)",
      "^x{(z)",
    ]) {
      expect(() => parsePopIdentification(rule({ regex, template: "t" })), regex).not.toThrow();
    }
  });

  it.each(["(a+)+", "(a*)*b", "((ab)*)+", "(?:x|y+){2,}", "(?<n>[a-z]+\\.)+com", "(a{1,})+", "((a+)?)+"])(
    "refuses the catastrophic shape %s",
    (regex) => {
      expect(issuesOf(rule({ regex, template: "t" }))).toContainEqual({
        path: "rules.0.regex",
        message: expect.stringMatching(/^unsafe regular expression/),
      });
    },
  );
});

describe("popRuleSchema", () => {
  it("is usable on its own", () => {
    expect(popRuleSchema.parse({ source: "HEADER:CF-Ray", regex: "(x)", template: "$1" })).toEqual({
      source: "header:cf-ray",
      regex: "(x)",
      template: "$1",
    });
  });
});

describe("compilePopIdentification", () => {
  it("throws pop_rule_invalid for a rule that skipped validation", () => {
    const unvalidated = { rules: [{ source: "nsid" as const, regex: "(", template: "$1" }], tlsFingerprints: {} };
    expect(() => compilePopIdentification(unvalidated)).toThrow(PopwatchCoreError);
    try {
      compilePopIdentification(unvalidated);
    } catch (err) {
      expect((err as PopwatchCoreError).code).toBe("pop_rule_invalid");
      expect((err as Error).message).toMatch(/^rules\.0\.regex/);
    }
  });
});
