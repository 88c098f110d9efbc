// The popwatch configuration: what to probe, from where, how often, and how
// long to keep it. Validated once at the edge (CLI, Lambda cold start); every
// error names its field by dotted path, and unknown keys are refused so a typo
// never silently turns a setting off.
import { z } from "zod";
import { ConfigError } from "../errors";
import { popIdentificationSchema, toConfigIssues } from "../pop/schema";

const port = z.number().int().min(1).max(65535);

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
const regexSource = z.string().min(1).max(1000).refine(compiles, { message: "invalid regular expression" });

const hostname = z
  .string()
  .max(253)
  .regex(/^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$/i, { message: "expected a hostname" });

const ipv4 = z.ipv4();
const ipv6 = z.ipv6();
const ipAddress = z
  .string()
  .refine((value) => ipv4.safeParse(value).success || ipv6.safeParse(value).success, { message: "expected an IPv4 or IPv6 address" });

const pem = z.string().refine((value) => value.includes("-----BEGIN CERTIFICATE-----"), { message: "expected a PEM certificate" });
const sha256 = z
  .string()
  .transform((value) => value.replace(/:/g, "").toLowerCase())
  .refine((value) => /^[0-9a-f]{64}$/.test(value), { message: "expected a SHA-256 fingerprint (64 hex digits)" });

const trust = {
  /** Extra CA certificates (PEM) trusted besides the system store. */
  ca: z.array(pem).default([]),
  /** Leaf SHA-256 pins; when present they decide verification instead of CAs. */
  pinSha256: z.array(sha256).default([]),
};

export const dnsProbeOptionsSchema = z.strictObject({
  port: port.default(53),
  transport: z.enum(["udp", "tcp"]).default("udp"),
  qname: z.string().min(1).max(255).default("."),
  qtype: z
    .string()
    .regex(/^[A-Za-z0-9]{1,10}$/, { message: "expected a record type such as A, AAAA, SOA, TXT" })
    .transform((t) => t.toUpperCase())
    .default("SOA"),
  qclass: z.enum(["IN", "CH"]).default("IN"),
  nsid: z.boolean().default(true),
  chaos: z.array(z.enum(["id.server", "hostname.bind"])).default([]),
  recursionDesired: z.boolean().default(false),
  dnssecOk: z.boolean().default(false),
  udpPayloadSize: z.number().int().min(512).max(65535).default(1232),
  tcpFallback: z.boolean().default(true),
  expect: z
    .strictObject({
      rcode: z.array(z.string().regex(/^[A-Z]+$/, { message: "expected an rcode mnemonic such as NOERROR" })).min(1).optional(),
      answer: regexSource.optional(),
    })
    .optional(),
});

export const tcpProbeOptionsSchema = z.strictObject({
  port: port.default(443),
});

export const tlsProbeOptionsSchema = z.strictObject({
  port: port.default(443),
  /** SNI; defaults to the target's hostname. */
  sni: hostname.optional(),
  alpn: z.array(z.string().min(1).max(255)).default(["h2", "http/1.1"]),
  ...trust,
});

export const httpProbeOptionsSchema = z.strictObject({
  /** Defaults to 443 for https, 80 for http. */
  port: port.optional(),
  scheme: z.enum(["https", "http"]).default("https"),
  path: z.string().startsWith("/", { message: 'must start with "/"' }).default("/"),
  method: z.enum(["GET", "HEAD"]).default("GET"),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: "invalid header name" }), z.string()).optional(),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  bodyRegex: regexSource.optional(),
  readCapBytes: z.number().int().min(0).max(16 * 1024 * 1024).default(64 * 1024),
  ...trust,
});

export const targetSchema = z
  .strictObject({
    /** Names the series in storage and reports: stable, short, no spaces. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { message: "expected 1–63 letters, digits, '.', '_' or '-'" }),
    /** The anycast address probed. */
    address: ipAddress,
    /** Hostname for SNI and Host (and CLI display). */
    hostname: hostname.optional(),
    probes: z.strictObject({
      dns: dnsProbeOptionsSchema.optional(),
      tcp: tcpProbeOptionsSchema.optional(),
      tls: tlsProbeOptionsSchema.optional(),
      http: httpProbeOptionsSchema.optional(),
    }),
  })
  .superRefine((target, ctx) => {
    if (Object.values(target.probes).every((p) => p === undefined)) {
      ctx.addIssue({ code: "custom", path: ["probes"], message: "at least one probe kind (dns, tcp, tls, http) is required" });
    }
  });

