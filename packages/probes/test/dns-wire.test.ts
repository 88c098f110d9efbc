import * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TYPE_OPT } from "../src/dns/codes";
import { encodeName } from "../src/dns/names";
import { DECODER_FAULT, type ExpectedQuestion, buildQueryTemplate, inspectDnsResponse, parseDnsMessage } from "../src/dns/wire";

const question: ExpectedQuestion = { nameWire: encodeName("www.example.test"), qtype: 1, qclass: 1 };

function response(answers: dnsPacket.Answer[], extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: "response",
    id: 0x1234,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: "www.example.test", type: "A", class: "IN" }],
    answers,
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [{ code: 3, data: Buffer.from("pop-1") }] as unknown as dnsPacket.PacketOpt[],
      },
    ],
    ...extra,
  });
}

const sample = (type: string, data: unknown): dnsPacket.Answer =>
  ({ name: "www.example.test", type, class: "IN", ttl: 60, data }) as dnsPacket.Answer;

// Valid responses covering every RDATA formatter, the seeds of the mutation property.
const VALID: Buffer[] = [
  response([sample("A", "192.0.2.1"), sample("AAAA", "2001:db8::1")]),
  response([sample("CNAME", "target.example.test"), sample("NS", "ns1.example.test"), sample("PTR", "host.example.test")]),
  response([
    sample("MX", { preference: 10, exchange: "mx.example.test" }),
    sample("SRV", { priority: 1, weight: 2, port: 53, target: "dns.example.test" }),
  ]),
  response([sample("SOA", { mname: "ns1.example.test", rname: "h.example.test", serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 })]),
  response([sample("TXT", ['a"b\\c', Buffer.from([0, 1, 200])]), sample("CAA", { flags: 0, tag: "issue", value: "ca.example" })]),
  response([
    sample("DS", { keyTag: 1, algorithm: 13, digestType: 2, digest: Buffer.alloc(32, 0xab) }),
    sample("DNSKEY", { flags: 257, algorithm: 13, key: Buffer.alloc(64, 7) }),
  ]),
  response([
    sample("RRSIG", {
      typeCovered: "A",
      algorithm: 13,
      labels: 3,
      originalTTL: 60,
      expiration: 1700000000,
      inception: 1690000000,
      keyTag: 9,
      signersName: "example.test",
      signature: Buffer.alloc(64, 3),
    }),
    sample("NSEC", { nextDomain: "z.example.test", rrtypes: ["A", "AAAA", "RRSIG", "NSEC"] }),
  ]),
  response([sample("HINFO", { cpu: "x86", os: "linux" }), sample("NULL", Buffer.from([1, 2, 3]))]),
  response([], { flags: 3 }),
];

