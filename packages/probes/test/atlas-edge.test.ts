// Generated Atlas results for the cases the public fixtures do not cover
// (NSIDs on resultsets, timeouts and socket errors, IPv6, bad Base64,
// truncated answers, bad times, unknown types), and properties over arbitrary
// input: mapping never throws, and every result or entry is accounted for
// exactly once. Answers are encoded by dns-packet, not by popwatch.

import dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeBase64 } from "../src/atlas/dns";
import { ATLAS_UNMAPPED_REASONS, type AtlasMapping, mapAtlasResult } from "../src/index";

const now = Date.UTC(2026, 11, 6, 12);
const at = Math.floor(Date.UTC(2026, 10, 1, 9, 30, 15) / 1000);

interface AnswerOptions {
  nsid?: string | Buffer;
  rcode?: number;
  tc?: boolean;
  qr?: boolean;
  answers?: dnsPacket.Answer[];
}

function answer(options: AnswerOptions = {}): Buffer {
  let flags = (options.rcode ?? 0) | dnsPacket.AUTHORITATIVE_ANSWER;
  if (options.tc) flags |= dnsPacket.TRUNCATED_RESPONSE;
  return dnsPacket.encode({
    type: options.qr === false ? "query" : "response",
    id: 4242,
    flags,
    questions: [{ name: "example.net", type: "SOA", class: "IN" }],
    answers: options.answers ?? [],
    additionals:
      options.nsid === undefined
        ? []
        : [
            {
              type: "OPT",
              name: ".",
              udpPayloadSize: 1232,
              flags: 0,
              options: [{ code: 3, data: Buffer.isBuffer(options.nsid) ? options.nsid : Buffer.from(options.nsid) }],
            } as unknown as dnsPacket.Answer,
          ],
  });
}

function dnsResult(
  overrides: Record<string, unknown> = {},
  abuf: Buffer | string = answer({ nsid: "gpdns-fra" }),
): Record<string, unknown> {
  return {
    type: "dns",
    af: 4,
    prb_id: 6001,
    msm_id: 9000001,
    timestamp: at,
    from: "198.51.100.7",
    dst_addr: "203.0.113.53",
    proto: "UDP",
    result: { rt: 12.3456, size: 64, ID: 4242, ANCOUNT: 0, abuf: typeof abuf === "string" ? abuf : abuf.toString("base64") },
    ...overrides,
  };
}

function map(raw: unknown): AtlasMapping {
  return mapAtlasResult(raw, { now });
}

