import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, roundIntervalMs } from "../src/index";
import { configIssues } from "./support/config-issues";

const minimal = { targets: [{ name: "k-root", address: "193.0.14.129", probes: { dns: {} } }] };

const issuesOf = (input: unknown) => configIssues(() => parseConfig(input));

describe("config", () => {
  it("fills defaults", () => {
    const config = parseConfig(minimal);
    expect(config.regions).toEqual(["us-east-1"]);
    expect(config.homeRegion).toBe("us-east-1");
    expect(config.schedule).toEqual({ rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 5000, concurrency: 32, dispatch: "inline" });
    expect(roundIntervalMs(config.schedule)).toBe(10_000);
    expect(config.targets[0]!.probes.dns).toMatchObject({
      port: 53,
      transport: "udp",
      qname: ".",
      qtype: "SOA",
      nsid: true,
      tcpFallback: true,
    });
    expect(config.retention.rawDays).toBe(7);
    expect(config.popIdentification).toEqual({ rules: [], tlsFingerprints: {} });
  });

  it("home region defaults to the first region", () => {
    expect(parseConfig({ ...minimal, regions: ["eu-central-1", "ap-south-1"] }).homeRegion).toBe("eu-central-1");
  });

  const cases: [string, unknown, RegExp][] = [
    ["unknown top-level key", { ...minimal, regoins: ["eu-west-1"] }, /^regoins: unknown key$/],
    [
      "unknown probe option",
      { targets: [{ ...minimal.targets[0], probes: { dns: { qnmae: "x" } } }] },
      /^targets\.0\.probes\.dns\.qnmae: unknown key$/,
    ],
    [
      "bad address",
      { targets: [{ name: "x", address: "1.2.3", probes: { tcp: {} } }] },
      /^targets\.0\.address: expected an IPv4 or IPv6 address$/,
    ],
    ["no probe kind", { targets: [{ name: "x", address: "::1", probes: {} }] }, /^targets\.0\.probes: at least one probe kind/],
    ["duplicate name", { targets: [minimal.targets[0], minimal.targets[0]] }, /^targets\.1\.name: duplicate target name "k-root"/],
    ["bad region", { ...minimal, regions: ["europe"] }, /^regions\.0: expected an AWS region code/],
    [
      "timeout longer than a round",
      { ...minimal, schedule: { roundsPerInvocation: 12, timeoutMs: 6000 } },
      /^schedule\.timeoutMs: must be shorter than the round interval \(5000 ms/,
    ],
    [
      "invalid regex",
      { targets: [{ name: "x", address: "::1", probes: { http: { bodyRegex: "(" } } }] },
      /^targets\.0\.probes\.http\.bodyRegex: invalid regular expression$/,
    ],
    [
      "bad pin",
      { targets: [{ name: "x", address: "::1", probes: { tls: { pinSha256: ["abc"] } } }] },
      /^targets\.0\.probes\.tls\.pinSha256\.0: expected a SHA-256/,
    ],
    ["no targets", {}, /^targets: /],
    [
      "pop rule regex",
      { ...minimal, popIdentification: { rules: [{ source: "nsid", regex: "(", template: "$1" }] } },
      /^popIdentification\.rules\.0\.regex: invalid regular expression/,
    ],
  ];
  it.each(cases)("%s names the field", (_name, input, message) => {
    expect(issuesOf(input).some((issue) => message.test(issue))).toBe(true);
  });

  it("never throws anything but ConfigError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          parseConfig(input);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          for (const issue of err.issues) expect(typeof issue.message).toBe("string");
        }
      }),
      { numRuns: 300 },
    );
  });
});
