// The popwatch configuration: what to probe, from where, how often, and how
// long to keep it. Validated once at the edge (CLI, Lambda cold start); every
// error names its field by dotted path, and unknown keys are refused so a typo
// never silently turns a setting off.
//
// Written with zod/mini (see ../zod-messages.ts): `z.optional(s)` is classic's
// `s.optional()`, `z._default(s, v)` its `s.default(v)`, `s.check(...)` its
// chained checks, `z.pipe(s, z.transform(f))` its `s.transform(f)`.
import * as z from "zod/mini";
import { DEFAULT_ALERTING, alertingSchema } from "../alerts/schema";
import { ANALYTICS_DEFAULTS, analyticsConfigSchema } from "../analytics/config";
import { ConfigError } from "../errors";
import { airportLocation } from "../geo/catalogue";
import { popCatalogueEntrySchema } from "../geo/schema";
import { popIdentificationSchema } from "../pop/schema";
import { DEFAULT_RETENTION_DAYS } from "../retention";
import { bgpConfigSchema } from "../routing/config";
import { sloReferenceIssues, sloSchema } from "../slo/model";
import { VANTAGE_NAME_PATTERN } from "../vantage";
import { toConfigIssues, useEnglishZodMessages } from "../zod-messages";
import { EXPORTER_DEFAULTS, exporterConfigSchema } from "./exporter";
import { roundIntervalMs, roundSlotMs } from "./schedule";

useEnglishZodMessages();

const port = z.number().check(z.int(), z.gte(1), z.lte(65535));

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
const regexSource = z.string().check(z.minLength(1), z.maxLength(1000), z.refine(compiles, { message: "invalid regular expression" }));

const hostname = z
  .string()
  .check(
    z.maxLength(253),
    z.regex(/^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$/i, { message: "expected a hostname" }),
  );

const ipv4 = z.ipv4();
const ipv6 = z.ipv6();
const ipAddress = z
  .string()
  .check(
    z.refine((value) => ipv4.safeParse(value).success || ipv6.safeParse(value).success, { message: "expected an IPv4 or IPv6 address" }),
  );

const pem = z.string().check(z.refine((value) => value.includes("-----BEGIN CERTIFICATE-----"), { message: "expected a PEM certificate" }));
const sha256 = z
  .pipe(
    z.string(),
    z.transform((value: string) => value.replace(/:/g, "").toLowerCase()),
  )
  .check(z.refine((value) => /^[0-9a-f]{64}$/.test(value), { message: "expected a SHA-256 fingerprint (64 hex digits)" }));

const trust = {
  /** Extra CA certificates (PEM) trusted besides the system store. */
  ca: z._default(z.array(pem), []),
  /** Leaf SHA-256 pins; when present they decide verification instead of CAs. */
  pinSha256: z._default(z.array(sha256), []),
};

const days = z.number().check(z.gte(0), z.lte(3650));

/** `certMinDays`: fail with tls_cert_expiring when any certificate the server sends expires sooner. */
const certMinDays = z.optional(days);

const dnsExpectSchema = z.strictObject({
  rcode: z.optional(
    z.array(z.string().check(z.regex(/^[A-Z]+$/, { message: "expected an rcode mnemonic such as NOERROR" }))).check(z.minLength(1)),
  ),
  answer: z.optional(regexSource),
  /** Require the AD bit: the resolver asked validated the answer. */
  ad: z.optional(z.boolean()),
  /**
   * Require RRSIGs covering the answer, each valid for at least this many more
   * days (0: present and current). Implies DO on the query.
   */
  rrsigMinDays: z.optional(days),
});

