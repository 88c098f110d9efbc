// How urgently an alert wants a human: the multiwindow burn-rate rules, the
// anycast alerts and the sinks all speak in these two levels.

export const ALERT_SEVERITIES = ["page", "ticket"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
