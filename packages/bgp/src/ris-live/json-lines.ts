// RIS Live messages saved to a file, one JSON object per line (what a
// WebSocket client or `curl` of RIS Live's stream records), read back into
// route events with the live client's own frame conversion. Streaming: one
// line in memory at a time, at most `maxLineBytes` of it.
import type { Prefix, RouteEvent } from "@popwatch/core";
import { type RisLiveError, parseRisFrame } from "./messages";

/** Why a line was skipped: a frame failure (invalid JSON, unexpected shape, server error), or a line past the cap. */
export type RisLiveLineErrorCode = RisLiveError["code"] | "line_too_long";

export type RisLiveLineItem =
  | { kind: "events"; events: RouteEvent[]; line: number; offset: number }
  | { kind: "error"; code: RisLiveLineErrorCode; message: string; line: number; offset: number };

export interface RisLiveLinesOptions {
  /** Only events of these prefixes and their more-specifics; every event when absent. */
  watched?: readonly Prefix[];
  /** Longest line read (default 1 MiB, RIS Live's largest frames are far smaller); a longer one is an error item. */
  maxLineBytes?: number;
}

const EVERY_PREFIX: readonly Prefix[] = [
  { family: 4, bytes: new Uint8Array(4), length: 0 },
  { family: 6, bytes: new Uint8Array(16), length: 0 },
];
const NEWLINE = 0x0a;

/**
 * Yields, per non-blank line, its route events or why it was skipped, with its
 * 1-based line number and the byte offset where it starts. A line may hold a
 * whole frame (`{"type":"ris_message","data":{…}}`) or just its `data`.
 * Never throws for content; errors of `input` itself (a read failure) propagate.
 */
export async function* readRisLiveLines(
  input: AsyncIterable<Uint8Array | string>,
  options: RisLiveLinesOptions = {},
): AsyncGenerator<RisLiveLineItem> {
  const watched = options.watched ?? EVERY_PREFIX;
  const maxLineBytes = options.maxLineBytes ?? 1 << 20;
  const decoder = new TextDecoder();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let overflow = false;
  let line = 1;
  let lineStart = 0;
  let position = 0;

  const finishLine = (): RisLiveLineItem | null => {
    const item = overflow
      ? {
          kind: "error" as const,
          code: "line_too_long" as const,
          message: `line longer than ${maxLineBytes} bytes`,
          line,
          offset: lineStart,
        }
      : parseLine(decoder.decode(concat(pending, pendingBytes)), watched, line, lineStart);
    pending = [];
    pendingBytes = 0;
    overflow = false;
    return item;
  };

  for await (const chunk of input) {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    let from = 0;
    while (from < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, from);
      const end = newline < 0 ? bytes.length : newline;
      if (!overflow) {
        if (pendingBytes + (end - from) > maxLineBytes) {
          overflow = true;
          pending = [];
          pendingBytes = 0;
        } else if (end > from) {
          pending.push(bytes.subarray(from, end));
          pendingBytes += end - from;
        }
      }
      if (newline < 0) {
        position += bytes.length - from;
        break;
      }
      position += newline + 1 - from;
      const item = finishLine();
      if (item !== null) yield item;
      line++;
      lineStart = position;
      from = newline + 1;
    }
  }
  if (pendingBytes > 0 || overflow) {
    const item = finishLine();
    if (item !== null) yield item;
  }
}

function parseLine(text: string, watched: readonly Prefix[], line: number, offset: number): RisLiveLineItem | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const frame = parseRisFrame(asFrame(trimmed), watched);
  switch (frame.kind) {
    case "routes":
      return { kind: "events", events: frame.events, line, offset };
    case "error":
      return { kind: "error", code: frame.error.code, message: frame.error.message, line, offset };
    default:
      // Pongs, subscription acknowledgements and non-UPDATE messages carry no routes.
      return { kind: "events", events: [], line, offset };
  }
}

/** A saved `data` object (it has `host` and no `data` of its own) becomes the frame it came in. */
function asFrame(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text; // parseRisFrame classifies it
  }
  const isDataObject = typeof value === "object" && value !== null && !Array.isArray(value) && !("data" in value) && "host" in value;
  return isDataObject ? JSON.stringify({ type: "ris_message", data: value }) : text;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
