// The `bgp` section of the config: which prefixes the operator announces and
// who may originate them, where to read BGP from, and the thresholds of the
// routing findings and of the correlation with what the probes see.
import * as z from "zod/mini";
import { ALERT_SEVERITIES } from "../severity";
import { useEnglishZodMessages } from "../zod-messages";
import { formatPrefix, parsePrefix } from "./prefix";

useEnglishZodMessages();

const MAX_ASN = 4_294_967_295;
const asn = z.number().check(z.int(), z.gte(1), z.lte(MAX_ASN));

const PREFIX_PROBLEMS = {
  syntax: "expected an IPv4 or IPv6 prefix such as 198.51.100.0/24 or 2001:db8::/32",
  length: "prefix length longer than the address (32 for IPv4, 128 for IPv6)",
  "host-bits": "host bits set after the prefix length (did you mean the network address?)",
} as const;

/** A prefix in any valid spelling, turned into its canonical text. */
const prefixText = z.pipe(
  z.string().check(
    z.superRefine((text, ctx) => {
      const { problem } = parsePrefix(text);
      if (problem !== null) ctx.addIssue({ code: "custom", message: PREFIX_PROBLEMS[problem] });
    }),
  ),
  z.transform((text: string) => {
    const { prefix } = parsePrefix(text);
    return prefix === null ? text : formatPrefix(prefix);
  }),
);

export const watchedPrefixSchema = z
  .strictObject({
    prefix: prefixText,
    /** The ASes allowed to originate it; any other origin is an origin hijack. */
    origins: z.array(asn).check(z.minLength(1)),
    /** The ASes allowed next to the origin on the path; any other is an unexpected upstream. Unchecked when omitted. */
    upstreams: z.optional(z.array(asn).check(z.minLength(1))),
    /** Longest announcement the operator makes inside it (as in a ROA); a longer one is a sub-prefix hijack. Defaults to the prefix's length. */
    maxLength: z.optional(z.number().check(z.int(), z.gte(0), z.lte(128))),
  })
  .check(
    z.superRefine((watched, ctx) => {
      const { prefix } = parsePrefix(watched.prefix);
      if (prefix === null || watched.maxLength === undefined) return;
      const longest = prefix.family === 4 ? 32 : 128;
      if (watched.maxLength < prefix.length || watched.maxLength > longest) {
        ctx.addIssue({
          code: "custom",
          path: ["maxLength"],
          message: `must be between the prefix length (${prefix.length}) and ${longest}`,
        });
      }
    }),
  );
export type WatchedPrefix = z.output<typeof watchedPrefixSchema>;

export const COLLECTOR_ARCHIVES = ["ris", "routeviews"] as const;
export type CollectorArchive = (typeof COLLECTOR_ARCHIVES)[number];

const collectorSchema = z.strictObject({
  /** RIS: rrc00 … rrc26; RouteViews: route-views2, route-views.linx, … */
  name: z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, { message: "expected a collector name such as rrc00 or route-views2" })),
  archive: z.enum(COLLECTOR_ARCHIVES),
});

const httpUrl = z.url({ protocol: /^https?$/, message: "expected an http(s) URL" });

export const DEFAULT_ARCHIVES: Readonly<Record<CollectorArchive, string>> = Object.freeze({
  ris: "https://data.ris.ripe.net",
  routeviews: "https://archive.routeviews.org",
});
export const DEFAULT_RIS_LIVE_URL = "wss://ris-live.ripe.net/v1/ws/";
/** IANA's port for BMP is none; 11019 is what FRR, GoBGP and OpenBMP examples use. */
export const DEFAULT_BMP_PORT = 11019;

export const BGP_DEFAULTS = Object.freeze({
  collectors: [
    { name: "rrc00", archive: "ris" as const },
    { name: "route-views2", archive: "routeviews" as const },
  ],
  minVisibility: 0.8,
  minPeers: 3,
  visibilitySeverity: "page" as const,
  correlationWindowSeconds: 120,
  burstGapSeconds: 30,
});

export const bgpConfigSchema = z
  .strictObject({
    prefixes: z.array(watchedPrefixSchema).check(z.minLength(1)),
    /** Collectors whose update archives the scheduled function reads. */
    collectors: z._default(z.array(collectorSchema), () => BGP_DEFAULTS.collectors.map((c) => ({ ...c }))),
    /** Archive base URLs (a mirror, or a test server). */
    archives: z._default(
      z.strictObject({ ris: z._default(httpUrl, DEFAULT_ARCHIVES.ris), routeviews: z._default(httpUrl, DEFAULT_ARCHIVES.routeviews) }),
      () => ({ ...DEFAULT_ARCHIVES }),
    ),
    risLive: z._default(
      z.strictObject({ url: z._default(z.url({ protocol: /^wss?$/, message: "expected a ws(s) URL" }), DEFAULT_RIS_LIVE_URL) }),
      {
        url: DEFAULT_RIS_LIVE_URL,
      },
    ),
    bmp: z._default(z.strictObject({ port: z._default(z.number().check(z.int(), z.gte(1), z.lte(65535)), DEFAULT_BMP_PORT) }), {
      port: DEFAULT_BMP_PORT,
    }),
    /** A VRP file (rpki-client or Routinator JSON) to check announcements against; no RPKI checks without it. */
    rpki: z.optional(z.strictObject({ vrpFile: z.string().check(z.minLength(1)) })),
    /** Visibility below this ratio (peers that see the prefix / peers that report) is a finding. */
    minVisibility: z._default(z.number().check(z.gte(0), z.lte(1)), BGP_DEFAULTS.minVisibility),
    /** Findings need at least this many reporting peers (or, for hijacks, peers that saw it): fewer is noise. */
    minPeers: z._default(z.number().check(z.int(), z.gte(1), z.lte(100_000)), BGP_DEFAULTS.minPeers),
    visibilitySeverity: z._default(z.enum(ALERT_SEVERITIES), BGP_DEFAULTS.visibilitySeverity),
    /** BGP events this close (before or after) to a data-plane event are listed with it. */
    correlationWindowSeconds: z._default(z.number().check(z.int(), z.gte(1), z.lte(3600)), BGP_DEFAULTS.correlationWindowSeconds),
    /** Updates of one prefix closer together than this belong to one burst (one convergence event). */
    burstGapSeconds: z._default(z.number().check(z.int(), z.gte(1), z.lte(3600)), BGP_DEFAULTS.burstGapSeconds),
  })
  .check(
    z.superRefine((bgp, ctx) => {
      const seen = new Map<string, number>();
      bgp.prefixes.forEach((watched, index) => {
        const first = seen.get(watched.prefix);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["prefixes", index, "prefix"],
            message: `duplicate prefix ${watched.prefix} (also prefixes.${first}.prefix)`,
          });
        } else seen.set(watched.prefix, index);
      });
    }),
  );
export type BgpConfig = z.output<typeof bgpConfigSchema>;
