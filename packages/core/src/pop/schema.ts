// Operator configuration for PoP identification. Validation happens here, once,
// so the identifier can assume compiled rules are sound and stay total.

import * as z from "zod/mini";
import { ConfigError } from "../errors";
import type { PopSource } from "../result";
import { toConfigIssues, useEnglishZodMessages } from "../zod-messages";
import { findNestedQuantifier } from "./regex-safety";
import { parseTemplate, templateReferenceErrors } from "./template";

useEnglishZodMessages();

/** RFC 9110 token characters: what a header field name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const FIXED_SOURCES = ["nsid", "id.server", "hostname.bind", "tls-fingerprint"] as const;
const SOURCE_HINT = `one of ${FIXED_SOURCES.join(", ")} or header:<name>`;

/** `header:X-Served-By` and `header:x-served-by` are the same source; evidence header names are lowercase. */
function normalizeSource(source: string): PopSource | null {
  if ((FIXED_SOURCES as readonly string[]).includes(source)) return source as PopSource;
  if (!source.toLowerCase().startsWith("header:")) return null;
  const name = source.slice("header:".length).toLowerCase();
  return HEADER_NAME.test(name) ? `header:${name}` : null;
}

export const popSourceSchema = z.pipe(
  z.string(),
  z.transform((source: string, ctx): PopSource => {
    const normalized = normalizeSource(source.trim());
    if (normalized === null) {
      ctx.issues.push({ code: "custom", message: `must be ${SOURCE_HINT}, got ${JSON.stringify(source)}`, input: source });
      return z.NEVER;
    }
    return normalized;
  }),
);

function regexProblem(source: string): string | null {
  let compiled: RegExp;
  try {
    compiled = new RegExp(source);
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "") : String(err);
    return `invalid regular expression: ${detail}`;
  }
  const nested = findNestedQuantifier(compiled.source);
  return nested === null ? null : `unsafe regular expression: ${nested}`;
}

export const popRuleSchema = z
  .strictObject({
    source: popSourceSchema,
    regex: z.string().check(
      z.minLength(1, "must not be empty"),
      z.superRefine((source, ctx) => {
        const problem = regexProblem(source);
        if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
      }),
    ),
    template: z.string().check(
      z.superRefine((template, ctx) => {
        const parsed = parseTemplate(template);
        if (!parsed.ok) ctx.addIssue({ code: "custom", message: `invalid template: ${parsed.error}` });
      }),
    ),
  })
  .check(
    z.superRefine((rule, ctx) => {
      // Zod runs this even after a field refinement failed; cross-checking needs both fields sound.
      const parsed = parseTemplate(rule.template);
      if (!parsed.ok || regexProblem(rule.regex) !== null) return;
      for (const error of templateReferenceErrors(parsed.parts, new RegExp(rule.regex))) {
        ctx.addIssue({ code: "custom", path: ["template"], message: `invalid template: ${error}` });
      }
    }),
  );

/** Certificate fingerprints are written with or without colons, in either case; compare one canonical form. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[:\s]/g, "").toLowerCase();
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

const tlsFingerprintsSchema = z.pipe(
  z.record(z.string(), z.string().check(z.trim(), z.minLength(1, "must name a PoP"))).check(
    z.superRefine((fingerprints, ctx) => {
      const seen = new Map<string, { key: string; popId: string }>();
      for (const [key, popId] of Object.entries(fingerprints)) {
        const fingerprint = normalizeFingerprint(key);
        if (!SHA256_HEX.test(fingerprint)) {
          ctx.addIssue({ code: "custom", path: [key], message: "key must be a SHA-256 fingerprint: 64 hex digits, colons optional" });
          continue;
        }
        const earlier = seen.get(fingerprint);
        if (earlier && earlier.popId !== popId) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `same fingerprint as ${JSON.stringify(earlier.key)} but a different PoP (${JSON.stringify(popId)} vs ${JSON.stringify(earlier.popId)})`,
          });
        }
        seen.set(fingerprint, { key, popId });
      }
    }),
  ),
  z.transform((fingerprints: Record<string, string>) =>
    Object.fromEntries(Object.entries(fingerprints).map(([key, popId]) => [normalizeFingerprint(key), popId])),
  ),
);

export const popIdentificationSchema = z.strictObject({
  rules: z._default(z.array(popRuleSchema), []),
  tlsFingerprints: z._default(tlsFingerprintsSchema, {}),
});

/** Validated configuration: header sources lowercased, fingerprints normalized. */
export type PopIdentification = z.output<typeof popIdentificationSchema>;
/** Configuration as an operator writes it. */
export type PopIdentificationConfig = z.input<typeof popIdentificationSchema>;

/** Validates operator configuration (undefined or null: none); throws ConfigError naming every bad field by its dotted path. */
export function parsePopIdentification(input: unknown): PopIdentification {
  const parsed = popIdentificationSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(toConfigIssues(parsed.error.issues));
  return parsed.data;
}