describe("dns edge cases", () => {
  test("NSID present: recorded as a probe records it, and the PoP identified from it", () => {
    const { results, unmapped } = map(dnsResult());
    expect(unmapped).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      kind: "dns",
      region: "atlas-6001",
      slotAt: "2026-11-01T09:30:15.000Z",
      target: "203.0.113.53:53",
      ok: true,
      nsid: "gpdns-fra",
      nsidHex: Buffer.from("gpdns-fra").toString("hex"),
      timings: { totalMs: 12.346, rttMs: 12.346 },
      qname: "example.net",
      qtype: "SOA",
    });
    expect(results[0]!.pop).toMatchObject({ source: "nsid", raw: "gpdns-fra", id: "fra", iata: "fra" });
  });

  test("a binary NSID is kept as hex and still identifies a PoP", () => {
    const { results } = map(dnsResult({}, answer({ nsid: Buffer.from([0x00, 0xff, 0x10]) })));
    expect(results[0]).toMatchObject({ nsid: null, nsidHex: "00ff10" });
    expect(results[0]!.pop).toMatchObject({ source: "nsid", raw: "00ff10" });
  });

  test("resultset: one result per entry, each with its own time, address, NSID and outcome; IPv6 targets in brackets", () => {
    const raw = {
      type: "dns",
      prb_id: 6002,
      timestamp: at,
      resultset: [
        { af: 4, dst_addr: "203.0.113.53", time: at, result: { rt: 5, abuf: answer({ nsid: "ams2" }).toString("base64") } },
        {
          af: 6,
          dst_addr: "2001:db8::53",
          time: at + 60,
          proto: "TCP",
          result: { rt: 7.5, abuf: answer({ nsid: "lhr3" }).toString("base64") },
        },
        { af: 4, dst_addr: "203.0.113.54", time: at + 120, error: { timeout: 5000 } },
        { af: 4, dst_addr: "203.0.113.55", time: at + 180, error: { socket: "connect failed Network is unreachable" } },
        { af: 4, dst_addr: "203.0.113.56", time: at + 240, error: { getaddrinfo: "Name or service not known" } },
      ],
    };
    const { results, unmapped } = map(raw);
    expect(unmapped).toEqual([]);
    expect(results.map((r) => r.slotAt)).toEqual([0, 60, 120, 180, 240].map((s) => new Date((at + s) * 1000).toISOString()));
    expect(results.map((r) => r.target)).toEqual([
      "203.0.113.53:53",
      "[2001:db8::53]:53",
      "203.0.113.54:53",
      "203.0.113.55:53",
      "203.0.113.56:53",
    ]);
    expect(results.map((r) => (r as { nsid?: string | null }).nsid)).toEqual(["ams2", "lhr3", undefined, undefined, undefined]);
    expect(results.map((r) => r.failure?.code ?? null)).toEqual([null, null, "timeout", "unreachable", "name_resolution"]);
    expect(results[1]).toMatchObject({ transport: "tcp", address: "2001:db8::53" });
    expect(results[2]!.timings.totalMs).toBe(5000);
    expect(results[3]!.failure!.message).toContain("connect failed Network is unreachable");
  });

  test("resultset entries that cannot be mapped are counted one by one beside the ones that can", () => {
    const raw = {
      type: "dns",
      prb_id: 6003,
      timestamp: at,
      resultset: [
        "not an entry",
        { dst_addr: "203.0.113.53", time: at, result: { abuf: "***" } },
        { dst_addr: "203.0.113.53", time: at },
        { dst_addr: "203.0.113.53", time: 12, result: { abuf: answer().toString("base64") } },
        { time: at, result: { abuf: answer().toString("base64") } },
        { dst_addr: "203.0.113.53", time: at, result: { rt: 1, abuf: answer().toString("base64") } },
      ],
    };
    const { results, unmapped } = map(raw);
    expect(unmapped).toEqual(["malformed", "bad_abuf", "no_answer", "bad_time", "malformed"]);
    expect(results).toHaveLength(1);
  });

  test("an empty resultset is one no_answer, not nothing", () => {
    expect(map({ type: "dns", prb_id: 1, timestamp: at, resultset: [] })).toEqual({ results: [], unmapped: ["no_answer"] });
  });

  test("bad Base64, a truncated message and a query instead of an answer are bad_abuf", () => {
    const whole = answer({ nsid: "x" });
    for (const abuf of [
      "not base64!",
      "QUJD=",
      "QQ",
      whole.subarray(0, 11).toString("base64"),
      whole.subarray(0, whole.length - 3).toString("base64"),
      answer({ qr: false }).toString("base64"),
    ]) {
      expect(map(dnsResult({}, abuf)), abuf).toEqual({ results: [], unmapped: ["bad_abuf"] });
    }
  });

  test("TC=1 is recorded as truncated and judged dns_truncated; an error rcode is recorded and judged dns_rcode", () => {
    const truncated = map(dnsResult({}, answer({ tc: true }))).results[0]!;
    expect(truncated).toMatchObject({ ok: false, truncated: true, failure: { code: "dns_truncated" } });
    const refused = map(dnsResult({}, answer({ rcode: 5, nsid: "par1" }))).results[0]!;
    expect(refused).toMatchObject({ ok: false, rcode: "REFUSED", failure: { code: "dns_rcode" }, nsid: "par1" });
    expect(refused.pop?.raw).toBe("par1");
  });

  test("dst_port and dst_name are used when given", () => {
    const { results } = map(dnsResult({ dst_port: 5353, dst_name: "ns1.example.net", af: 6, dst_addr: "2001:db8::1" }));
    expect(results[0]).toMatchObject({ target: "[2001:db8::1]:5353", port: 5353, name: "ns1.example.net", address: "2001:db8::1" });
  });

  test("times before Atlas or more than a day ahead are bad_time; a non-number time is malformed", () => {
    expect(map(dnsResult({ timestamp: Date.UTC(2009, 11, 31) / 1000 })).unmapped).toEqual(["bad_time"]);
    expect(map(dnsResult({ timestamp: now / 1000 + 2 * 86_400 })).unmapped).toEqual(["bad_time"]);
    expect(map(dnsResult({ timestamp: now / 1000 + 3600 })).unmapped).toEqual([]);
    expect(map(dnsResult({ timestamp: "1400000000" })).unmapped).toEqual(["malformed"]);
  });

  test("missing or invalid prb_id, no destination, unknown error shapes and non-objects are malformed", () => {
    for (const raw of [
      dnsResult({ prb_id: undefined }),
      dnsResult({ prb_id: "6001" }),
      dnsResult({ prb_id: -1 }),
      dnsResult({ prb_id: 1.5 }),
      dnsResult({ dst_addr: undefined }),
      dnsResult({ dst_addr: "ns.example.net" }),
      dnsResult({ dst_port: 70000 }),
      dnsResult({ result: undefined, error: { TUcheck: "odd" } }),
      dnsResult({ resultset: "nope" }),
      { ...dnsResult(), type: undefined },
      null,
      [],
      "dns",
      42,
    ]) {
      expect(map(raw), JSON.stringify(raw)).toEqual({ results: [], unmapped: ["malformed"] });
    }
  });

  test("a result with neither result nor error is no_answer; unknown and ping types are unsupported_type", () => {
    expect(map(dnsResult({ result: undefined })).unmapped).toEqual(["no_answer"]);
    expect(map({ ...dnsResult(), type: "traceroute" }).unmapped).toEqual(["unsupported_type"]);
    expect(
      map({ type: "ping", prb_id: 1, timestamp: at, dst_addr: "203.0.113.1", min: 1, avg: 2, max: 3, sent: 3, rcvd: 3 }).unmapped,
    ).toEqual(["unsupported_type"]);
    expect(map({ ...dnsResult(), type: "constructor" }).unmapped).toEqual(["unsupported_type"]);
  });

  test("Atlas's own strange keys are read as data, not as prototype members", () => {
    const raw = JSON.parse(
      `{"type":"dns","prb_id":5,"timestamp":${at},"dst_addr":"203.0.113.9","__proto__":{"result":{"abuf":"x"}},"error":{"timeout":1}}`,
    );
    expect(map(raw).results[0]!.failure!.code).toBe("timeout");
  });
});

