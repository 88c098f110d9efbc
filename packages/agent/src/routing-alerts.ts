// Routing alerts: the reads behind core's routingAssessment and
// routingAlertObservations (each watched prefix's snapshot, the VRP file),
// and the alert cycle for just the routing alerts that an ingest runs right
// after it changed a snapshot. The evaluator feeds the same observations to
// its one planAlerts run with the SLO and anycast ones (evaluation-cycle.ts);
// both go through the same lifecycle, so whichever runs first for an instant
// writes the transition and the other finds it done (conditional writes, the
// outbox drops a second copy of a notification id).
//
// The VRP file is read and indexed once per process and path (a full VRP set
// is tens of MB of JSON). A file that cannot be read or parsed is a problem
// reported with the run, not a throw: the rpki-invalid alerts are held back
// (their status stands) and every other routing alert is judged as usual.
import { readFile } from "node:fs/promises";
import {
  type AlertObservation,
  type AlertStateRepository,
  type BgpConfig,
  type PopwatchConfig,
  type RoutingAssessment,
  type RoutingRepository,
  VrpFileError,
  type VrpIndex,
  loadVrpIndex,
  routingAlertObservations,
  routingAssessment,
} from "@popwatch/core";
import type { Sink } from "@popwatch/notify";
import { StoreError } from "@popwatch/store";
import { type AlertCycleReport, type DeliverPendingOptions, alertsNamed, runAlertCycle } from "./alert-cycle";

export type RoutingProblemCode = "vrp_file_unreadable" | "vrp_file_invalid" | "snapshot_unreadable";

/** Something the routing evaluation could not use; the alerts it would have judged are held back. */
export interface RoutingProblem {
  code: RoutingProblemCode;
  message: string;
  /** snapshot_unreadable: the watched prefix. */
  prefix?: string;
}

export type VrpLoad = { ok: true; vrps: VrpIndex } | { ok: false; problem: RoutingProblem };

const vrpLoads = new Map<string, Promise<VrpLoad>>();

/**
 * The VRP file at `path` (absolute, or relative to the working directory),
 * indexed; read once per process and path, failures included (a file fixed
 * on disk is read again after a restart or a new Lambda cold start).
 */
export function loadVrpFile(path: string): Promise<VrpLoad> {
  let load = vrpLoads.get(path);
  if (load === undefined) {
    load = readVrpFile(path);
    vrpLoads.set(path, load);
  }
  return load;
}

async function readVrpFile(path: string): Promise<VrpLoad> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return { ok: false, problem: { code: "vrp_file_unreadable", message: `bgp.rpki.vrpFile: cannot read ${path} (${code})` } };
  }
  try {
    return { ok: true, vrps: loadVrpIndex(text) };
  } catch (err) {
    if (!(err instanceof VrpFileError)) throw err;
    return { ok: false, problem: { code: "vrp_file_invalid", message: `bgp.rpki.vrpFile: ${path}: ${err.message}` } };
  }
}

export interface RoutingEvaluationOptions {
  bgp: BgpConfig;
  routing: Pick<RoutingRepository, "getSnapshot">;
  /** Where the VRP file is; default bgp.rpki.vrpFile (the Lambda functions pass their bundled copy). Unused without bgp.rpki. */
  vrpFile?: string;
}

/** Every watched prefix judged, as observations for the alert lifecycle. */
export interface RoutingEvaluationRun {
  assessments: RoutingAssessment[];
  /** One per (condition, watched prefix): core's routingAlertObservations. */
  observations: AlertObservation[];
  problems: RoutingProblem[];
}

