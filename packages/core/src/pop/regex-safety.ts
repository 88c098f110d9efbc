// JavaScript regexes backtrack, and a match cannot be interrupted: one operator
// rule like `(a+)+$` would stall every probe result. Capping the input length
// bounds polynomial cases only, so exponential shapes are refused up front.
// The check is the classic star-height test: a repeated group must not contain
// an unbounded quantifier. It is conservative (it also refuses some safe
// patterns such as `(?:[a-z]+\.)+`) and does not catch overlapping alternation
// like `(a|a)*`; the input cap keeps those to what an operator can notice.

interface GroupFrame {
  start: number;
  containsUnbounded: boolean;
}

type Quantifier = { end: number; max: number };

function readQuantifier(source: string, at: number): Quantifier | null {
  const ch = source[at];
  if (ch === "*" || ch === "+") return { end: at + 1, max: Infinity };
  if (ch === "?") return { end: at + 1, max: 1 };
  if (ch !== "{") return null;
  // Outside unicode mode a `{` that is not a well-formed quantifier is a literal.
  const braced = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at, at + 24));
  if (!braced) return null;
  const min = Number(braced[1]);
  const max = braced[2] === undefined ? min : braced[3] === "" ? Infinity : Number(braced[3]);
  return { end: at + braced[0].length, max };
}

function skipGroupPrefix(source: string, afterParen: number): number {
  if (source[afterParen] !== "?") return afterParen;
  const kind = source[afterParen + 1];
  if (kind === ":" || kind === "=" || kind === "!") return afterParen + 2;
  if (kind === "<") {
    const next = source[afterParen + 2];
    if (next === "=" || next === "!") return afterParen + 3;
    const close = source.indexOf(">", afterParen + 2);
    return close === -1 ? source.length : close + 1;
  }
  return afterParen + 1;
}

/** Describes the first repeated group containing an unbounded quantifier, or null. Expects a regex that compiles. */
export function findNestedQuantifier(source: string): string | null {
  const stack: GroupFrame[] = [{ start: 0, containsUnbounded: false }];
  let lastClosedGroup: GroupFrame | null = null;
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const current = stack[stack.length - 1]!;
    if (ch === "\\") {
      lastClosedGroup = null;
      i += 2;
    } else if (ch === "[") {
      i++;
      while (i < source.length && source[i] !== "]") i += source[i] === "\\" ? 2 : 1;
      i++;
      lastClosedGroup = null;
    } else if (ch === "(") {
      stack.push({ start: i, containsUnbounded: false });
      i = skipGroupPrefix(source, i + 1);
      lastClosedGroup = null;
    } else if (ch === ")") {
      const closed = stack.length > 1 ? stack.pop()! : current;
      const parent = stack[stack.length - 1]!;
      parent.containsUnbounded ||= closed.containsUnbounded;
      lastClosedGroup = closed;
      i++;
    } else {
      const quantifier = readQuantifier(source, i);
      if (quantifier) {
        if (lastClosedGroup?.containsUnbounded && quantifier.max > 1) {
          return `nested quantifier "${source.slice(lastClosedGroup.start, quantifier.end)}" can backtrack catastrophically; repeat a character class instead of a group that itself repeats`;
        }
        if (quantifier.max === Infinity) current.containsUnbounded = true;
        i = quantifier.end;
        if (source[i] === "?") i++; // lazy marker
      } else {
        i++;
      }
      lastClosedGroup = null;
    }
  }
  return null;
}
