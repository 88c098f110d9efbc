import type { ProbeResult } from "@popwatch/core";
import { escapeJsonControl } from "./format";

/** One result as one JSON line: the result object as is, every field kept, no raw control character. */
export function probeJsonLine(result: ProbeResult): string {
  return `${escapeJsonControl(JSON.stringify(result))}\n`;
}