/** Reads each watched prefix's snapshot (one Query each) and judges it; nothing is written. */
export async function evaluateRouting(options: RoutingEvaluationOptions): Promise<RoutingEvaluationRun> {
  const { bgp } = options;
  const problems: RoutingProblem[] = [];
  let vrps: VrpIndex | undefined;
  if (bgp.rpki !== undefined) {
    const load = await loadVrpFile(options.vrpFile ?? bgp.rpki.vrpFile);
    if (load.ok) vrps = load.vrps;
    else problems.push(load.problem);
  }
  const findingOptions = { minVisibility: bgp.minVisibility, minPeers: bgp.minPeers, ...(vrps === undefined ? {} : { vrps }) };
  const assessments: RoutingAssessment[] = [];
  for (const watched of bgp.prefixes) {
    let snapshot = null;
    try {
      snapshot = await options.routing.getSnapshot(watched.prefix);
    } catch (err) {
      // A snapshot that cannot be read (corrupt, or the store down) is judged as none: its alerts are held back and stand.
      if (!(err instanceof StoreError)) throw err;
      problems.push({ code: "snapshot_unreadable", prefix: watched.prefix, message: `${err.message} (${err.code})` });
    }
    assessments.push(routingAssessment(snapshot, watched, findingOptions));
  }
  return { assessments, observations: routingAlertObservations(assessments, bgp), problems };
}

export interface RoutingAlertCycleOptions {
  config: Pick<PopwatchConfig, "bgp" | "alerting">;
  routing: Pick<RoutingRepository, "getSnapshot">;
  alerts: AlertStateRepository;
  sinks: readonly Sink[];
  /** The instant planned at; a retried ingest passes the same one (the scheduled event's time) so it plans the same ids. */
  now: Date | number | string;
  vrpFile?: string;
  /** Default: two attempts within 2 s per sink (as fast routing); the evaluator delivers what is left. */
  delivery?: DeliverPendingOptions;
}

export interface RoutingAlertCycleReport {
  routing: RoutingEvaluationRun;
  alerts: AlertCycleReport;
}

const DEFAULT_ROUTING_DELIVERY: DeliverPendingOptions = { retry: { maxAttempts: 2, maxElapsedMs: 2_000 } };

/**
 * The alert cycle of the routing alerts alone, right after an ingest: their
 * states and their notifications only (the evaluator's other alerts are left
 * to it). Null when the config has no bgp section.
 */
export async function runRoutingAlertCycle(options: RoutingAlertCycleOptions): Promise<RoutingAlertCycleReport | null> {
  const { bgp } = options.config;
  if (bgp === undefined) return null;
  const routing = await evaluateRouting({ bgp, routing: options.routing, ...vrpFileOption(options.vrpFile) });
  const alerts = await runAlertCycle({
    repository: alertsNamed(options.alerts, new Set(routing.observations.map((o) => o.slo))),
    observations: routing.observations,
    now: options.now,
    config: options.config.alerting,
    sinks: options.sinks,
    delivery: options.delivery ?? DEFAULT_ROUTING_DELIVERY,
  });
  return { routing, alerts };
}

/** What one routing alert cycle did, for logs and the CLI. */
export interface RoutingAlertSummary {
  /** Routing alerts whose finding holds (`routing:<condition>:<prefix>`) with their severity. */
  firing: { slo: string; severity: string }[];
  heldBack: number;
  problems: RoutingProblem[];
  notificationsPlanned: number;
  delivered: number;
  undelivered: number;
}

export function summariseRoutingAlertCycle(report: RoutingAlertCycleReport): RoutingAlertSummary {
  return {
    firing: routingFiring(report.routing),
    heldBack: report.routing.observations.filter((o) => o.heldBack).length,
    problems: report.routing.problems,
    notificationsPlanned: report.alerts.plan.notifications.length,
    delivered: report.alerts.delivery.delivered.length,
    undelivered: report.alerts.delivery.outcomes.filter((o) => !o.ok).length + report.alerts.delivery.deferred.length,
  };
}

export function routingFiring(run: RoutingEvaluationRun): { slo: string; severity: string }[] {
  return run.observations.filter((o) => o.burning).map((o) => ({ slo: o.slo, severity: o.severity }));
}

/**
 * Snapshots an archive run rewrote (folds of the minutes its events touched):
 * when none, nothing changed for the routing alerts to judge anew.
 */
export function archiveRunFoldedSnapshots(report: { files: ReadonlyArray<{ ingest?: { snapshots: number } }> }): number {
  return report.files.reduce((sum, file) => sum + (file.ingest?.snapshots ?? 0), 0);
}

function vrpFileOption(vrpFile: string | undefined): { vrpFile?: string } {
  return vrpFile === undefined ? {} : { vrpFile };
}