/** What to ask and how to judge the answer: the same for DNS over UDP/TCP, TLS and HTTPS. */
const dnsQueryOptions = {
  qname: z._default(z.string().check(z.minLength(1), z.maxLength(255)), "."),
  qtype: z._default(
    z.pipe(
      z.string().check(z.regex(/^[A-Za-z0-9]{1,10}$/, { message: "expected a record type such as A, AAAA, SOA, TXT" })),
      z.transform((t: string) => t.toUpperCase()),
    ),
    "SOA",
  ),
  qclass: z._default(z.enum(["IN", "CH"]), "IN"),
  nsid: z._default(z.boolean(), true),
  chaos: z._default(z.array(z.enum(["id.server", "hostname.bind"])), []),
  recursionDesired: z._default(z.boolean(), false),
  /** Set the EDNS DO bit and record the RRSIGs covering the answer. */
  dnssec: z.optional(z.boolean()),
  /** The older name of `dnssec`, still accepted. */
  dnssecOk: z.optional(z.boolean()),
  udpPayloadSize: z._default(z.number().check(z.int(), z.gte(512), z.lte(65535)), 1232),
  expect: z.optional(dnsExpectSchema),
};

/** `dnssec` and its older name `dnssecOk` must not disagree, and RRSIGs cannot be required of a query without DO. */
function dnssecAliasCheck(
  options: { dnssec?: boolean | undefined; dnssecOk?: boolean | undefined; expect?: { rrsigMinDays?: number | undefined } | undefined },
  ctx: z.core.$RefinementCtx,
): void {
  if (options.dnssec !== undefined && options.dnssecOk !== undefined && options.dnssec !== options.dnssecOk) {
    ctx.addIssue({ code: "custom", path: ["dnssecOk"], message: "contradicts dnssec (dnssecOk is its older name: keep one)" });
  }
  if ((options.dnssec ?? options.dnssecOk) === false && options.expect?.rrsigMinDays !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["expect", "rrsigMinDays"],
      message: "needs RRSIGs, which a server only sends when the query sets DO: remove dnssec: false",
    });
  }
}

/** Whether a DNS probe sets DO: asked for by name, or implied by an RRSIG expectation. */
export function wantsDnssec(options: {
  dnssec?: boolean | undefined;
  dnssecOk?: boolean | undefined;
  expect?: { rrsigMinDays?: number | undefined } | undefined;
}): boolean {
  return options.dnssec ?? options.dnssecOk ?? options.expect?.rrsigMinDays !== undefined;
}

export const dnsProbeOptionsSchema = z
  .strictObject({
    port: z._default(port, 53),
    transport: z._default(z.enum(["udp", "tcp"]), "udp"),
    ...dnsQueryOptions,
    tcpFallback: z._default(z.boolean(), true),
  })
  .check(z.superRefine(dnssecAliasCheck));

export const tcpProbeOptionsSchema = z.strictObject({
  port: z._default(port, 443),
});

const ALPN_HTTP = ["h2", "http/1.1"] as const;
/** HTTP versions offered by ALPN, most preferred first; `["http/1.1"]` forces HTTP/1.1. */
const httpAlpn = z._default(z.array(z.enum(ALPN_HTTP)).check(z.minLength(1)), [...ALPN_HTTP]);

export const tlsProbeOptionsSchema = z.strictObject({
  port: z._default(port, 443),
  /** SNI; defaults to the target's hostname. */
  sni: z.optional(hostname),
  alpn: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(255))), ["h2", "http/1.1"]),
  certMinDays,
  ...trust,
});

export const httpProbeOptionsSchema = z.strictObject({
  /** Defaults to 443 for https, 80 for http. */
  port: z.optional(port),
  scheme: z._default(z.enum(["https", "http"]), "https"),
  path: z._default(z.string().check(z.startsWith("/", { message: 'must start with "/"' })), "/"),
  method: z._default(z.enum(["GET", "HEAD"]), "GET"),
  headers: z.optional(z.record(z.string().check(z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: "invalid header name" })), z.string())),
  expectStatus: z.optional(z.array(z.number().check(z.int(), z.gte(100), z.lte(599))).check(z.minLength(1))),
  bodyRegex: z.optional(regexSource),
  readCapBytes: z._default(z.number().check(z.int(), z.gte(0), z.lte(16 * 1024 * 1024)), 64 * 1024),
  /** HTTPS only (plain http is always HTTP/1.1). */
  alpn: httpAlpn,
  certMinDays,
  ...trust,
});

