// What an alert is about, as a discriminated union, and the one place its
// string form is written and read.
//
// Records that cross a storage or wire boundary (observations handed to
// planAlerts, stored states, transitions, notifications, i.e. the event detail
// every sink sends) carry a key as three fields: `slo` (the alert's name),
// `severity` and `scope`. Those fields keep their names and bytes, so
// EventBridge rules, PagerDuty dedup keys, Slack texts and stored state items
// written by earlier versions stay valid. Domain code works on `AlertKey` and
// crosses to the record form only through encodeAlertKey / decodeAlertKey.
//
// Names: an SLO alert is named after its SLO (SLO names cannot contain ':');
// an anycast alert `anycast:<condition>:<target>` (a target may contain ':');
// a routing alert `routing:<condition>:<prefix>` (an IPv6 prefix contains ':').
// A name that no other kind's encoding claims is an SLO's, so decoding never
// fails and every stored name decodes to the key it was encoded from.
//
// Adding a kind of alert (routing, for BGP) is one more AlertSubject member,
// its case in alertName and alertSubject, and the cases the compiler then asks
// for: alertCommand, planAlerts' check of an observation's figures, the
// notify formatters and `popwatch alerts`.
import { ROUTING_CONDITIONS, type RoutingCondition } from "../routing/findings";
import { ANYCAST_CONDITIONS, type AlertSeverity, type AnycastCondition } from "./schema";

export type AlertSubject =
  | { kind: "slo"; slo: string }
  | { kind: "anycast"; condition: AnycastCondition; target: string }
  | { kind: "routing"; condition: RoutingCondition; prefix: string };

/** One alert: its subject, the scope it is judged in (a region or "pooled") and its severity. */
export type AlertKey = AlertSubject & { scope: string; severity: AlertSeverity };

/** A key as records carry it. */
export interface AlertKeyFields {
  slo: string;
  severity: AlertSeverity;
  scope: string;
}

const ANYCAST_PREFIX = "anycast:";
const ROUTING_PREFIX = "routing:";

export function alertName(subject: AlertSubject): string {
  switch (subject.kind) {
    case "slo":
      return subject.slo;
    case "anycast":
      return anycastAlertName(subject.condition, subject.target);
    case "routing":
      return routingAlertName(subject.condition, subject.prefix);
  }
}

export function alertSubject(name: string): AlertSubject {
  const anycast = parseAnycastAlertName(name);
  if (anycast !== null) return { kind: "anycast", ...anycast };
  const routing = parseRoutingAlertName(name);
  if (routing !== null) return { kind: "routing", ...routing };
  return { kind: "slo", slo: name };
}

export function encodeAlertKey(key: AlertKey): AlertKeyFields {
  return { slo: alertName(key), severity: key.severity, scope: key.scope };
}

export function decodeAlertKey(fields: AlertKeyFields): AlertKey {
  return { ...alertSubject(fields.slo), scope: fields.scope, severity: fields.severity };
}

/** Identity of a key for maps and sorting; not a name, never stored. */
export function alertKeyString(fields: AlertKeyFields): string {
  return `${fields.slo}\u0000${fields.severity}\u0000${fields.scope}`;
}

/** For error messages. */
export function describeAlertKey(fields: AlertKeyFields): string {
  return `${fields.slo} ${fields.severity} ${fields.scope}`;
}

export function anycastAlertName(condition: AnycastCondition, target: string): string {
  return `${ANYCAST_PREFIX}${condition}:${target}`;
}

/** The condition and target an anycast alert name encodes; null for any other name (an SLO's). */
export function parseAnycastAlertName(name: string): { condition: AnycastCondition; target: string } | null {
  const parts = parseConditionName(name, ANYCAST_PREFIX, ANYCAST_CONDITIONS);
  return parts === null ? null : { condition: parts.condition, target: parts.rest };
}

/** `<kind>:<condition>:<rest>` with a known condition and a non-empty rest (which may contain ':'); null otherwise. */
function parseConditionName<C extends string>(
  name: string,
  kindPrefix: string,
  conditions: readonly C[],
): { condition: C; rest: string } | null {
  if (!name.startsWith(kindPrefix)) return null;
  const tail = name.slice(kindPrefix.length);
  const colon = tail.indexOf(":");
  if (colon < 0) return null;
  const condition = tail.slice(0, colon);
  const rest = tail.slice(colon + 1);
  if (!(conditions as readonly string[]).includes(condition) || rest === "") return null;
  return { condition: condition as C, rest };
}

export function routingAlertName(condition: RoutingCondition, prefix: string): string {
  return `${ROUTING_PREFIX}${condition}:${prefix}`;
}

/** The condition and prefix a routing alert name encodes; null for any other name. */
export function parseRoutingAlertName(name: string): { condition: RoutingCondition; prefix: string } | null {
  const parts = parseConditionName(name, ROUTING_PREFIX, ROUTING_CONDITIONS);
  return parts === null ? null : { condition: parts.condition, prefix: parts.rest };
}
