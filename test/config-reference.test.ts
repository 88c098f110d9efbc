// docs/configuration.md is the reference a newcomer reads; this keeps it true.
// Every key of every object the config schema accepts (walked through
// defaults, optionals, pipes, arrays, records and unions) must be documented
// as `path.to.field` in a heading or in the first cell of a "Field" table row,
// written with `[]` for array elements and `*` for record keys
// (`targets[].probes.dns.qname`, `popCatalogue.*.lat`). Table rows are also
// checked the other way (no row for a field the schema lost) and against the
// schema's defaults, so a changed default cannot leave the docs behind.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type * as z from "zod/mini";
import { configSchema } from "../packages/core/src/config/schema";

const DOC = new URL("../docs/configuration.md", import.meta.url);

type Schema = z.core.$ZodType;
/** The parts of zod's internal definition the walk reads (zod/mini exposes no public introspection). */
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  element?: Schema;
  innerType?: Schema;
  in?: Schema;
  options?: readonly Schema[];
  valueType?: Schema;
  left?: Schema;
  right?: Schema;
  items?: readonly Schema[];
  rest?: Schema | null;
  getter?: () => Schema;
  defaultValue?: unknown;
}

interface Field {
  /** Absent keys are refused (no default, not optional). */
  required: boolean;
  /** The value filled in when the key is absent, when the schema has one. */
  default?: { value: unknown };
  /** An object with fields of its own: their rows state the defaults, so its own row need not. */
  hasFields: boolean;
}

const defOf = (schema: Schema): Def => schema._zod.def as unknown as Def;

/** Types with nothing inside to document. */
const LEAF_TYPES = new Set([
  "string",
  "number",
  "int",
  "boolean",
  "bigint",
  "symbol",
  "null",
  "undefined",
  "void",
  "never",
  "any",
  "unknown",
  "date",
  "nan",
  "enum",
  "literal",
  "template_literal",
  "transform",
  "custom",
  "file",
  "success",
]);
/** Wrappers whose inner schema is what the user writes. */
const WRAPPER_TYPES = new Set(["default", "prefault", "optional", "nullable", "nonoptional", "readonly", "catch"]);

/** Every object key reachable from `schema`, by documentation path. */
function configFieldPaths(schema: Schema): Map<string, Field> {
  const fields = new Map<string, Field>();
  const active = new Set<Schema>();

  const visit = (node: Schema, path: string): void => {
    // A lazy schema may refer to itself; one pass through each node per path is enough.
    if (active.has(node)) return;
    active.add(node);
    try {
      const def = defOf(node);
      if (WRAPPER_TYPES.has(def.type)) visit(def.innerType!, path);
      else if (def.type === "pipe") visit(def.in!, path);
      else if (def.type === "lazy") visit(def.getter!(), path);
      else if (def.type === "array") visit(def.element!, `${path}[]`);
      else if (def.type === "set") visit(def.valueType!, `${path}[]`);
      else if (def.type === "record" || def.type === "map") visit(def.valueType!, `${path}.*`);
      else if (def.type === "union") for (const option of def.options!) visit(option, path);
      else if (def.type === "intersection") {
        visit(def.left!, path);
        visit(def.right!, path);
      } else if (def.type === "tuple") {
        for (const item of def.items!) visit(item, `${path}[]`);
        if (def.rest) visit(def.rest, `${path}[]`);
      } else if (def.type === "object") {
        for (const [key, value] of Object.entries(def.shape!)) {
          const fieldPath = path === "" ? key : `${path}.${key}`;
          if (!fields.has(fieldPath)) fields.set(fieldPath, describeField(value));
          visit(value, fieldPath);
        }
      } else if (!LEAF_TYPES.has(def.type)) {
        throw new Error(`config-reference walker: unknown zod type "${def.type}" at ${path || "(root)"}; teach the walker about it`);
      }
    } finally {
      active.delete(node);
    }
  };
  visit(schema, "");
  return fields;
}

