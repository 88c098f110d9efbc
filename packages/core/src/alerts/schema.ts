// The `alerting` section of the configuration (renotify interval, maintenance
// windows, region quorum, sinks) and the schema of the event detail every sink
// receives. The detail schema is the contract with consumers (EventBridge
// rules match on it, webhooks receive it as JSON), so it is strict: a field
// renamed by mistake fails the sender's validation instead of silently
// breaking someone's rule.
import * as z from "zod/mini";
import { ROUTING_CONDITIONS } from "../routing/findings";
import { ALERT_SEVERITIES, type AlertSeverity } from "../severity";
import { useEnglishZodMessages } from "../zod-messages";

useEnglishZodMessages();

export { ALERT_SEVERITIES, type AlertSeverity };

/** The scope of an SLO evaluated over every region's events together. */
export const POOLED_SCOPE = "pooled";

export const NOTIFICATION_KINDS = ["firing", "renotify", "resolved"] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

const sloName = z.string().check(z.minLength(1), z.maxLength(128));
/** An AWS region code, the local run's region name, or "pooled". */
const scopeName = z.string().check(z.regex(/^[a-z0-9-]{1,32}$/, { message: "expected a region code such as eu-west-1, or pooled" }));
const instantWithZone = z.iso.datetime({
  offset: true,
  message: "expected an ISO 8601 date-time with a time zone, e.g. 2025-03-01T02:00:00Z",
});
const utcInstant = z.iso.datetime({ message: "expected an ISO 8601 UTC date-time" });
const awsRegion = z
  .string()
  .check(z.regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/, { message: "expected an AWS region code such as eu-west-1" }));
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Checked on the record rather than as its key schema: zod reports a bad key as "Invalid key in record", dropping our message.
const headers = z.record(z.string(), z.string().check(z.maxLength(8192))).check(
  z.superRefine((record, ctx) => {
    for (const name of Object.keys(record)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "invalid header name" });
    }
  }),
);

export const maintenanceWindowSchema = z
  .strictObject({
    start: instantWithZone,
    end: instantWithZone,
    /** SLO names the window covers; every SLO when omitted. */
    slos: z.optional(z.array(sloName).check(z.minLength(1))),
    /** Scopes (region codes, or "pooled") the window covers; every scope when omitted. */
    regions: z.optional(z.array(scopeName).check(z.minLength(1))),
    reason: z.optional(z.string().check(z.maxLength(500))),
  })
  .check(
    z.superRefine((window, ctx) => {
      if (!(Date.parse(window.start) < Date.parse(window.end))) {
        ctx.addIssue({ code: "custom", path: ["end"], message: "must be later than start" });
      }
    }),
  );

export const eventBridgeSinkSchema = z.strictObject({
  type: z.literal("eventbridge"),
  /**
   * Bus name or ARN. Omitted: the bus the evaluate stack creates
   * (`<app>-<stage>-alerts`, passed as POPWATCH_ALERT_BUS), or the account's
   * default bus where there is none (local runs).
   */
  busName: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._\-/:]{1,1600}$/, { message: "expected an event bus name or ARN" }))),
  /** Region of the bus; the home region when omitted. */
  region: z.optional(awsRegion),
});