describe("dns wire: decoding", () => {
  it("presents every supported RDATA type", () => {
    const data = VALID.flatMap((buf) => {
      const parsed = parseDnsMessage(buf);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.message.answers.map((a) => `${a.type} ${a.data}`);
    });
    expect(data).toEqual([
      "A 192.0.2.1",
      "AAAA 2001:db8::1",
      "CNAME target.example.test",
      "NS ns1.example.test",
      "PTR host.example.test",
      "MX 10 mx.example.test",
      "SRV 1 2 53 dns.example.test",
      "SOA ns1.example.test h.example.test 1 2 3 4 5",
      'TXT a\\"b\\\\c\\000\\001\\200',
      'CAA 0 issue "ca.example"',
      `DS 1 13 2 ${"AB".repeat(32)}`,
      `DNSKEY 257 3 13 ${Buffer.alloc(64, 7).toString("base64")}`,
      `RRSIG A 13 3 60 20231114221320 20230722042640 9 example.test ${Buffer.alloc(64, 3).toString("base64")}`,
      "NSEC z.example.test A AAAA RRSIG NSEC",
      'HINFO "x86" "linux"',
      "NULL \\# 3 010203",
    ]);
  });

  it("reads header, question, EDNS and the NSID option", () => {
    const parsed = parseDnsMessage(VALID[0]!);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.message).toMatchObject({
      id: 0x1234,
      qr: true,
      opcode: 0,
      rcode: 0,
      flags: { aa: true, tc: false },
      question: { name: "www.example.test", type: 1, class: 1 },
      edns: { udpPayloadSize: 1232, version: 0, dnssecOk: false },
    });
    expect(Buffer.from(parsed.message.edns!.options[0]!.data).toString()).toBe("pop-1");
  });

  it("formats IPv6 per RFC 5952", () => {
    const cases: [string, string][] = [
      ["0:0:0:0:0:0:0:1", "::1"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
      ["fe80:0:0:0:0:0:0:0", "fe80::"],
    ];
    for (const [input, expected] of cases) {
      const parsed = parseDnsMessage(response([sample("AAAA", input)]));
      expect(parsed.ok && parsed.message.answers[0]!.data).toBe(expected);
    }
  });

  it("follows compression pointers and reuses the question's name", () => {
    const hex =
      "1234 8400 0001 0002 0000 0000" +
      "03777777076578616d706c650474657374 00 0001 0001" + // www.example.test A IN
      "c00c 0005 0001 0000003c 0006 036e6577c010" + // CNAME new.example.test (pointer to example.test)
      "c02e 0001 0001 0000003c 0004 c0000201"; // new.example.test A 192.0.2.1 (pointer into the CNAME rdata)
    const bytes = Buffer.from(hex.replace(/\s+/g, ""), "hex");
    const parsed = parseDnsMessage(bytes);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.message.answers.map((a) => `${a.name} ${a.type} ${a.data}`)).toEqual([
      "www.example.test CNAME new.example.test",
      "new.example.test A 192.0.2.1",
    ]);
  });

  it("rejects pointer loops and forward pointers, escapes odd label bytes", () => {
    expect(parseDnsMessage(Buffer.from("123484000001000000000000c00c00010001", "hex"))).toMatchObject({ ok: false });
    expect(parseDnsMessage(Buffer.from("123484000001000000000000c01000010001", "hex"))).toMatchObject({ ok: false });
    const odd = parseDnsMessage(Buffer.from("12348400000100000000000003612e6202ff2000 0001 0001".replace(/\s/g, ""), "hex"));
    expect(odd.ok && odd.message.question?.name).toBe("a\\.b.\\255\\032");
  });

  it("falls back to RFC 3597 hex for RDATA that does not fit its type", () => {
    const good = response([sample("A", "192.0.2.1")]);
    // Stretch the A record's RDLENGTH to 5 and append a byte: the message is fine, the A data is not.
    const rdlengthAt = good.indexOf(Buffer.from([0xc0, 0x00, 0x02, 0x01])) - 2;
    const patched = Buffer.concat([
      good.subarray(0, rdlengthAt),
      Buffer.from([0, 5]),
      good.subarray(rdlengthAt + 2, rdlengthAt + 6),
      Buffer.from([9]),
      good.subarray(rdlengthAt + 6),
    ]);
    const parsed = parseDnsMessage(patched);
    expect(parsed.ok && parsed.message.answers[0]!.data).toBe("\\# 5 c000020109");
  });

  it("combines the OPT extended rcode with the header's", () => {
    const parsed = parseDnsMessage(response([], { flags: 0 }));
    expect(parsed.ok && parsed.message.rcode).toBe(0);
    const buf = Buffer.from(response([]));
    const optAt = buf.lastIndexOf(Buffer.from([0x00, 0x00, TYPE_OPT]));
    buf[optAt + 5] = 1; // extended rcode 1 << 4 = 16: BADVERS
    const badvers = parseDnsMessage(buf);
    expect(badvers.ok && badvers.message.rcode).toBe(16);
  });
});

describe("dns wire: matching responses to queries", () => {
  const lookup = (id: number) => (id === 0x1234 ? question : undefined);

  it("classifies by ID, QR, opcode and question", () => {
    const ok = VALID[0]!;
    expect(inspectDnsResponse(ok, lookup).verdict).toBe("answer");
    expect(inspectDnsResponse(ok, () => undefined).verdict).toBe("foreign");
    const query = Buffer.from(ok);
    query[2] = query[2]! & 0x7f;
    expect(inspectDnsResponse(query, lookup)).toMatchObject({ verdict: "foreign", reason: expect.stringMatching(/QR=0/) });
    const update = Buffer.from(ok);
    update[2] = update[2]! | (5 << 3);
    expect(inspectDnsResponse(update, lookup)).toMatchObject({ verdict: "foreign", reason: expect.stringMatching(/opcode 5/) });
    const otherType = inspectDnsResponse(ok, () => ({ ...question, qtype: 28 }));
    expect(otherType.verdict).toBe("foreign");
    expect(inspectDnsResponse(ok.subarray(0, 11), lookup).verdict).toBe("undecodable");
    expect(inspectDnsResponse(ok.subarray(0, 20), lookup).verdict).toBe("undecodable");
    expect(inspectDnsResponse(ok.subarray(0, 40), lookup).verdict).toBe("malformed");
  });

  it("encodes queries dns-packet reads back", () => {
    const template = buildQueryTemplate({
      nameWire: encodeName("Example.TEST."),
      qtype: 16,
      qclass: 3,
      recursionDesired: true,
      edns: { udpPayloadSize: 1400, dnssecOk: true, nsid: true },
    });
    const decoded = dnsPacket.decode(template);
    expect(decoded.questions).toEqual([{ name: "Example.TEST", type: "TXT", class: "CH" }]);
    expect(decoded.flags! & dnsPacket.RECURSION_DESIRED).toBeTruthy();
    const opt = decoded.additionals![0] as dnsPacket.OptAnswer;
    expect(opt).toMatchObject({ type: "OPT", udpPayloadSize: 1400, flag_do: true });
    expect((opt.options as unknown as { code: number; data: Buffer }[])[0]).toMatchObject({ code: 3, data: Buffer.alloc(0) });
  });

  it("encodes escapes in names and refuses what cannot be a name", () => {
    expect(Buffer.from(encodeName("a\\.b.c")).toString("hex")).toBe("03612e620163" + "00");
    expect(Buffer.from(encodeName("\\065.")).toString("hex")).toBe("014100");
    expect(Buffer.from(encodeName(".")).toString("hex")).toBe("00");
    expect(() => encodeName("a..b")).toThrow(RangeError);
    expect(() => encodeName("with space.test")).toThrow(RangeError);
    expect(() => encodeName("\\256.test")).toThrow(RangeError);
    expect(() => encodeName(`${"a".repeat(63)}.`.repeat(4))).toThrow(/255/);
  });
});

