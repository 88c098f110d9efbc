// The EventBridge "Scheduled Event" the probe function is invoked with. Only
// `time` matters (it names the invocation and anchors its rounds); the rest is
// checked so that a function wired to the wrong source fails loudly instead of
// probing on a made-up schedule.
import { toIsoInstant } from "@popwatch/core";

export interface ScheduledEvent {
  id: string;
  /** Scheduled time of the event, canonical ISO (ms, UTC). */
  time: string;
  /** Region the rule fired in (the event's own `region`), when present. */
  region: string | null;
  resources: string[];
}

export class ScheduledEventError extends Error {
  override readonly name = "ScheduledEventError";
}

/** Validates an EventBridge scheduled event; throws ScheduledEventError naming the first field that is off. */
export function parseScheduledEvent(event: unknown): ScheduledEvent {
  const fail = (problem: string): never => {
    throw new ScheduledEventError(
      `expected an EventBridge scheduled event ({"source":"aws.events","detail-type":"Scheduled Event","time":"<ISO 8601>",...}): ${problem}`,
    );
  };
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    return fail(`got ${event === null ? "null" : Array.isArray(event) ? "an array" : typeof event}`);
  }
  const fields = event as Record<string, unknown>;
  if (fields.source !== "aws.events") fail(`source is ${JSON.stringify(fields.source)}, not "aws.events"`);
  if (fields["detail-type"] !== "Scheduled Event") fail(`detail-type is ${JSON.stringify(fields["detail-type"])}, not "Scheduled Event"`);
  if (typeof fields.id !== "string" || fields.id === "") fail("id is missing");
  const time = typeof fields.time === "string" && /^\d{4}-\d{2}-\d{2}T/.test(fields.time) ? toIsoInstant(fields.time) : null;
  if (time === null) fail(`time ${JSON.stringify(fields.time)} is not an ISO 8601 instant`);
  const resources = Array.isArray(fields.resources) ? fields.resources.filter((r): r is string => typeof r === "string") : [];
  return { id: fields.id as string, time: time!, region: typeof fields.region === "string" ? fields.region : null, resources };
}