export const WEBHOOK_FORMATS = ["json", "slack", "pagerduty"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const webhookSinkSchema = z
  .strictObject({
    type: z.literal("webhook"),
    url: z.url({ protocol: /^https?$/, message: "expected an http:// or https:// URL" }),
    format: z._default(z.enum(WEBHOOK_FORMATS), "json"),
    /** PagerDuty Events v2 integration key. */
    routingKey: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    headers: z.optional(headers),
    /** Per attempt, connect to last body byte. */
    timeoutMs: z._default(z.number().check(z.int(), z.gte(100), z.lte(60_000)), 5000),
  })
  .check(
    z.superRefine((sink, ctx) => {
      if (sink.format === "pagerduty" && sink.routingKey === undefined) {
        ctx.addIssue({ code: "custom", path: ["routingKey"], message: "is required when format is pagerduty" });
      }
      if (sink.format !== "pagerduty" && sink.routingKey !== undefined) {
        ctx.addIssue({ code: "custom", path: ["routingKey"], message: "is only used with format pagerduty" });
      }
    }),
  );

export const stdoutSinkSchema = z.strictObject({ type: z.literal("stdout") });

export const sinkConfigSchema = z.discriminatedUnion("type", [eventBridgeSinkSchema, webhookSinkSchema, stdoutSinkSchema]);

export const alertingSchema = z.strictObject({
  /** Re-send "firing" this often while an alert keeps firing; 0 never re-sends. */
  renotifyMinutes: z._default(z.number().check(z.int(), z.gte(0), z.lte(7 * 24 * 60)), 240),
  maintenance: z._default(z.array(maintenanceWindowSchema), []),
  /**
   * SLO name → regions that must be firing at once before a per-region page
   * of that SLO is delivered. Tickets and the pooled scope are not gated:
   * the pooled SLO already weighs every region.
   */
  quorum: z._default(z.record(sloName, z.number().check(z.int(), z.gte(1), z.lte(100))), {}),
  sinks: z._default(z.array(sinkConfigSchema), [{ type: "stdout" }]),
});

export const DEFAULT_ALERTING: AlertingConfig = { renotifyMinutes: 240, maintenance: [], quorum: {}, sinks: [{ type: "stdout" }] };

export type AlertingConfig = z.output<typeof alertingSchema>;
export type AlertingConfigInput = z.input<typeof alertingSchema>;
export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;
export type SinkConfig = z.output<typeof sinkConfigSchema>;
export type EventBridgeSinkConfig = z.output<typeof eventBridgeSinkSchema>;
export type WebhookSinkConfig = z.output<typeof webhookSinkSchema>;

export const alertRuleSchema = z.strictObject({
  long: z.string().check(z.minLength(1)),
  short: z.string().check(z.minLength(1)),
  factor: z.number().check(z.gt(0)),
});
export type AlertRule = z.output<typeof alertRuleSchema>;

const burnRatesSchema = z.record(z.string(), z.nullable(z.number()));

/**
 * Anycast conditions alerted on besides the SLOs (see ./anycast.ts; their
 * alert keys and names in ./key.ts). The fast routing ones are judged by the
 * probe after each round (./fast-routing.ts), the others by the evaluator
 * from rollups.
 */
export const ANYCAST_CONDITIONS = ["catchment-shift", "flapping", "detour", "pop-change", "outage"] as const;
export type AnycastCondition = (typeof ANYCAST_CONDITIONS)[number];
export const FAST_ROUTING_CONDITIONS = ["pop-change", "outage"] as const satisfies readonly AnycastCondition[];
export type FastRoutingCondition = (typeof FAST_ROUTING_CONDITIONS)[number];
/** The conditions the evaluator judges from rollups. */
export type RollupAnycastCondition = Exclude<AnycastCondition, FastRoutingCondition>;

const popId = z.string().check(z.minLength(1), z.maxLength(256));
const count = z.number().check(z.int(), z.gte(0));
const km = z.number().check(z.gte(0));

/**
 * What an anycast alert saw, in its own terms (PoPs, changes, kilometres)
 * rather than in burn rates. Figures are those of the last evaluation that
 * reported them, so a resolve shows the state that ended the alert.
 */
export const anycastAlertDetailSchema = z.discriminatedUnion("condition", [
  z.strictObject({
    condition: z.literal("catchment-shift"),
    target: z.string().check(z.minLength(1)),
    /** Dominant PoP over the 24 h before the last hour; null when none was identified. */
    before: z.nullable(popId),
    beforeShare: z.nullable(z.number().check(z.gte(0), z.lte(1))),
    /** Dominant PoP over the last hour. */
    after: z.nullable(popId),
    afterShare: z.nullable(z.number().check(z.gte(0), z.lte(1))),
    /** Identified answers in the baseline and in the last hour. */
    baselineEvents: count,
    recentEvents: count,
  }),
  z.strictObject({
    condition: z.literal("flapping"),
    target: z.string().check(z.minLength(1)),
    /** Answering-PoP changes in the last hour of the probe kind that changed most. */
    changesPerHour: count,
    kind: z.nullable(z.string()),
    /** flapChangesPerHour: at this many it flaps. */
    threshold: count,
    /** Changes in the short window: the alert resolves only once this is 0. */
    shortWindowChanges: count,
    recentEvents: count,
  }),
  z.strictObject({
    condition: z.literal("detour"),
    target: z.string().check(z.minLength(1)),
    /** The dominant PoP over the last hour, and the nearest PoP the target is known to have. */
    pop: z.nullable(popId),
    nearestPop: z.nullable(popId),
    distanceKm: z.nullable(km),
    nearestKm: z.nullable(km),
    excessKm: z.nullable(km),
    /** analytics.detourKm: a detour once excessKm exceeds it. */
    detourKm: km,
    recentEvents: count,
  }),
  z.strictObject({
    condition: z.literal("pop-change"),
    target: z.string().check(z.minLength(1)),
    /** The PoP that answered the target before the current run of rounds; null when none is known within the rounds kept. */
    from: z.nullable(popId),
    /** The PoP that answered the target in the latest round; null when the kinds did not agree on one. */
    to: z.nullable(popId),
    /** Slot of the first round `to` answered in, after `from`; null when no change is within the rounds kept. */
    changedAt: z.nullable(utcInstant),
    /** The PoP each probe kind identified in the latest round. */
    kinds: z.record(z.string(), popId),
    /** Consecutive rounds `to` has answered in, the latest included. */
    stableRounds: count,
    /** analytics.failoverMinStableSamples: the alert resolves once stableRounds reaches it. */
    stableSamples: count,
    /** The round's scheduled slot, and when the probe judged it (the notification's latency is measured from these). */
    slotAt: utcInstant,
    detectedAt: utcInstant,
  }),
  z.strictObject({
    condition: z.literal("outage"),
    target: z.string().check(z.minLength(1)),
    /** Probes of the target in the latest round, and how many of them failed. */
    probes: count,
    failed: count,
    /** Distinct failure codes of the round, sorted. */
    failures: z.array(z.string().check(z.minLength(1))),
    /** Slot of the latest round kept in which a probe of the target succeeded; null when none did. */
    lastOkAt: z.nullable(utcInstant),
    slotAt: utcInstant,
    detectedAt: utcInstant,
  }),
]);
export type AnycastAlertDetail = z.output<typeof anycastAlertDetailSchema>;

const asn = z.number().check(z.int(), z.gte(0), z.lte(4_294_967_295));
const prefixText = z.string().check(z.minLength(1), z.maxLength(64));

/**
 * What a routing alert saw (see ../routing/findings.ts), for the watched
 * prefix as a whole (routing alerts are global: scope "pooled"). Empty lists
 * and a zero `peers` when the condition does not hold, so a resolve shows the
 * state that ended it: which origins, upstreams and visibility there are now.
 */
export const routingAlertDetailSchema = z.strictObject({
  condition: z.enum(ROUTING_CONDITIONS),
  /** The watched prefix. */
  prefix: prefixText,
  /**
   * The AS numbers at fault: unexpected origins (origin-hijack), unexpected
   * upstreams (unexpected-upstream), origins of the offending routes
   * (sub-prefix-hijack, rpki-invalid); empty for low-visibility.
   */
  asns: z.array(asn),
  /** The offending prefixes (the watched one and/or more-specifics). */
  prefixes: z.array(prefixText),
  /** Distinct peers that had an offending route. */
  peers: count,
  /** What is allowed: the configured upstreams for unexpected-upstream, the configured origins otherwise. */
  expected: z.array(asn),
  /** Origins of the routes to the watched prefix itself now, ascending. */
  originsSeen: z.array(asn),
  /** ASes next to the origin now, ascending. */
  upstreamsSeen: z.array(asn),
  peersSeeing: count,
  peersReporting: count,
  /** peersSeeing / peersReporting; null when no peer reports. */
  visibility: z.nullable(z.number().check(z.gte(0), z.lte(1))),
  /** bgp.minVisibility and bgp.minPeers: the thresholds judged against. */
  minVisibility: z.number().check(z.gte(0), z.lte(1)),
  minPeers: count,
  /** sub-prefix-hijack: the longest announcement allowed inside the prefix. */
  maxLength: z.optional(z.number().check(z.int(), z.gte(0), z.lte(128))),
  /** Time of the newest BGP event judged; null when there was none. */
  asOf: z.nullable(utcInstant),
});
export type RoutingAlertDetail = z.output<typeof routingAlertDetailSchema>;

export const alertScopeEntrySchema = z.strictObject({
  scope: scopeName,
  /** What this notification says about the scope. */
  change: z.enum(NOTIFICATION_KINDS),
  /** Start of the firing episode. */
  startedAt: utcInstant,
  /** When it stopped firing; null while it fires. */
  resolvedAt: z.nullable(utcInstant),
  burnRates: burnRatesSchema,
  budgetRemaining: z.nullable(z.number()),
  rule: alertRuleSchema,
  /** The CLI command that shows this scope's data. */
  command: z.string().check(z.minLength(1)),
  /** Only on anycast alerts. */
  anycast: z.optional(anycastAlertDetailSchema),
  /** Only on routing alerts. */
  routing: z.optional(routingAlertDetailSchema),
});
export type AlertScopeEntry = z.output<typeof alertScopeEntrySchema>;

export const alertEventDetailSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** Deterministic: the same evaluation always yields the same id, so receivers can drop redeliveries. */
  notificationId: z.string().check(z.minLength(1), z.maxLength(512)),
  kind: z.enum(NOTIFICATION_KINDS),
  /** firing for firing and renotify, resolved for resolved (the EventBridge detail type says the same). */
  status: z.enum(["firing", "resolved"]),
  slo: sloName,
  severity: z.enum(ALERT_SEVERITIES),
  /** The evaluation that produced the notification. */
  at: utcInstant,
  /** Earliest episode start among the scopes listed. */
  startedAt: utcInstant,
  /** Scopes this notification is about, most burning first. */
  scopes: z.array(alertScopeEntrySchema).check(z.minLength(1)),
  /** Region codes among `scopes` (without "pooled"), for rule matching. */
  regions: z.array(scopeName),
  /** Every scope of this SLO and severity that receivers should consider firing after this notification. */
  active: z.array(scopeName),
  /** Of the first scope listed. */
  burnRates: burnRatesSchema,
  /** Lowest among the scopes listed. */
  budgetRemaining: z.nullable(z.number()),
  /** Of the first scope listed. */
  rule: alertRuleSchema,
  command: z.string().check(z.minLength(1)),
  /** Of the first scope listed; only on anycast alerts. */
  anycast: z.optional(anycastAlertDetailSchema),
  /** Of the first scope listed; only on routing alerts. */
  routing: z.optional(routingAlertDetailSchema),
});
export type AlertEventDetail = z.output<typeof alertEventDetailSchema>;
/** What the lifecycle emits and sinks deliver: the event detail itself. */
export type Notification = AlertEventDetail;

