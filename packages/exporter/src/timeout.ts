// How long a probe may run: the scrape's own timeout, as Prometheus sends it in
// X-Prometheus-Scrape-Timeout-Seconds, less an offset so the answer gets back
// before Prometheus gives up (blackbox_exporter's --timeout-offset, 0.5 s by
// default), capped by the module's timeout and the exporter's maxTimeoutMs.

export const SCRAPE_TIMEOUT_HEADER = "x-prometheus-scrape-timeout-seconds";
/** blackbox_exporter's default --timeout-offset. */
export const TIMEOUT_OFFSET_MS = 500;

export type TimeoutResult = { ok: true; timeoutMs: number } | { ok: false; reason: string };

/**
 * The probe's timeout in ms. Without the header, or when the offset leaves
 * nothing, the caps decide (blackbox falls back to the module timeout the same
 * way). A header that is not a positive number is refused (blackbox answers
 * 500; it is the request that is wrong, so 400 here).
 */
export function probeTimeoutMs(header: string | string[] | undefined, moduleTimeoutMs: number | null, maxTimeoutMs: number): TimeoutResult {
  const cap = Math.min(moduleTimeoutMs ?? maxTimeoutMs, maxTimeoutMs);
  if (header === undefined) return { ok: true, timeoutMs: cap };
  if (Array.isArray(header)) return { ok: false, reason: "X-Prometheus-Scrape-Timeout-Seconds given more than once" };
  const text = header.trim();
  if (!/^\d{1,9}(\.\d{1,9})?$/.test(text)) {
    return {
      ok: false,
      reason: `X-Prometheus-Scrape-Timeout-Seconds: expected seconds such as "10" or "9.5", got ${JSON.stringify(text.slice(0, 32))}`,
    };
  }
  const scrapeMs = Number(text) * 1000 - TIMEOUT_OFFSET_MS;
  return { ok: true, timeoutMs: scrapeMs > 0 ? Math.min(scrapeMs, cap) : cap };
}