function describeField(schema: Schema): Field {
  let node = schema;
  let required = true;
  let fallback: Field["default"];
  for (;;) {
    const def = defOf(node);
    if ((def.type === "default" || def.type === "prefault") && fallback === undefined) fallback = { value: def.defaultValue };
    if (def.type === "optional" || fallback !== undefined) required = false;
    if (WRAPPER_TYPES.has(def.type)) node = def.innerType!;
    else if (def.type === "pipe") node = def.in!;
    else return { required, ...(fallback === undefined ? {} : { default: fallback }), hasFields: def.type === "object" };
  }
}

interface DocRow {
  path: string;
  line: number;
  defaultCell: string | null;
}

/** Splits a Markdown table row on unescaped pipes. */
function cells(line: string): string[] {
  const parts = line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/);
  return parts.map((part) => part.trim().replace(/\\\|/g, "|"));
}

const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);

function readDocumentation(markdown: string): { headingPaths: Set<string>; rows: DocRow[] } {
  const headingPaths = new Set<string>();
  const rows: DocRow[] = [];
  const lines = markdown.split("\n");
  let defaultColumn: number | null = null;
  let inFieldTable = false;
  lines.forEach((line, index) => {
    if (/^#{1,6}\s/.test(line)) for (const span of codeSpans(line)) headingPaths.add(span);
    if (!line.trimStart().startsWith("|")) {
      inFieldTable = false;
      return;
    }
    const row = cells(line);
    if (!inFieldTable) {
      if (row[0] === "Field") {
        inFieldTable = true;
        const column = row.indexOf("Default");
        defaultColumn = column === -1 ? null : column;
      }
      return;
    }
    if (row.every((cell) => /^:?-+:?$/.test(cell))) return;
    for (const path of codeSpans(row[0] ?? "")) {
      rows.push({ path, line: index + 1, defaultCell: defaultColumn === null ? null : (row[defaultColumn] ?? "") });
    }
  });
  return { headingPaths, rows };
}

/** A Default cell's value: its first code span as JSON, or as a bare string (`udp` for "udp"). */
function documentedDefault(cell: string): unknown {
  const code = codeSpans(cell)[0];
  if (code === undefined) return undefined;
  try {
    return JSON.parse(code);
  } catch {
    return code;
  }
}

describe("docs/configuration.md", () => {
  const fields = configFieldPaths(configSchema);
  const { headingPaths, rows } = readDocumentation(readFileSync(DOC, "utf8"));
  const documented = new Set([...headingPaths, ...rows.map((row) => row.path)]);

  it("finds the schema's fields (the walk reaches nested objects, arrays, records and unions)", () => {
    for (const path of [
      "targets[].probes.dns.expect.rcode",
      "popCatalogue.*.lat",
      "alerting.sinks[].routingKey",
      "slos[].sli.thresholdMs",
      "analytics.alerts.flapping",
      "popIdentification.rules[].template",
    ]) {
      expect(fields.has(path), path).toBe(true);
    }
  });

  it("documents every field of the schema", () => {
    const missing = [...fields.keys()].filter((path) => !documented.has(path));
    expect(missing, `undocumented config fields (add them to docs/configuration.md): ${missing.join(", ")}`).toEqual([]);
  });

  it("documents no field the schema does not have", () => {
    const stale = rows.filter((row) => !fields.has(row.path)).map((row) => `${row.path} (line ${row.line})`);
    expect(stale, `rows for fields the schema does not have: ${stale.join(", ")}`).toEqual([]);
  });

  it("states each field's default as the schema fills it, and marks required fields", () => {
    const wrong: string[] = [];
    for (const row of rows) {
      const field = fields.get(row.path);
      if (field === undefined || row.defaultCell === null) continue;
      const saysRequired = /^required$/i.test(row.defaultCell);
      if (field.required !== saysRequired) {
        wrong.push(`${row.path} (line ${row.line}): ${field.required ? 'is required: write "required"' : `is optional, not "required"`}`);
      } else if (field.default !== undefined && !field.hasFields) {
        const expected = JSON.stringify(field.default.value);
        const actual = JSON.stringify(documentedDefault(row.defaultCell));
        if (actual !== expected)
          wrong.push(`${row.path} (line ${row.line}): default ${expected}, documented ${row.defaultCell || "(empty)"}`);
      }
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
  });
});