describe("dns wire: the decoder is total", () => {
  const verdicts = new Set(["undecodable", "foreign", "malformed", "answer"]);
  const anyId = () => question;

  const check = (bytes: Uint8Array) => {
    const parsed = parseDnsMessage(bytes);
    if (!parsed.ok) expect(parsed.reason.startsWith(DECODER_FAULT)).toBe(false);
    for (const lookup of [anyId, () => undefined]) {
      const verdict = inspectDnsResponse(bytes, lookup);
      expect(verdicts.has(verdict.verdict)).toBe(true);
      if (verdict.verdict !== "answer") expect(verdict.reason.startsWith(DECODER_FAULT)).toBe(false);
      else for (const answer of verdict.message.answers) expect(typeof answer.data).toBe("string");
    }
  };

  it("never throws on arbitrary bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 5000 });
  });

  it("never throws on arbitrary bytes behind a plausible header", () => {
    const header = fc.record({
      id: fc.integer({ min: 0, max: 0xffff }),
      flags: fc.integer({ min: 0, max: 0xffff }),
      counts: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 4, maxLength: 4 }),
    });
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 500 }), ({ id, flags, counts }, body) => {
        const buf = Buffer.alloc(12 + body.length);
        buf.writeUInt16BE(id, 0);
        buf.writeUInt16BE(flags | 0x8000, 2);
        for (const [i, count] of counts.entries()) buf.writeUInt16BE(count, 4 + 2 * i);
        buf.set(body, 12);
        check(buf);
      }),
      { numRuns: 5000 },
    );
  });

  it("never throws on mutated valid responses", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("pointer" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0x3fff }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: VALID.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (index, mutations) => {
        let buf = Buffer.from(VALID[index]!);
        for (const m of mutations) {
          const at = buf.length === 0 ? 0 : m.at % buf.length;
          if (m.kind === "flip") buf[at] = m.value;
          else if (m.kind === "truncate") buf = buf.subarray(0, at);
          else if (m.kind === "insert") buf = Buffer.concat([buf.subarray(0, at), Buffer.from([m.value]), buf.subarray(at)]);
          else if (at + 1 < buf.length) buf.writeUInt16BE(0xc000 | m.value, at);
        }
        check(buf);
      }),
      { numRuns: 5000 },
    );
  });

  it("agrees with dns-packet on names and A/TXT data of valid messages", () => {
    const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join("."));
    const record = fc.oneof(
      fc.tuple(name, fc.ipV4()).map(([n, ip]) => ({ name: n, type: "A", class: "IN", ttl: 1, data: ip }) as dnsPacket.Answer),
      fc
        .tuple(name, fc.array(fc.stringMatching(/^[ -!#-[\]-~]{0,40}$/), { minLength: 1, maxLength: 3 }))
        .map(([n, strings]) => ({ name: n, type: "TXT", class: "IN", ttl: 1, data: strings }) as dnsPacket.Answer),
    );
    fc.assert(
      fc.property(fc.array(record, { maxLength: 5 }), (answers) => {
        const parsed = parseDnsMessage(response(answers));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const expected = (answers as { name: string; type: string; data: string | string[] }[]).map((a) => [
          a.name,
          a.type,
          Array.isArray(a.data) ? a.data.join("") : a.data,
        ]);
        expect(parsed.message.answers.map((a) => [a.name, a.type, a.data])).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
