// Number, time and text formats shared by the tables and the text, Markdown, CSV and HTML reports.
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

// Unicode format characters that reorder or hide text: zero-width marks, line
// and paragraph separators, bidi embeddings, overrides and isolates, BOM.
const REORDERING = "\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff";
const UNSAFE_FOR_TERMINAL = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${REORDERING}]`, "g");
// JSON.stringify already escapes C0; it writes DEL, C1 and the rest raw.
const RAW_IN_JSON = new RegExp(`[\\u007f-\\u009f${REORDERING}]`, "g");

const unicodeEscape = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * Text from the network made safe to print: control and reordering
 * characters become `\xNN` / `\uNNNN`, so a hostile NSID, TXT record, header
 * or certificate subject cannot move the cursor, recolour or rewrite the
 * terminal. Printable text (any script) is kept as it is.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : unicodeEscape(char);
  });
}

/** JSON text with the characters JSON.stringify leaves raw written as `\uNNNN`: the same value once parsed. */
export function escapeJsonControl(json: string): string {
  return json.replace(RAW_IN_JSON, unicodeEscape);
}

/** Whole days for display, one decimal below ten: `1.9 days`, `29 days`, `-3.2 days`. */
export function formatDays(days: number): string {
  const shown = Math.abs(days) < 10 ? days.toFixed(1) : String(Math.trunc(days));
  return `${shown} day${shown === "1" || shown === "1.0" ? "" : "s"}`;
}

/** Time left before an expiry: `3.5 days left`, or `expired 1.3 days ago`. */
export function formatExpiry(daysLeft: number): string {
  return daysLeft >= 0 ? `${formatDays(daysLeft)} left` : `expired ${formatDays(-daysLeft)} ago`;
}
