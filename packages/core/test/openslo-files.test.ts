// OpenSLO files: several documents per file, SLI documents named by
// indicatorRef, every refusal at `file#index(name).field.path`, and the
// config they join (duplicate names at both places, cross-checks at the
// file's paths, nothing left for parseConfig to drop).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { openSloPathsOf, parseConfigWithOpenSlo } from "../src/config/openslo-config";
import { ConfigError, parseConfig } from "../src/index";
import { type OpenSloFile, parseOpenSloFiles } from "../src/slo/openslo";
import { configIssues } from "./support/config-issues";

const examples = fileURLToPath(new URL("../../../examples/", import.meta.url));
/** examples/slo/dns.yaml: #0 an SLI, #1 an SLO naming it, #2 an SLO with an inline indicator. */
const dnsYaml = readFileSync(`${examples}slo/dns.yaml`, "utf8");
const dnsDocuments = (): any[] => YAML.parseAllDocuments(dnsYaml).map((d) => d.toJSON());
const dnsFile = (mutate: (docs: any[]) => void = () => {}): OpenSloFile => {
  const documents = dnsDocuments();
  mutate(documents);
  return { path: "slo/dns.yaml", documents };
};
const anycast = JSON.parse(readFileSync(`${examples}anycast-dns.json`, "utf8")) as Record<string, unknown>;
const own = { name: "cloudflare-dns-up", target: "cloudflare-dns", sli: { type: "availability" }, objective: 0.9995 };

const issuesOf = configIssues;

