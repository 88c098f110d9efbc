// Number and time formats shared by the text, Markdown, CSV and HTML reports.
import { HOUR_MS, type LatencySummary, MINUTE_MS } from "@popwatch/core";

/** Four significant digits, no trailing zeros: 14.4, 0.9333, 1200. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  return String(Number(value.toPrecision(4)));
}

export function formatPercent(value: number): string {
  return `${formatNumber(value * 100)}%`;
}

export function formatKm(km: number): string {
  return `${Math.round(km)} km`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${formatNumber(ms)} ms`;
  if (ms < 120_000) return `${formatNumber(ms / 1000)} s`;
  if (ms < 7_200_000) return `${formatNumber(ms / MINUTE_MS)} min`;
  return `${formatNumber(ms / HOUR_MS)} h`;
}

export function isoMinute(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")}Z`;
}

export function isoSecond(iso: string): string {
  return `${iso.slice(0, 19).replace("T", " ")}Z`;
}

/** p50/p95/p99 in ms, or "-" without latencies. */
export function formatLatency(latency: LatencySummary): string {
  return latency.count === 0 ? "-" : [latency.p50, latency.p95, latency.p99].map((q) => (q === null ? "-" : formatNumber(q))).join("/");
}