/** DNS over TLS (RFC 7858). */
export const dotProbeOptionsSchema = z
  .strictObject({
    port: z._default(port, 853),
    /** SNI and the name verified; defaults to the target's hostname. */
    sni: z.optional(hostname),
    ...dnsQueryOptions,
    certMinDays,
    ...trust,
  })
  .check(z.superRefine(dnssecAliasCheck));

/** DNS over HTTPS (RFC 8484). */
export const dohProbeOptionsSchema = z
  .strictObject({
    port: z._default(port, 443),
    path: z._default(z.string().check(z.startsWith("/", { message: 'must start with "/"' })), "/dns-query"),
    /** POST carries the message as the body; GET as `?dns=` base64url (cacheable). */
    method: z._default(z.enum(["POST", "GET"]), "POST"),
    alpn: httpAlpn,
    expectStatus: z.optional(z.array(z.number().check(z.int(), z.gte(100), z.lte(599))).check(z.minLength(1))),
    ...dnsQueryOptions,
    certMinDays,
    ...trust,
  })
  .check(z.superRefine(dnssecAliasCheck));

export const targetSchema = z
  .strictObject({
    /** Names the series in storage and reports: stable, short, no spaces. */
    name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { message: "expected 1–63 letters, digits, '.', '_' or '-'" })),
    /** The anycast address probed. */
    address: ipAddress,
    /** Hostname for SNI and Host (and CLI display). */
    hostname: z.optional(hostname),
    probes: z.strictObject({
      dns: z.optional(dnsProbeOptionsSchema),
      tcp: z.optional(tcpProbeOptionsSchema),
      tls: z.optional(tlsProbeOptionsSchema),
      http: z.optional(httpProbeOptionsSchema),
      dot: z.optional(dotProbeOptionsSchema),
      doh: z.optional(dohProbeOptionsSchema),
    }),
  })
  .check(
    z.superRefine((target, ctx) => {
      if (Object.values(target.probes).every((p) => p === undefined)) {
        ctx.addIssue({ code: "custom", path: ["probes"], message: "at least one probe kind (dns, tcp, tls, http, dot, doh) is required" });
      }
    }),
  );

const awsRegion = z
  .string()
  .check(z.regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/, { message: "expected an AWS region code such as eu-west-1" }));

/** SQS's longest message delay (DelaySeconds). */
export const MAX_QUEUE_DELAY_SECONDS = 900;

export const scheduleSchema = z
  .strictObject({
    /** EventBridge rate of the scheduled invocation, in minutes. */
    rateMinutes: z._default(z.number().check(z.int(), z.gte(1), z.lte(1440)), 1),
    /** Probe rounds inside one invocation, evenly spaced: 6 rounds a minute = every 10 s. */
    roundsPerInvocation: z._default(z.number().check(z.int(), z.gte(1), z.lte(60)), 6),
    /** Per-probe timeout. */
    timeoutMs: z._default(z.number().check(z.int(), z.gte(50), z.lte(60_000)), 5000),
    /** Probes in flight at once within a round. */
    concurrency: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 32),
    /**
     * How the Lambda deployment runs the rounds after round 0. `inline`: all
     * rounds inside the scheduled invocation, which bills the idle waits
     * between them. `queue`: the scheduled invocation runs round 0 and sends
     * the others to an SQS queue with a delay of their slot, one short
     * invocation per round (bench/RESULTS.md: the cost per region-month).
     * Local runs always run inline.
     */
    dispatch: z._default(z.enum(["inline", "queue"]), "inline"),
  })
  .check(
    z.superRefine((schedule, ctx) => {
      const roundMs = roundIntervalMs(schedule);
      if (schedule.timeoutMs >= roundMs) {
        ctx.addIssue({
          code: "custom",
          path: ["timeoutMs"],
          message: `must be shorter than the round interval (${roundMs} ms = ${schedule.rateMinutes} min / ${schedule.roundsPerInvocation} rounds)`,
        });
      }
      const lastRoundDelaySeconds = roundSlotMs(schedule, 0, schedule.roundsPerInvocation - 1) / 1000;
      if (schedule.dispatch === "queue" && lastRoundDelaySeconds > MAX_QUEUE_DELAY_SECONDS) {
        ctx.addIssue({
          code: "custom",
          path: ["dispatch"],
          message: `"queue" delays the last round by ${lastRoundDelaySeconds} s, more than SQS allows (${MAX_QUEUE_DELAY_SECONDS} s); use "inline" or a shorter rateMinutes`,
        });
      }
    }),
  );