describe("http and sslcert edge cases", () => {
  test("http: headers kept by Atlas are PoP evidence; a status outside 200-399 is http_status; https uri gives port 443", () => {
    const raw = {
      type: "http",
      prb_id: 7001,
      timestamp: at,
      uri: "https://www.example.net/health",
      result: [
        {
          af: 6,
          dst_addr: "2001:db8::80",
          res: 503,
          rt: 40.5,
          ttc: 10,
          hsize: 100,
          bsize: 12,
          ver: "1.1",
          header: ["HTTP/1.1 503 Service Unavailable", "Server: edge", "X-Served-By: cache-fra19120-FRA"],
        },
        { af: 4, dst_addr: "203.0.113.80", dnserr: "non-recoverable failure in name resolution" },
      ],
    };
    const { results, unmapped } = map(raw);
    expect(unmapped).toEqual([]);
    expect(results[0]).toMatchObject({
      kind: "http",
      target: "[2001:db8::80]:443",
      status: 503,
      ok: false,
      failure: { code: "http_status" },
      headers: { server: "edge", "x-served-by": "cache-fra19120-FRA" },
      timings: { totalMs: 40.5, connectMs: 10 },
    });
    expect(results[0]!.pop).toMatchObject({ source: "header:x-served-by" });
    expect(results[1]).toMatchObject({ failure: { code: "name_resolution" }, status: null });
  });

  test("http: an empty or missing request list is counted", () => {
    expect(map({ type: "http", prb_id: 1, timestamp: at, result: [] }).unmapped).toEqual(["no_answer"]);
    expect(map({ type: "http", prb_id: 1, timestamp: at, result: [1, {}] }).unmapped).toEqual(["malformed", "malformed"]);
  });

  test("sslcert: a PEM node:crypto cannot read makes the leaf unreadable, not a crash", () => {
    const { results } = map({
      type: "sslcert",
      prb_id: 8001,
      timestamp: at,
      dst_addr: "203.0.113.43",
      dst_port: "443",
      cert: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
      rt: 20,
      ttc: 5,
    });
    expect(results[0]).toMatchObject({
      kind: "tls",
      ok: false,
      failure: { code: "tls_cert_invalid" },
      certificate: null,
      chain: [],
      timings: { totalMs: 20, connectMs: 5, tlsMs: 15 },
    });
  });

  test("sslcert: no certificate is a handshake failure; an error is a failure with Atlas's text", () => {
    expect(map({ type: "sslcert", prb_id: 8002, timestamp: at, dst_addr: "203.0.113.43" }).results[0]!.failure!.code).toBe("tls_handshake");
    const failed = map({ type: "sslcert", prb_id: 8002, timestamp: at, dst_addr: "203.0.113.43", err: "connect: timeout" }).results[0]!;
    expect(failed.failure).toMatchObject({ code: "closed" });
    expect(failed.failure!.message).toContain("connect: timeout");
  });
});

