// The `analytics` section of the config: thresholds for flapping, failover
// detection, the convergence SLI and the detour audit.
import * as z from "zod/mini";
import { useEnglishZodMessages } from "../zod-messages";

useEnglishZodMessages();

// Half the Earth's circumference: no two points are further apart.
const MAX_SURFACE_DISTANCE_KM = 20_038;

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
});

export type AnalyticsConfig = z.output<typeof analyticsConfigSchema>;

export const ANALYTICS_DEFAULTS: Readonly<AnalyticsConfig> = Object.freeze({
  flapChangesPerHour: 6,
  failoverMinStableSamples: 2,
  convergenceSloMs: 30_000,
  detourKm: 1000,
});