const retainedDays = z.number().check(z.int(), z.gte(1), z.lte(3650));
export const retentionSchema = z.strictObject({
  rawDays: z._default(retainedDays, DEFAULT_RETENTION_DAYS.raw),
  minuteDays: z._default(retainedDays, DEFAULT_RETENTION_DAYS.minute),
  hourDays: z._default(retainedDays, DEFAULT_RETENTION_DAYS.hour),
  dayDays: z._default(retainedDays, DEFAULT_RETENTION_DAYS.day),
});
const DEFAULT_RETENTION = {
  rawDays: DEFAULT_RETENTION_DAYS.raw,
  minuteDays: DEFAULT_RETENTION_DAYS.minute,
  hourDays: DEFAULT_RETENTION_DAYS.hour,
  dayDays: DEFAULT_RETENTION_DAYS.day,
};

const iataCode = z.string().check(
  z.regex(/^[A-Za-z]{3}$/, { message: "expected a three-letter IATA airport code" }),
  z.refine((code) => airportLocation(code) !== null, { message: "not an airport popwatch knows: give { lat, lon } instead" }),
);

/** A self-hosted agent: the name its results are filed under instead of localRegion, and where it claims to be. */
export const vantageSchema = z.strictObject({
  name: z.string().check(z.regex(VANTAGE_NAME_PATTERN, { message: "expected lowercase letters, digits and '-' (at most 32)" })),
  /** An IATA code ("FRA", its metro) or { lat, lon }; checked against measured RTTs (speed of light). */
  location: z.optional(
    z.union([iataCode, z.strictObject({ lat: z.number().check(z.gte(-90), z.lte(90)), lon: z.number().check(z.gte(-180), z.lte(180)) })]),
  ),
  /** ISO 3166-1 alpha-2. */
  country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/, { message: "expected an ISO 3166-1 alpha-2 country code" }))),
  asn: z.optional(z.number().check(z.int(), z.gte(0), z.lte(4294967295))),
});

/**
 * Where `popwatch run` (and the readers, unless flags say otherwise) keep
 * results: a DynamoDB table on AWS or any DynamoDB-compatible endpoint
 * (DynamoDB Local, ScyllaDB Alternator, dynalite). Absent: the embedded store.
 */
export const storeSchema = z.strictObject({
  table: z.string().check(z.regex(/^[a-zA-Z0-9_.-]{3,255}$/, { message: "expected a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)" })),
  /** The table's region; the SDK chain's (AWS_REGION) when absent. */
  awsRegion: z.optional(z.string().check(z.minLength(1))),
  /** A DynamoDB-compatible endpoint URL instead of AWS's. */
  endpoint: z.optional(z.url({ protocol: /^https?$/ })),
});