describe("parseOpenSloFiles", () => {
  it("maps a file's SLO documents, an indicatorRef through the SLI document, and says where each came from", () => {
    const entries = parseOpenSloFiles([dnsFile()]);
    expect(entries.map((e) => e.from)).toEqual(["slo/dns.yaml#1", "slo/dns.yaml#2"]);
    expect(entries[0]!.slo).toMatchObject({
      name: "k-root-availability",
      target: "k-root",
      kinds: ["dns"],
      sli: { type: "availability" },
      objective: 0.999,
      period: "28d",
    });
    // The series fields are where the SLI document wrote them.
    expect(entries[0]!.paths).toEqual({
      name: "slo/dns.yaml#1(k-root-availability).metadata.name",
      target: "slo/dns.yaml#0(k-root-answers).spec.ratioMetric.good.metricSource.spec.target",
      kinds: "slo/dns.yaml#0(k-root-answers).spec.ratioMetric.good.metricSource.spec.kinds",
    });
    expect(entries[1]!.slo).toMatchObject({ name: "cloudflare-dns-fast", sli: { type: "latency", thresholdMs: 100 }, period: "7d" });
    expect(entries[1]!.paths.target).toBe(
      "slo/dns.yaml#2(cloudflare-dns-fast).spec.indicator.spec.ratioMetric.good.metricSource.spec.target",
    );
  });

  it("resolves an indicatorRef to an SLI in another file, and skips empty documents keeping their places", () => {
    const [sli, ref] = dnsDocuments();
    const entries = parseOpenSloFiles([
      { path: "a.yaml", documents: [null, ref] },
      { path: "b.yaml", documents: [sli] },
    ]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ from: "a.yaml#1", slo: { target: "k-root" } });
  });

  const refusals: [string, (docs: any[]) => void, string][] = [
    [
      "a metricSourceRef beside metricSource",
      (d) => (d[2].spec.indicator.spec.ratioMetric.good.metricSourceRef = "prometheus"),
      "slo/dns.yaml#2(cloudflare-dns-fast).spec.indicator.spec.ratioMetric.good.metricSourceRef: cannot be mapped: popwatch evaluates only its own probe results",
    ],
    [
      "a metricSourceRef inside metricSource",
      (d) => (d[0].spec.ratioMetric.total.metricSource.metricSourceRef = "prometheus"),
      "slo/dns.yaml#0(k-root-answers).spec.ratioMetric.total.metricSource.metricSourceRef: cannot be mapped",
    ],
    [
      "alert policies",
      (d) => (d[1].spec.alertPolicies = ["page-on-burn"]),
      "slo/dns.yaml#1(k-root-availability).spec.alertPolicies: cannot be mapped: popwatch alerts with its own multiwindow burn-rate rules",
    ],
    [
      "a thresholdMetric in an SLI document",
      (d) => (d[0].spec = { thresholdMetric: { metricSource: { type: "popwatch", spec: {} } } }),
      "slo/dns.yaml#0(k-root-answers).spec.thresholdMetric: cannot be mapped: popwatch counts good and total events",
    ],
    [
      "Timeslices budgeting",
      (d) => (d[2].spec.budgetingMethod = "Timeslices"),
      "slo/dns.yaml#2(cloudflare-dns-fast).spec.budgetingMethod: Timeslices cannot be mapped",
    ],
    [
      "a calendar window",
      (d) => (d[1].spec.timeWindow = [{ duration: "1M", calendar: { startTime: "2020-01-01 00:00:00", timeZone: "UTC" } }]),
      "slo/dns.yaml#1(k-root-availability).spec.timeWindow.0.isRolling: calendar-aligned windows cannot be mapped",
    ],
    [
      "time-slice objectives",
      (d) => (d[1].spec.objectives[0].timeSliceTarget = 0.95),
      "slo/dns.yaml#1(k-root-availability).spec.objectives.0.timeSliceTarget: cannot be mapped: popwatch budgets by occurrences",
    ],
    ["an unknown top-level key", (d) => (d[2].status = {}), "slo/dns.yaml#2(cloudflare-dns-fast).status: unknown key"],
    [
      "an unknown indicator key",
      (d) => (d[2].spec.indicator.kind = "SLI"),
      "slo/dns.yaml#2(cloudflare-dns-fast).spec.indicator.kind: unknown key",
    ],
    ["an unknown SLI spec key", (d) => (d[0].spec.query = "up"), "slo/dns.yaml#0(k-root-answers).spec.query: unknown key"],
    [
      "a gauge ratio",
      (d) => (d[0].spec.ratioMetric.counter = false),
      "slo/dns.yaml#0(k-root-answers).spec.ratioMetric.counter: popwatch counts events, so only counter: true maps, got false",
    ],
    [
      "an indicatorRef no document defines",
      (d) => (d[1].spec.indicatorRef = "k-root-fast"),
      'slo/dns.yaml#1(k-root-availability).spec.indicatorRef: no SLI document named "k-root-fast" in the openslo files (SLIs: k-root-answers)',
    ],
    [
      "both indicator and indicatorRef",
      (d) => (d[1].spec.indicator = d[2].spec.indicator),
      "slo/dns.yaml#1(k-root-availability).spec.indicatorRef: expected one of indicator and indicatorRef, not both",
    ],
    [
      "another kind of document",
      (d) => (d[2].kind = "AlertPolicy"),
      'slo/dns.yaml#2(cloudflare-dns-fast).kind: expected "SLO" or "SLI", got "AlertPolicy"',
    ],
    [
      "an SLI without a name",
      (d) => delete d[0].metadata.name,
      "slo/dns.yaml#0.metadata.name: an SLI needs a name for indicatorRef to name it",
    ],
    [
      "a document that is not an object",
      (d) => (d[2] = "just text"),
      'slo/dns.yaml#2: expected an OpenSLO document (an object), got "just text"',
    ],
  ];
  for (const [what, mutate, expected] of refusals) {
    it(`refuses ${what}, naming the file, document and field`, () => {
      const issues = issuesOf(() => parseOpenSloFiles([dnsFile(mutate)]));
      expect(
        issues.some((issue) => issue.startsWith(expected)),
        issues.join("\n"),
      ).toBe(true);
    });
  }

  it("reports an SLI's own errors at the SLI, and the SLO naming it at its indicatorRef", () => {
    const issues = issuesOf(() =>
      parseOpenSloFiles([
        dnsFile((d) => {
          d[0].spec.ratioMetric.good.metricSource.spec.kinds = ["dns", "icmp"];
          d[0].spec.ratioMetric.total.metricSource.spec.kinds = ["dns", "icmp"];
        }),
      ]),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^slo\/dns\.yaml#0\(k-root-answers\)\.spec\.ratioMetric\.good\.metricSource\.spec\.kinds\.1: /),
      "slo/dns.yaml#1(k-root-availability).spec.indicatorRef: the SLI it names (slo/dns.yaml#0) has errors, listed at its own paths",
    ]);
  });

  it("refuses two SLI documents of one name", () => {
    const [sli] = dnsDocuments();
    expect(issuesOf(() => parseOpenSloFiles([dnsFile(), { path: "more.yaml", documents: [sli] }]))).toEqual([
      'more.yaml#0(k-root-answers).metadata.name: duplicate SLI name "k-root-answers" (also slo/dns.yaml#0)',
    ]);
  });

  it("never throws anything but ConfigError, whatever a document holds (fast-check)", () => {
    const paths = (value: unknown, prefix: string[] = []): string[][] =>
      typeof value === "object" && value !== null
        ? [prefix, ...Object.entries(value).flatMap(([key, child]) => paths(child, [...prefix, key]))]
        : [prefix];
    const documents = dnsDocuments();
    const places = documents.flatMap((doc, index) => paths(doc, [String(index)]));
    const replaceAt = (root: any[], path: string[], value: unknown) => {
      let node: any = root;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path.at(-1)!] = value;
    };
    fc.assert(
      fc.property(
        // A null value stands for a cycle: the document itself, as a YAML alias inside its own anchor gives.
        fc.array(fc.tuple(fc.constantFrom(...places), fc.option(fc.jsonValue(), { freq: 8 })), { maxLength: 4 }),
        fc.array(fc.oneof(fc.jsonValue(), fc.anything()), { maxLength: 3 }),
        (edits, extra) => {
          const docs = structuredClone(documents);
          for (const [path, value] of edits) {
            try {
              replaceAt(docs, path, value === null ? docs[Number(path[0])] : value);
            } catch {
              // An earlier edit replaced a parent with a scalar.
            }
          }
          try {
            const entries = parseOpenSloFiles([{ path: "f.yaml", documents: [...docs, ...extra] }]);
            for (const entry of entries) expect(entry.from).toMatch(/^f\.yaml#\d+$/);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigError);
            for (const issue of (err as ConfigError).issues) expect(issue.path).toMatch(/^f\.yaml#\d+/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("parseConfigWithOpenSlo", () => {
  it("joins the files' SLOs after the config's own, with their origins, and leaves no openslo key", () => {
    const { config, sloOrigins } = parseConfigWithOpenSlo({ ...anycast, slos: [own], openslo: ["slo/dns.yaml"] }, [dnsFile()]);
    expect(config.slos.map((s) => s.name)).toEqual(["cloudflare-dns-up", "k-root-availability", "cloudflare-dns-fast"]);
    expect(sloOrigins).toEqual([
      { name: "cloudflare-dns-up", from: "slos.0" },
      { name: "k-root-availability", from: "slo/dns.yaml#1" },
      { name: "cloudflare-dns-fast", from: "slo/dns.yaml#2" },
    ]);
    expect("openslo" in config).toBe(false);
    // What the deploy ships, read back by parseConfig alone (the functions' path), is the same config.
    expect(parseConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
  });

  it("refuses a duplicate SLO name naming both places", () => {
    const clash = { ...own, name: "cloudflare-dns-fast" };
    expect(issuesOf(() => parseConfigWithOpenSlo({ ...anycast, slos: [clash], openslo: ["slo/dns.yaml"] }, [dnsFile()]))).toEqual([
      'slo/dns.yaml#2(cloudflare-dns-fast).metadata.name: duplicate SLO name "cloudflare-dns-fast" (also slos.0.name)',
    ]);
    const twice = parseConfigWithOpenSlo.bind(null, { ...anycast, openslo: ["a.yaml", "b.yaml"] }, [
      { ...dnsFile(), path: "a.yaml" },
      { path: "b.yaml", documents: dnsDocuments().slice(2) },
    ]);
    expect(issuesOf(twice)).toEqual([
      'b.yaml#0(cloudflare-dns-fast).metadata.name: duplicate SLO name "cloudflare-dns-fast" (also a.yaml#2(cloudflare-dns-fast).metadata.name)',
    ]);
  });

  it("names the config's cross-check findings at the file's paths, and the config's own at theirs", () => {
    const targets = (anycast.targets as { name: string }[]).filter((t) => t.name !== "k-root");
    const issues = issuesOf(() =>
      parseConfigWithOpenSlo({ ...anycast, targets, slos: [{ ...own, target: "k-root" }], openslo: ["slo/dns.yaml"] }, [
        dnsFile(
          (d) =>
            (d[2].spec.indicator.spec.ratioMetric.good.metricSource.spec.kinds =
              d[2].spec.indicator.spec.ratioMetric.total.metricSource.spec.kinds =
                ["http"]),
        ),
      ]),
    );
    expect(issues).toEqual([
      'slos.0.target: no target named "k-root" (targets: cloudflare-dns)',
      'slo/dns.yaml#0(k-root-answers).spec.ratioMetric.good.metricSource.spec.target: no target named "k-root" (targets: cloudflare-dns)',
      'slo/dns.yaml#2(cloudflare-dns-fast).spec.indicator.spec.ratioMetric.good.metricSource.spec.kinds.0: target "cloudflare-dns" does not probe http (it probes dns, tcp, dot, doh)',
    ]);
  });

  it("lists the files' problems with the config's, and an unreadable file stays the loader's to report", () => {
    const issues = issuesOf(() =>
      parseConfigWithOpenSlo({ ...anycast, regoins: [], openslo: ["gone.yaml", "slo/dns.yaml", "empty.yaml"] }, [
        null,
        dnsFile((d) => (d[1].spec.budgetingMethod = "RatioTimeslices")),
        { path: "empty.yaml", documents: [null] },
      ]),
    );
    expect(issues).toEqual([
      "openslo.2: empty.yaml holds no OpenSLO documents",
      "slo/dns.yaml#1(k-root-availability).spec.budgetingMethod: RatioTimeslices cannot be mapped: popwatch budgets by event counts (Occurrences)",
      "regoins: unknown key",
    ]);
    // With every readable file valid, a null one is no success of its own: the loader throws its reason.
    expect(parseConfigWithOpenSlo({ ...anycast, openslo: ["gone.yaml"] }, [null]).config.slos).toEqual([]);
  });

  it("refuses a malformed openslo list, and parseConfig refuses paths it would have to drop", () => {
    expect(issuesOf(() => openSloPathsOf({ openslo: "slo/dns.yaml" }))).toEqual(["openslo: expected a list of file paths"]);
    expect(issuesOf(() => openSloPathsOf({ openslo: ["a.yaml", 3, ""] }))).toEqual([
      "openslo.1: expected a file path, got 3",
      'openslo.2: expected a file path, got ""',
    ]);
    expect(openSloPathsOf({ ...anycast })).toEqual([]);
    expect(issuesOf(() => parseConfig({ ...anycast, openslo: ["slo/dns.yaml"] }))).toEqual([
      expect.stringMatching(/^openslo: OpenSLO files are read where the config file is loaded/),
    ]);
    expect(() => parseConfigWithOpenSlo({ ...anycast, openslo: ["a.yaml"] }, [])).toThrow(/1 openslo paths/);
  });
});