describe("properties", () => {
  // How many popwatch results-or-reasons one input stands for: one per resultset / request entry, else one.
  function expectedCount(raw: unknown): number {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return 1;
    const object = raw as Record<string, unknown>;
    const type = Object.hasOwn(object, "type") ? object.type : undefined;
    const probe = Object.hasOwn(object, "prb_id") ? object.prb_id : undefined;
    if (type !== "dns" && type !== "http") return 1;
    if (typeof probe !== "number" || !Number.isSafeInteger(probe) || probe <= 0) return 1;
    const entries =
      type === "dns"
        ? Object.hasOwn(object, "resultset")
          ? object.resultset
          : undefined
        : Object.hasOwn(object, "result")
          ? object.result
          : undefined;
    if (type === "dns" && entries === undefined) return 1;
    return Array.isArray(entries) ? Math.max(1, entries.length) : 1;
  }

  function expectAccounted(raw: unknown, mapping: AtlasMapping): void {
    expect(mapping.results.length + mapping.unmapped.length).toBe(expectedCount(raw));
    for (const reason of mapping.unmapped) expect(ATLAS_UNMAPPED_REASONS).toContain(reason);
    for (const result of mapping.results) {
      expect(result.region).toMatch(/^atlas-\d+$/);
      expect(Number.isFinite(Date.parse(result.slotAt))).toBe(true);
      expect(result.ok).toBe(result.failure === null);
    }
  }

  test("arbitrary JSON values never throw and are accounted for exactly once", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expectAccounted(value, map(value));
      }),
      { numRuns: 500 },
    );
  });

  const entry = fc.record(
    {
      dst_addr: fc.constantFrom("203.0.113.53", "2001:db8::53", "x", 7),
      time: fc.oneof(fc.integer({ min: 1_200_000_000, max: 1_900_000_000 }), fc.constant("t")),
      proto: fc.constantFrom("UDP", "TCP", 1),
      result: fc.record(
        {
          rt: fc.oneof(fc.double(), fc.constant(3)),
          abuf: fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b).toString("base64")),
        },
        { requiredKeys: [] },
      ),
      error: fc.dictionary(fc.constantFrom("timeout", "socket", "getaddrinfo", "other"), fc.jsonValue(), { maxKeys: 2 }),
      qbuf: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString("base64")),
    },
    { requiredKeys: [] },
  );

  test("Atlas-shaped dns results with arbitrary abuf bytes never throw and are accounted for exactly once", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          entry.map((e) => ({ type: "dns", prb_id: 42, timestamp: at, ...e })),
          fc.array(entry, { maxLength: 5 }).map((resultset) => ({ type: "dns", prb_id: 42, timestamp: at, resultset })),
        ),
        (raw) => {
          const mapping = map(raw);
          expectAccounted(raw, mapping);
          for (const result of mapping.results) if (!result.ok) expect(result.failure!.code).toMatch(/^[a-z_]+$/);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("valid answers with arbitrary bytes appended or cut off map or count as bad_abuf, never throw", () => {
    const whole = answer({ nsid: "fra1", answers: [{ name: "example.net", type: "A", ttl: 60, data: "203.0.113.1" }] });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: whole.length }), fc.uint8Array({ maxLength: 40 }), (cut, tail) => {
        const bytes = Buffer.concat([whole.subarray(0, cut), tail]);
        const mapping = map(dnsResult({}, bytes));
        expectAccounted(null, mapping);
        if (mapping.unmapped.length > 0) expect(mapping.unmapped).toEqual(["bad_abuf"]);
      }),
      { numRuns: 300 },
    );
  });

  test("strict Base64: every encoding of bytes decodes back; anything else outside the alphabet and padding is refused", () => {
    const strict = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeBase64(Buffer.from(bytes).toString("base64"))).toEqual(Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 24 }), fc.stringMatching(/^[A-Za-z0-9+/=]{0,12}$/)), (text) => {
        expect(decodeBase64(text) !== null).toBe(strict.test(text));
        const mapping = map(dnsResult({}, text));
        expectAccounted(null, mapping);
      }),
      { numRuns: 500 },
    );
  });
});
