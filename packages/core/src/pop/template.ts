// Operator rule templates: `$1`..`$9`, `$<name>` and `$$`, nothing else, so a
// typo is a config error instead of a silently literal `$x` in every PoP id.

export type TemplatePart = { kind: "text"; text: string } | { kind: "index"; index: number } | { kind: "name"; name: string };

export type TemplateParse = { ok: true; parts: TemplatePart[] } | { ok: false; error: string };

const GROUP_NAME = /^[A-Za-z_$][\w$]*$/;

export function parseTemplate(template: string): TemplateParse {
  const parts: TemplatePart[] = [];
  let text = "";
  const flushText = () => {
    if (text) parts.push({ kind: "text", text });
    text = "";
  };
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch !== "$") {
      text += ch;
      continue;
    }
    const next = template[i + 1];
    if (next === "$") {
      text += "$";
      i++;
    } else if (next !== undefined && next >= "1" && next <= "9") {
      flushText();
      parts.push({ kind: "index", index: Number(next) });
      i++;
    } else if (next === "<") {
      const close = template.indexOf(">", i + 2);
      const name = close === -1 ? "" : template.slice(i + 2, close);
      if (!GROUP_NAME.test(name)) {
        return {
          ok: false,
          error: `"${template.slice(i, close === -1 ? i + 2 : close + 1)}" at offset ${i} is not a valid $<name> reference`,
        };
      }
      flushText();
      parts.push({ kind: "name", name });
      i = close;
    } else {
      return { ok: false, error: `"$${next ?? ""}" at offset ${i} is not a group reference; use $1..$9, $<name>, or $$ for a literal $` };
    }
  }
  flushText();
  return { ok: true, parts };
}

/** A group that did not take part in the match expands to the empty string. */
export function expandTemplate(parts: readonly TemplatePart[], match: RegExpExecArray): string {
  let out = "";
  for (const part of parts) {
    if (part.kind === "text") out += part.text;
    else if (part.kind === "index") out += match[part.index] ?? "";
    else out += match.groups?.[part.name] ?? "";
  }
  return out;
}

/** Group count and names of a compiled regex, learned by matching an always-matching variant. */
export function describeGroups(regex: RegExp): { count: number; names: Set<string> } {
  const probe = new RegExp(`${regex.source}|`, regex.flags).exec("");
  return { count: probe ? probe.length - 1 : 0, names: new Set(Object.keys(probe?.groups ?? {})) };
}

export function templateReferenceErrors(parts: readonly TemplatePart[], regex: RegExp): string[] {
  const groups = describeGroups(regex);
  const errors: string[] = [];
  for (const part of parts) {
    if (part.kind === "index" && part.index > groups.count) {
      errors.push(`$${part.index} refers to a group the regex does not have (it has ${groups.count})`);
    } else if (part.kind === "name" && !groups.names.has(part.name)) {
      errors.push(`$<${part.name}> refers to a named group the regex does not have`);
    }
  }
  return errors;
}