const awsRegion = z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/, { message: "expected an AWS region code such as eu-west-1" });

export const scheduleSchema = z
  .strictObject({
    /** EventBridge rate of the scheduled invocation, in minutes. */
    rateMinutes: z.number().int().min(1).max(1440).default(1),
    /** Probe rounds inside one invocation, evenly spaced: 6 rounds a minute = every 10 s. */
    roundsPerInvocation: z.number().int().min(1).max(60).default(6),
    /** Per-probe timeout. */
    timeoutMs: z.number().int().min(50).max(60_000).default(5000),
    /** Probes in flight at once within a round. */
    concurrency: z.number().int().min(1).max(1000).default(32),
  })
  .superRefine((schedule, ctx) => {
    const roundMs = (schedule.rateMinutes * 60_000) / schedule.roundsPerInvocation;
    if (schedule.timeoutMs >= roundMs) {
      ctx.addIssue({
        code: "custom",
        path: ["timeoutMs"],
        message: `must be shorter than the round interval (${roundMs} ms = ${schedule.rateMinutes} min / ${schedule.roundsPerInvocation} rounds)`,
      });
    }
  });

export const popCatalogueEntrySchema = z.strictObject({
  city: z.string().max(100).optional(),
  country: z.string().regex(/^[A-Z]{2}$/, { message: "expected an ISO 3166-1 alpha-2 code" }).optional(),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  iata: z.string().regex(/^[a-z]{3}$/, { message: "expected a lowercase IATA code" }).optional(),
});

export const retentionSchema = z.strictObject({
  rawDays: z.number().int().min(1).max(3650).default(7),
  minuteDays: z.number().int().min(1).max(3650).default(14),
  hourDays: z.number().int().min(1).max(3650).default(90),
  dayDays: z.number().int().min(1).max(3650).default(400),
});

export const configSchema = z
  .strictObject({
    /** Where the table, the evaluator and the alert bus live. Defaults to the first region. */
    homeRegion: awsRegion.optional(),
    /** AWS regions that each run the probe function (vantage points). */
    regions: z.array(awsRegion).min(1).default(["us-east-1"]),
    /** Region name local runs (`popwatch run`) file their results under. */
    localRegion: z.string().regex(/^[a-z0-9-]{1,32}$/, { message: "expected lowercase letters, digits and '-'" }).default("local"),
    schedule: scheduleSchema.default({ rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 5000, concurrency: 32 }),
    targets: z.array(targetSchema).min(1),
    /** PoP id → location, for detour analysis and display. */
    popCatalogue: z.record(z.string().min(1).max(64), popCatalogueEntrySchema).default({}),
    popIdentification: popIdentificationSchema.default({ rules: [], tlsFingerprints: {} }),
    retention: retentionSchema.default({ rawDays: 7, minuteDays: 14, hourDays: 90, dayDays: 400 }),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.targets.forEach((target, index) => {
      const first = seen.get(target.name);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["targets", index, "name"], message: `duplicate target name "${target.name}" (also targets.${first}.name)` });
      } else seen.set(target.name, index);
    });
    const regions = new Set<string>();
    config.regions.forEach((region, index) => {
      if (regions.has(region)) ctx.addIssue({ code: "custom", path: ["regions", index], message: `duplicate region "${region}"` });
      regions.add(region);
    });
  })
  .transform((config) => ({ ...config, homeRegion: config.homeRegion ?? config.regions[0]! }));

/** Configuration as written (defaults optional). */
export type PopwatchConfigInput = z.input<typeof configSchema>;
/** Configuration after validation, defaults filled in. */
export type PopwatchConfig = z.output<typeof configSchema>;
export type TargetConfig = PopwatchConfig["targets"][number];
export type DnsProbeOptions = z.output<typeof dnsProbeOptionsSchema>;
export type TlsProbeOptions = z.output<typeof tlsProbeOptionsSchema>;
export type HttpProbeOptions = z.output<typeof httpProbeOptionsSchema>;
export type PopCatalogueEntry = z.output<typeof popCatalogueEntrySchema>;

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

/** Milliseconds between rounds inside one invocation. */
export function roundIntervalMs(schedule: PopwatchConfig["schedule"]): number {
  return (schedule.rateMinutes * 60_000) / schedule.roundsPerInvocation;
}