export const ALERT_STATUSES = ["inactive", "firing", "resolved"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** What an evaluator saw for one (SLO, scope, severity) in one evaluation. */
export const alertObservationSchema = z.strictObject({
  slo: sloName,
  severity: z.enum(ALERT_SEVERITIES),
  scope: scopeName,
  /** The rule's long and short windows both exceed its factor. */
  burning: z.boolean(),
  /** No bad events in the short window of the rule that fired (or last fired). */
  shortWindowClean: z.boolean(),
  /**
   * Every short window with no bad events. When given, a firing alert
   * resolves only once the short window of the rule that last fired (its
   * stored report's rule) is among them, whichever rule the evaluator shows
   * now; shortWindowClean decides otherwise.
   */
  cleanShortWindows: z.optional(z.array(z.string().check(z.minLength(1)))),
  /** The rule would fire but its long window has too few events to judge: neither fires nor counts as recovery. */
  heldBack: z.optional(z.boolean()),
  burnRates: burnRatesSchema,
  budgetRemaining: z.nullable(z.number()),
  rule: alertRuleSchema,
  /** Only on anycast alerts: what the condition looks like now. */
  anycast: z.optional(anycastAlertDetailSchema),
  /** Only on routing alerts: what the condition looks like now. */
  routing: z.optional(routingAlertDetailSchema),
});
export type AlertObservation = z.input<typeof alertObservationSchema>;

export const alertReportSchema = z.strictObject({
  burnRates: burnRatesSchema,
  budgetRemaining: z.nullable(z.number()),
  rule: alertRuleSchema,
  anycast: z.optional(anycastAlertDetailSchema),
  routing: z.optional(routingAlertDetailSchema),
});
export type AlertReport = z.output<typeof alertReportSchema>;

export const alertStateSchema = z.strictObject({
  slo: sloName,
  severity: z.enum(ALERT_SEVERITIES),
  scope: scopeName,
  status: z.enum(ALERT_STATUSES),
  /** Start of the current (or last) firing episode. */
  startedAt: z.nullable(utcInstant),
  /** End of the last episode; null while firing. */
  resolvedAt: z.nullable(utcInstant),
  /** Receivers were told it fires and have not been told it resolved. */
  announced: z.boolean(),
  /** Last firing or renotify that listed this scope. */
  lastNotifiedAt: z.nullable(utcInstant),
  /** Why a delivery this state owes (firing not announced, or announced but resolved) has not gone out. */
  held: z.nullable(z.enum(["maintenance", "quorum"])),
  /** The figures at the last status change or delivery. */
  report: z.nullable(alertReportSchema),
});
export type AlertState = z.output<typeof alertStateSchema>;

export const SUPPRESSION_REASONS = ["maintenance", "quorum", "not_announced", "already_announced"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export const alertTransitionSchema = z.strictObject({
  /** Deterministic, like notification ids. */
  id: z.string().check(z.minLength(1)),
  slo: sloName,
  severity: z.enum(ALERT_SEVERITIES),
  scope: scopeName,
  from: z.enum(ALERT_STATUSES),
  to: z.enum(ALERT_STATUSES),
  at: utcInstant,
  /** The notification announcing it; null when it was not delivered in this evaluation. */
  notificationId: z.nullable(z.string()),
  /**
   * Why not: inside a maintenance window, region quorum not reached, a
   * resolve of a firing that receivers never heard of, or a new firing while
   * receivers still consider the previous one open.
   */
  suppressedBy: z.nullable(z.enum(SUPPRESSION_REASONS)),
  report: alertReportSchema,
});
export type AlertTransition = z.output<typeof alertTransitionSchema>;