const configObjectSchema = z
  .strictObject({
    /** Where the table, the evaluator and the alert bus live. Defaults to the first region. */
    homeRegion: z.optional(awsRegion),
    /** AWS regions that each run the probe function (vantage points). */
    regions: z._default(z.array(awsRegion).check(z.minLength(1)), ["us-east-1"]),
    /** Region name local runs (`popwatch run`) file their results under. */
    localRegion: z._default(
      z.string().check(z.regex(/^[a-z0-9-]{1,32}$/, { message: "expected lowercase letters, digits and '-'" })),
      "local",
    ),
    /** This agent as a self-hosted vantage: results filed under vantage.name (see ../vantage.ts). */
    vantage: z.optional(vantageSchema),
    /** A shared DynamoDB table (or compatible endpoint) instead of the embedded store. */
    store: z.optional(storeSchema),
    schedule: z._default(scheduleSchema, { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 5000, concurrency: 32, dispatch: "inline" }),
    targets: z.array(targetSchema).check(z.minLength(1)),
    /** PoP id → location, for detour analysis and display. */
    popCatalogue: z._default(z.record(z.string().check(z.minLength(1), z.maxLength(64)), popCatalogueEntrySchema), {}),
    popIdentification: z._default(popIdentificationSchema, { rules: [], tlsFingerprints: {} }),
    retention: z._default(retentionSchema, DEFAULT_RETENTION),
    /** Alert delivery: renotify interval, maintenance windows, region quorum, sinks (see ../alerts/schema.ts). */
    alerting: z._default(alertingSchema, DEFAULT_ALERTING),
    /** Service level objectives over the targets' results (see ../slo/model.ts). */
    slos: z._default(z.array(sloSchema), []),
    /** OpenSLO files (paths relative to the config file) whose SLOs join `slos`; the loader reads them (./openslo-config.ts). */
    openslo: z.optional(z.array(z.string().check(z.minLength(1)))),
    /** Thresholds for flapping, failover detection, the convergence SLI and the detour audit (see ../analytics/config.ts). */
    analytics: z._default(analyticsConfigSchema, () => ({ ...ANALYTICS_DEFAULTS })),
    /** The BGP control plane: watched prefixes, their origins and upstreams, collectors, thresholds (see ../routing/config.ts). */
    bgp: z.optional(bgpConfigSchema),
    /** `popwatch exporter`: listen address, probe concurrency and timeout cap, named modules (see ./exporter.ts). */
    exporter: z._default(
      exporterConfigSchema({
        dns: dnsProbeOptionsSchema,
        tcp: tcpProbeOptionsSchema,
        tls: tlsProbeOptionsSchema,
        http: httpProbeOptionsSchema,
        dot: dotProbeOptionsSchema,
        doh: dohProbeOptionsSchema,
      }),
      () => ({ ...EXPORTER_DEFAULTS, modules: {} }),
    ),
  })
  .check(
    z.superRefine((config, ctx) => {
      const seen = new Map<string, number>();
      config.targets.forEach((target, index) => {
        const first = seen.get(target.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["targets", index, "name"],
            message: `duplicate target name "${target.name}" (also targets.${first}.name)`,
          });
        } else seen.set(target.name, index);
      });
      const regions = new Set<string>();
      config.regions.forEach((region, index) => {
        if (regions.has(region)) ctx.addIssue({ code: "custom", path: ["regions", index], message: `duplicate region "${region}"` });
        regions.add(region);
      });
      for (const issue of sloReferenceIssues(config.slos, config.targets)) ctx.addIssue({ code: "custom", ...issue });
      if (config.openslo !== undefined && config.openslo.length > 0) {
        // Files are I/O: parseConfig alone would silently drop their SLOs.
        ctx.addIssue({
          code: "custom",
          path: ["openslo"],
          message:
            "OpenSLO files are read where the config file is loaded (popwatch CLI, the deploy); this config reached popwatch unresolved",
        });
      }
    }),
  );

export const configSchema = z.pipe(
  configObjectSchema,
  z.transform((config: z.output<typeof configObjectSchema>) => ({ ...config, homeRegion: config.homeRegion ?? config.regions[0]! })),
);

/** Configuration as written (defaults optional). */
export type PopwatchConfigInput = z.input<typeof configSchema>;
/** Configuration after validation, defaults filled in. */
export type PopwatchConfig = z.output<typeof configSchema>;
export type TargetConfig = PopwatchConfig["targets"][number];
export type ExporterConfig = PopwatchConfig["exporter"];
export type ExporterModuleConfig = ExporterConfig["modules"][string];

/** Typed helper for `popwatch.config.ts`: returns its argument, checked by the compiler. */
export function defineConfig(config: PopwatchConfigInput): PopwatchConfigInput {
  return config;
}

/** Validates a configuration; throws ConfigError listing every problem by dotted field path. */
export function parseConfig(input: unknown): PopwatchConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(toConfigIssues(parsed.error.issues));
  return parsed.data;
}
