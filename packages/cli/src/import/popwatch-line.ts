// The popwatch format: one `popwatch probe --json` object per line, plus
// where ("region") and when ("time") it was probed; `popwatch results --json`
// output imports as well. Each line is judged on its own.
import { createHash } from "node:crypto";
import { PROBE_KINDS, VANTAGE_NAME_PATTERN, toIsoInstant } from "@popwatch/core";
import type { ImportedResult } from "./judge";

/** A result ready to store, and the content hash its key derives from. */
export interface ImportedLine {
  result: ImportedResult;
  digest: string;
}

/** The key part of a line's content: identical lines share it. */
export function lineDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** Validates one line; returns the result or the reason it cannot be imported. */
export function parseImportLine(text: string, defaultRegion: string | undefined): ImportedLine | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "expected a JSON object" };
  const line = value as Record<string, unknown>;
  const problem = (field: string, expected: string) => ({
    error: `${field}: expected ${expected}, got ${shortJson(line[field])}`,
  });

  if (!(PROBE_KINDS as readonly unknown[]).includes(line.kind)) return problem("kind", `one of ${PROBE_KINDS.join(", ")}`);
  if (typeof line.target !== "string" || line.target === "") return problem("target", "an address:port string");
  if (typeof line.address !== "string") return problem("address", "a string");
  if (!(Number.isInteger(line.port) && (line.port as number) >= 0 && (line.port as number) <= 65535))
    return problem("port", "a port number");
  if (!(line.name === undefined || line.name === null || typeof line.name === "string")) return problem("name", "a string or null");
  if (typeof line.ok !== "boolean") return problem("ok", "true or false");
  const timings = line.timings as Record<string, unknown> | null | undefined;
  if (typeof timings !== "object" || timings === null || typeof timings.totalMs !== "number" || !(timings.totalMs >= 0)) {
    return problem("timings", 'an object with "totalMs"');
  }
  const pop = line.pop as Record<string, unknown> | null | undefined;
  if (!(pop === null || pop === undefined || (typeof pop === "object" && typeof pop.id === "string" && typeof pop.source === "string"))) {
    return problem("pop", 'null or an object with "id" and "source"');
  }
  const failure = line.failure as Record<string, unknown> | null | undefined;
  if (line.ok && !(failure === null || failure === undefined)) return problem("failure", "null when ok is true");
  if (
    !line.ok &&
    !(typeof failure === "object" && failure !== null && typeof failure.code === "string" && typeof failure.message === "string")
  ) {
    return problem("failure", 'an object with "code" and "message" when ok is false');
  }
  const region = line.region ?? defaultRegion;
  if (region === undefined) return { error: "region: missing (add a region field or pass --region)" };
  if (typeof region !== "string" || !VANTAGE_NAME_PATTERN.test(region)) return problem("region", "lowercase letters, digits and '-'");

  const instant = (field: "time" | "slotAt" | "startedAt") => {
    const raw = line[field];
    if (raw === undefined) return undefined;
    return typeof raw === "string" && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? toIsoInstant(raw) : null;
  };
  const time = instant("time");
  const slotAt = instant("slotAt");
  const startedAt = instant("startedAt");
  for (const [field, parsed] of [
    ["time", time],
    ["slotAt", slotAt],
    ["startedAt", startedAt],
  ] as const) {
    if (parsed === null) return problem(field, "an ISO 8601 time");
  }
  const slot = time ?? slotAt ?? startedAt;
  if (!slot) return { error: "time: missing (or startedAt)" };

  // Keys are ours to derive: drop what a `results --json` export carries over.
  const { time: _time, seq: _seq, invocationId: _invocationId, ...rest } = line;
  const result = {
    ...rest,
    name: (line.name as string | null | undefined) ?? null,
    pop: pop ?? null,
    failure: failure ?? null,
    region,
    slotAt: slot,
    startedAt: startedAt ?? slot,
  } as unknown as ImportedResult;
  return { result, digest: lineDigest(text) };
}

/** A value for a message: JSON, cut short (a bad field may be the 500 KB one). */
function shortJson(value: unknown): string {
  const json = JSON.stringify(value) ?? "nothing";
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
