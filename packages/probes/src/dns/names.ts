// Domain names on the wire (RFC 1035 §3.1, §4.1.4): encoding a presentation
// name, and the decoder's walkers over possibly compressed names. The walkers
// never throw; a name that cannot be read yields NAME_BROKEN.

/**
 * A presentation-form name (`www.example.com`, trailing dot optional, `\.`
 * and `\DDD` escapes) in wire form. Throws RangeError when it cannot be a
 * DNS name; callers turn that into a spec error.
 */
export function encodeName(presentation: string): Uint8Array {
  if (presentation === "" || presentation === ".") return Uint8Array.of(0);
  const out: number[] = [];
  let label: number[] = [];
  const endLabel = () => {
    if (label.length === 0) throw new RangeError("empty label");
    if (label.length > 63) throw new RangeError(`label longer than 63 octets`);
    out.push(label.length, ...label);
    label = [];
  };
  for (let i = 0; i < presentation.length; i++) {
    const ch = presentation.charCodeAt(i);
    if (ch === 0x2e /* . */) {
      endLabel();
      if (i === presentation.length - 1) break;
      continue;
    }
    if (ch === 0x5c /* \ */) {
      const digits = /^\d{3}/.exec(presentation.slice(i + 1, i + 4));
      if (digits) {
        const value = Number(digits[0]);
        if (value > 255) throw new RangeError(`escape \\${digits[0]} is above 255`);
        label.push(value);
        i += 3;
        continue;
      }
      if (i + 1 >= presentation.length) throw new RangeError("dangling backslash");
      i++;
      const escaped = presentation.charCodeAt(i);
      if (escaped > 0x7e) throw new RangeError("only ASCII may follow a backslash");
      label.push(escaped);
      continue;
    }
    if (ch < 0x21 || ch > 0x7e) throw new RangeError("names are ASCII without spaces; use \\DDD escapes (IDNs in A-label form)");
    label.push(ch);
  }
  if (presentation.charCodeAt(presentation.length - 1) !== 0x2e) endLabel();
  out.push(0);
  if (out.length > 255) throw new RangeError("name longer than 255 octets");
  return Uint8Array.from(out);
}

const POINTER_HOPS_MAX = 64;

// Offset returned by the name walkers for a name that cannot be read.
export const NAME_BROKEN = -1;

/** Offset after the name at `off`, or NAME_BROKEN. Follows no pointers: a pointer ends the name in place. */
export function skipName(buf: Buffer, off: number): number {
  let wireLength = 0;
  for (;;) {
    if (off >= buf.length) return NAME_BROKEN;
    const len = buf[off]!;
    if (len === 0) return off + 1;
    const kind = len & 0xc0;
    if (kind === 0xc0) return off + 2 <= buf.length ? off + 2 : NAME_BROKEN;
    if (kind !== 0) return NAME_BROKEN; // 0x40 extended and 0x80 reserved label types
    wireLength += len + 1;
    if (wireLength > 254) return NAME_BROKEN;
    off += len + 1;
  }
}

// Bytes that stand for themselves in presentation form: letters, digits, - and _.
const PLAIN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) PLAIN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) PLAIN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) PLAIN[c] = 1;
PLAIN[0x2d] = 1;
PLAIN[0x5f] = 1;
PLAIN[0x2a] = 1; // * (wildcard owner names)

function escapeLabelByte(c: number): string {
  // RFC 1035 §5.1: special characters get a backslash, non-printables \DDD.
  if (c > 0x20 && c < 0x7f) return "\\" + String.fromCharCode(c);
  return "\\" + String(c).padStart(3, "0");
}

/** Where readName leaves the name it read, so the hot path allocates no result object per name. */
export const nameOut = { value: "" };
/** The question's name as last read by parseUnchecked, for owner names that merely point at it. */
let questionName: string | null = null;

/** The message parser sets this around each parse and clears it after, so no name outlives its message. */
export function rememberQuestionName(name: string | null): void {
  questionName = name;
}

/**
 * Reads the (possibly compressed) name at `off`. Returns the offset after it
 * in the original stream, or NAME_BROKEN; the name is left in `nameOut.value`.
 * Pointers must point strictly backwards, which rules out loops.
 */
export function readName(buf: Buffer, off: number): number {
  // Most answers name their owner with a pointer to the question (offset 12): reuse that string.
  if (questionName !== null && buf[off] === 0xc0 && buf[off + 1] === 12) {
    nameOut.value = questionName;
    return off + 2;
  }
  let name = "";
  let next = -1;
  let hops = 0;
  let wireLength = 0;
  let pos = off;
  for (;;) {
    if (pos >= buf.length) return NAME_BROKEN;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return NAME_BROKEN;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos || ++hops > POINTER_HOPS_MAX) return NAME_BROKEN;
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) return NAME_BROKEN;
    const start = pos + 1;
    const end = start + len;
    if (end > buf.length) return NAME_BROKEN;
    wireLength += len + 1;
    if (wireLength > 254) return NAME_BROKEN;
    let plain = true;
    for (let i = start; i < end; i++) {
      if (PLAIN[buf[i]!] === 0) {
        plain = false;
        break;
      }
    }
    if (name.length > 0) name += ".";
    if (plain) name += buf.toString("latin1", start, end);
    else for (let i = start; i < end; i++) name += PLAIN[buf[i]!] === 1 ? String.fromCharCode(buf[i]!) : escapeLabelByte(buf[i]!);
    pos = end;
  }
  nameOut.value = name === "" ? "." : name;
  return next;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * True when the name at `off` equals `wire` (uncompressed), ASCII
 * case-insensitively (RFC 4343). The name must already be known to be
 * well-formed (skipName), so only pointers need bounds checks.
 */
export function nameEquals(buf: Buffer, off: number, wire: Uint8Array): boolean {
  let pos = off;
  let w = 0;
  let hops = 0;
  for (;;) {
    if (pos >= buf.length) return false;
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return false;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos || ++hops > POINTER_HOPS_MAX) return false;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return false;
    if (w >= wire.length || wire[w] !== len) return false;
    if (len === 0) return true;
    if (pos + 1 + len > buf.length) return false;
    for (let i = 1; i <= len; i++) {
      if (lowerAscii(buf[pos + i]!) !== lowerAscii(wire[w + i]!)) return false;
    }
    pos += len + 1;
    w += len + 1;
  }
}
