import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { headersFromRaw } from "../src/http/exchange";
import { httpVersionOf } from "../src/probes/http";

const anyString = fc.string({ unit: "binary", maxLength: 40 });
const headerName = fc.oneof(
  anyString,
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "X-Served-By", "x-served-by", "Set-Cookie"),
);

describe("response headers as facts", () => {
  it("never throw, lowercase every name and join repeats with ', ' in arrival order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(headerName, anyString), { maxLength: 12 }), (pairs) => {
        const record = headersFromRaw(pairs.flat());
        const expected = new Map<string, string[]>();
        for (const [name, value] of pairs) {
          const key = name.toLowerCase();
          expected.set(key, [...(expected.get(key) ?? []), value]);
        }
        expect(Object.keys(record).sort()).toEqual([...expected.keys()].sort());
        for (const [key, values] of expected) {
          expect(Object.hasOwn(record, key)).toBe(true);
          expect(record[key]).toBe(values.join(", "));
        }
        expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
      }),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("tolerate an odd-length list by dropping the dangling name", () => {
    expect(headersFromRaw(["X-A", "1", "X-B"])).toEqual({ "x-a": "1" });
    fc.assert(fc.property(fc.array(anyString, { maxLength: 15 }), (raw) => void headersFromRaw(raw)));
  });

  it("read the version from a status line and nothing else", () => {
    expect(httpVersionOf("HTTP/1.1 200 OK")).toBe("1.1");
    expect(httpVersionOf("HTTP/1.0 503 ")).toBe("1.0");
    expect(httpVersionOf("HTTP/2 200")).toBe("2");
    expect(httpVersionOf("SSH-2.0-OpenSSH")).toBeNull();
    fc.assert(
      fc.property(anyString, (head) => {
        const v = httpVersionOf(head);
        expect(v === null || /^\d(\.\d)?$/.test(v)).toBe(true);
      }),
    );
  });
});
