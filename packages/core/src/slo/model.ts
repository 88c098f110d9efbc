// One SLO as configured: which target's results count, which of them are good,
// the objective and the budgeting period. Checked against the targets in the
// config's own refinement (sloReferenceIssues), since an SLO alone cannot know
// what is probed.

import * as z from "zod/mini";
import { ConfigError } from "../errors";
import { PROBE_KINDS, type ProbeKind } from "../result";
import { MAX_TRACKED_MS } from "../rollup/sketch";
import { toConfigIssues, useEnglishZodMessages } from "../zod-messages";
import { divide, parseDecimal, rational, toNumber } from "./rational";
import { SLO_PERIODS } from "./rules";

useEnglishZodMessages();

export const SLO_SCOPES = ["region", "pooled"] as const;
/** `region`: each vantage region has its own budget. `pooled`: all regions' events count against one. */
export type SloScope = (typeof SLO_SCOPES)[number];

/** Low-traffic guard default: with fewer events one failure is already a burn rate in the hundreds. */
export const DEFAULT_MIN_EVENTS = 30;

const OBJECTIVE_HINT = 'must be between 0 and 1 exclusive, e.g. 0.999, or a percentage string such as "99.9%"';

/** `"99.9%"` as 0.999, computed exactly so it is the same double as the literal 0.999. */
function objectiveFrom(value: number | string): number | null {
  if (typeof value === "number") return value > 0 && value < 1 ? value : null;
  const match = /^\s*(\d{1,3}(?:\.\d+)?)\s*%\s*$/.exec(value);
  const percent = match === null ? null : parseDecimal(match[1]!);
  if (percent === null) return null;
  const objective = toNumber(divide(percent, rational(100)));
  return objective > 0 && objective < 1 ? objective : null;
}

const objectiveSchema = z.pipe(
  z.union([z.number(), z.string()], { message: OBJECTIVE_HINT }),
  z.transform((value: number | string, ctx): number => {
    const objective = objectiveFrom(value);
    if (objective === null) {
      ctx.issues.push({ code: "custom", message: `${OBJECTIVE_HINT}, got ${JSON.stringify(value)}`, input: value });
      return z.NEVER;
    }
    return objective;
  }),
);

function unique<T>(what: string) {
  return z.superRefine((values: readonly T[], ctx) => {
    values.forEach((value, index) => {
      if (values.indexOf(value) !== index) ctx.addIssue({ code: "custom", path: [index], message: `duplicate ${what} "${String(value)}"` });
    });
  });
}

export const sliSchema = z.discriminatedUnion("type", [
  /** Good = results with ok: true. */
  z.strictObject({ type: z.literal("availability") }),
  /** Good = ok results no slower than thresholdMs (timings.totalMs). */
  z.strictObject({ type: z.literal("latency"), thresholdMs: z.number().check(z.gt(0), z.lte(MAX_TRACKED_MS)) }),
]);

export const sloSchema = z.strictObject({
  /** Names the SLO in alerts and reports. */
  name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { message: "expected 1–63 letters, digits, '.', '_' or '-'" })),
  /** A configured target's name. */
  target: z.string().check(z.minLength(1)),
  /** Probe kinds whose results count; absent means every kind the target probes. */
  kinds: z.optional(z.array(z.enum(PROBE_KINDS)).check(z.minLength(1), unique<ProbeKind>("kind"))),
  sli: sliSchema,
  objective: objectiveSchema,
  period: z._default(z.enum(SLO_PERIODS), "30d"),
  scopes: z._default(z.array(z.enum(SLO_SCOPES)).check(z.minLength(1), unique<SloScope>("scope")), ["region", "pooled"]),
  /** Events the long window of an alert rule needs before the rule may fire. */
  minEvents: z._default(z.number().check(z.int(), z.gte(0)), DEFAULT_MIN_EVENTS),
  /** Also page when the 1h burn rate is ≥ 3 and the budget would run out within 24 h at that rate. */
  exhaustionRule: z._default(z.boolean(), false),
});

export type SloConfigInput = z.input<typeof sloSchema>;
export type SloConfig = z.output<typeof sloSchema>;
export type SliConfig = SloConfig["sli"];

/** Validates one SLO on its own (no target cross-check); throws ConfigError naming each bad field. */
export function parseSlo(input: unknown): SloConfig {
  const parsed = sloSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(toConfigIssues(parsed.error.issues));
  return parsed.data;
}

/** The probe kinds a target configures. */
export function probedKinds(target: { probes: Partial<Record<ProbeKind, unknown>> }): ProbeKind[] {
  return PROBE_KINDS.filter((kind) => target.probes[kind] !== undefined);
}

/**
 * Problems an SLO list has against the configured targets: duplicate names,
 * unknown targets, kinds the target does not probe. Paths are relative to the
 * config root (`slos.0.target`). Tolerates SLOs that failed their own schema,
 * because zod runs the config's refinement even then.
 */
export function sloReferenceIssues(
  slos: readonly unknown[],
  targets: readonly { name: string; probes: Partial<Record<ProbeKind, unknown>> }[],
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const names = new Map<string, number>();
  slos.forEach((raw, index) => {
    if (typeof raw !== "object" || raw === null) return;
    const slo = raw as Record<string, unknown>;
    if (typeof slo.name === "string") {
      const first = names.get(slo.name);
      if (first !== undefined) {
        issues.push({ path: ["slos", index, "name"], message: `duplicate SLO name "${slo.name}" (also slos.${first}.name)` });
      } else names.set(slo.name, index);
    }
    if (typeof slo.target !== "string") return;
    const target = targets.find((t) => t.name === slo.target);
    if (target === undefined) {
      const known = targets.map((t) => t.name).join(", ");
      issues.push({ path: ["slos", index, "target"], message: `no target named "${slo.target}" (targets: ${known})` });
      return;
    }
    if (!Array.isArray(slo.kinds)) return;
    const probed = probedKinds(target);
    slo.kinds.forEach((kind: unknown, kindIndex) => {
      if (typeof kind === "string" && (PROBE_KINDS as readonly string[]).includes(kind) && !probed.includes(kind as ProbeKind)) {
        issues.push({
          path: ["slos", index, "kinds", kindIndex],
          message: `target "${target.name}" does not probe ${kind} (it probes ${probed.join(", ")})`,
        });
      }
    });
  });
  return issues;
}
