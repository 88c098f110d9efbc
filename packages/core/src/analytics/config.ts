// The `analytics` section of the config: thresholds for flapping, failover
// detection, the convergence SLI and the detour audit.
import * as z from "zod/mini";
import { ALERT_SEVERITIES } from "../severity";
import { useEnglishZodMessages } from "../zod-messages";

useEnglishZodMessages();

// Half the Earth's circumference: no two points are further apart.
const MAX_SURFACE_DISTANCE_KM = 20_038;

/** Alerts on anycast conditions, delivered like SLO alerts (see ../alerts/anycast.ts). */
export const anycastAlertsConfigSchema = z.strictObject({
  /** Ticket when a region's dominant PoP over the last hour differs from the one over the 24 h before. */
  catchmentShift: z._default(z.boolean(), true),
  /** Severity of flapping alerts (true is page); false turns them off. Page by default: every PoP change breaks the TCP sessions in flight. */
  flapping: z._default(z.union([z.boolean(), z.enum(ALERT_SEVERITIES)], { message: 'expected true, false, "page" or "ticket"' }), "page"),
  /** Ticket when the PoP serving a region over the last hour is more than detourKm further than the nearest one. */
  detour: z._default(z.boolean(), true),
  /**
   * Severity of the alert the probe raises right after a round in which the PoP answering a target changed (true is
   * ticket); false turns it off. Resolves once the new PoP has answered failoverMinStableSamples rounds in a row.
   */
  popChange: z._default(
    z.union([z.boolean(), z.enum(ALERT_SEVERITIES)], { message: 'expected true, false, "page" or "ticket"' }),
    "ticket",
  ),
  /**
   * Severity of the alert the probe raises right after a round in which every probe of a target failed in a region
   * (true is page); false turns it off. Resolves with the first round in which one answers again.
   */
  outage: z._default(z.union([z.boolean(), z.enum(ALERT_SEVERITIES)], { message: 'expected true, false, "page" or "ticket"' }), "page"),
  /** Answers that identified a PoP a window needs before it is judged at all (fewer: the alert's status stands). */
  minEvents: z._default(z.number().check(z.int(), z.gte(0), z.lte(1_000_000)), 30),
});
export type AnycastAlertsConfig = z.output<typeof anycastAlertsConfigSchema>;

const ANYCAST_ALERTS_DEFAULTS: Readonly<AnycastAlertsConfig> = Object.freeze({
  catchmentShift: true,
  flapping: "page",
  detour: true,
  popChange: "ticket",
  outage: "page",
  minEvents: 30,
});

export const analyticsConfigSchema = z.strictObject({
  /** PoP changes within one hour of one series at which it counts as flapping (fires at this many or more). */
  flapChangesPerHour: z._default(z.number().check(z.int(), z.gte(1), z.lte(3600)), 6),
  /** Consecutive answers from one PoP before it counts as where traffic settled; shorter excursions are blips, not failovers. */
  failoverMinStableSamples: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 2),
  /** Convergence SLI threshold: a failover converged in time when it took at most this long (seed metric M2: < 30 s). */
  convergenceSloMs: z._default(z.number().check(z.int(), z.gte(1), z.lte(86_400_000)), 30_000),
  /** Flag a detour when the serving PoP is this much further than the nearest catalogued one. */
  detourKm: z._default(z.number().check(z.gte(0), z.lte(MAX_SURFACE_DISTANCE_KM)), 1000),
  /** Also flag a detour when its minimum RTT exceeds the nearest PoP's by more than this (needs both observed). */
  detourRttMs: z.optional(z.number().check(z.gt(0), z.lte(60_000))),
  alerts: z._default(anycastAlertsConfigSchema, () => ({ ...ANYCAST_ALERTS_DEFAULTS })),
});

export type AnalyticsConfig = z.output<typeof analyticsConfigSchema>;

export const ANALYTICS_DEFAULTS: Readonly<AnalyticsConfig> = Object.freeze({
  flapChangesPerHour: 6,
  failoverMinStableSamples: 2,
  convergenceSloMs: 30_000,
  detourKm: 1000,
  alerts: ANYCAST_ALERTS_DEFAULTS,
});
