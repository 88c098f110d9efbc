// `popwatch probe` flags → probe specs, through the config target schema:
// what each new flag sets, on which kinds, and how a bad value is reported.
import type { DnsProbeSpec, HttpProbeSpec, ProbeSpec, TlsProbeSpec } from "@popwatch/probes";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { captureIo } from "../../../test/support/capture-io";
import { PROBE_USAGE, parseProbeArgs } from "../src/commands/probe";
import { buildProbeSpecs, flagForField } from "../src/commands/probe-specs";
import { UsageError } from "../src/errors";
import { main } from "../src/index";

/** The specs `popwatch probe <argv>` would run against 198.51.100.1, as the hostname `dns.example` when the target is one. */
function specsFor(argv: string[]): ProbeSpec[] {
  const parsed = parseProbeArgs(argv);
  if (parsed === "help") throw new Error("help");
  const hostname = /^[0-9.:[\]]+$/.test(argv[0]!) ? null : argv[0]!;
  return buildProbeSpecs(parsed.request, "198.51.100.1", hostname);
}

function byKind<K extends ProbeSpec["kind"]>(specs: ProbeSpec[], kind: K): Extract<ProbeSpec, { kind: K }> {
  const spec = specs.find((s) => s.kind === kind);
  if (!spec) throw new Error(`no ${kind} spec in ${specs.map((s) => s.kind).join(",")}`);
  return spec as Extract<ProbeSpec, { kind: K }>;
}

type DnsLike = Extract<ProbeSpec, { kind: "dns" | "dot" | "doh" }>;

describe("kinds and ports", () => {
  it("without kind flags runs dns, tcp, tls, http as before: dot and doh only when asked", () => {
    expect(specsFor(["198.51.100.1"]).map((s) => [s.kind, s.port])).toEqual([
      ["dns", 53],
      ["tcp", 443],
      ["tls", 443],
      ["http", 443],
    ]);
    expect(specsFor(["198.51.100.1", "--plain"]).map((s) => s.kind)).toEqual(["dns", "tcp", "http"]);
  });

  it("--dot and --doh: ports 853 and 443, the hostname as SNI and Host, POST to /dns-query", () => {
    const specs = specsFor(["dns.example", "--dot", "--doh"]);
    expect(specs.map((s) => s.kind)).toEqual(["dot", "doh"]);
    expect(byKind(specs, "dot")).toMatchObject({ port: 853, sni: "dns.example", name: "dns.example", address: "198.51.100.1" });
    expect(byKind(specs, "doh")).toMatchObject({
      port: 443,
      host: "dns.example",
      path: "/dns-query",
      method: "POST",
      alpn: ["h2", "http/1.1"],
    });
  });

  it("--doh-path and --doh-get; --sni overrides the name for dot and doh", () => {
    const specs = specsFor(["198.51.100.1", "--dot", "--doh", "--doh-path", "/resolve", "--doh-get", "--sni", "dns.example"]);
    expect(byKind(specs, "doh")).toMatchObject({ path: "/resolve", method: "GET", host: "dns.example" });
    expect(byKind(specs, "dot")).toMatchObject({ sni: "dns.example" });
  });

  it("a kind's own port flag wins over --port; --port sets the rest", () => {
    const specs = specsFor([
      "198.51.100.1",
      "--dns",
      "--tcp",
      "--tls",
      "--http",
      "--dot",
      "--doh",
      "--port",
      "8000",
      "--dns-port",
      "5353",
      "--tls-port",
      "8443",
      "--doh-port",
      "9443",
    ]);
    expect(specs.map((s) => [s.kind, s.port])).toEqual([
      ["dns", 5353],
      ["tcp", 8000],
      ["tls", 8443],
      ["http", 8000],
      ["dot", 8000],
      ["doh", 9443],
    ]);
    const perKind = specsFor(["198.51.100.1", "--tcp", "--http", "--dot", "--tcp-port", "1", "--http-port", "2", "--dot-port", "3"]);
    expect(perKind.map((s) => s.port)).toEqual([1, 2, 3]);
  });

  it("per-kind ports apply to the default kinds too", () => {
    expect(specsFor(["198.51.100.1", "--dns-port", "5300"]).map((s) => s.port)).toEqual([5300, 443, 443, 443]);
  });
});

describe("DNS options on dns, dot and doh alike", () => {
  const all = ["198.51.100.1", "--dns", "--dot", "--doh"];
  const dnsLike = (specs: ProbeSpec[]) => specs.filter((s): s is DnsLike => s.kind === "dns" || s.kind === "dot" || s.kind === "doh");

  it("defaults: no DO bit, the config's 1232-byte EDNS buffer, no expectations", () => {
    for (const spec of dnsLike(specsFor(all))) {
      expect(spec).toMatchObject({ dnssecOk: false, udpPayloadSize: 1232, qname: ".", qtype: "NS", recursionDesired: true, nsid: true });
      expect(spec.expect).toBeUndefined();
    }
  });

  it("--dnssec sets DO, --bufsize the payload size, --qname/--qtype/--chaos/--norec the question", () => {
    const specs = dnsLike(
      specsFor([...all, "--dnssec", "--bufsize", "4096", "--qname", "example.org", "--qtype", "dnskey", "--chaos", "--norec"]),
    );
    expect(specs).toHaveLength(3);
    for (const spec of specs) {
      expect(spec).toMatchObject({
        dnssecOk: true,
        udpPayloadSize: 4096,
        qname: "example.org",
        qtype: "DNSKEY",
        chaos: ["id.server", "hostname.bind"],
        recursionDesired: false,
      });
    }
  });

  it("--expect-rcode (any case, comma-separated), --expect-answer, --expect-ad, --rrsig-min-days (which implies DO)", () => {
    const specs = dnsLike(
      specsFor([...all, "--expect-rcode", "nxdomain,NOERROR", "--expect-answer", "^198\\.51\\.", "--expect-ad", "--rrsig-min-days", "7.5"]),
    );
    for (const spec of specs) {
      expect(spec.expect).toEqual({ rcode: ["NXDOMAIN", "NOERROR"], answer: "^198\\.51\\.", ad: true, rrsigMinDays: 7.5 });
      expect(spec.dnssecOk).toBe(true);
    }
  });

  it("--dns-tcp changes the dns transport only", () => {
    const specs = specsFor([...all, "--dns-tcp"]);
    expect((byKind(specs, "dns") as DnsProbeSpec).transport).toBe("tcp");
  });
});

describe("HTTP and TLS options", () => {
  it("--http1 offers only HTTP/1.1 to https and doh, leaves --tls's ALPN alone", () => {
    const specs = specsFor(["198.51.100.1", "--tls", "--http", "--doh", "--http1"]);
    expect((byKind(specs, "http") as HttpProbeSpec).alpn).toEqual(["http/1.1"]);
    expect(byKind(specs, "doh").alpn).toEqual(["http/1.1"]);
    expect((byKind(specs, "tls") as TlsProbeSpec).alpn).toEqual(["h2", "http/1.1"]);
    expect((byKind(specsFor(["198.51.100.1", "--http"]), "http") as HttpProbeSpec).alpn).toEqual(["h2", "http/1.1"]);
  });

  it("--cert-min-days on every kind that makes a handshake; not on plain http", () => {
    const specs = specsFor(["198.51.100.1", "--dns", "--tcp", "--tls", "--http", "--dot", "--doh", "--cert-min-days", "30"]);
    expect(specs.map((s) => [s.kind, "certMinDays" in s ? s.certMinDays : null])).toEqual([
      ["dns", null],
      ["tcp", null],
      ["tls", 30],
      ["http", 30],
      ["dot", 30],
      ["doh", 30],
    ]);
    const plain = byKind(specsFor(["198.51.100.1", "--http", "--plain", "--cert-min-days", "30"]), "http") as HttpProbeSpec;
    expect(plain.certMinDays).toBeUndefined();
    expect(plain.scheme).toBe("http");
  });

  it("--expect-status on http and doh", () => {
    const specs = specsFor(["198.51.100.1", "--http", "--doh", "--expect-status", "200, 204"]);
    expect((byKind(specs, "http") as HttpProbeSpec).expectStatus).toEqual([200, 204]);
    expect(byKind(specs, "doh").expectStatus).toEqual([200, 204]);
    expect((byKind(specsFor(["198.51.100.1", "--http"]), "http") as HttpProbeSpec).expectStatus).toBeUndefined();
  });

  it("--ca and --pin trust for tls, https, dot and doh", () => {
    const pin = "ab".repeat(32);
    const specs = specsFor(["198.51.100.1", "--tls", "--http", "--dot", "--doh", "--pin", pin]);
    for (const spec of specs) expect("pinSha256" in spec && spec.pinSha256).toEqual([pin]);
  });
});

describe("bad flag values are usage errors naming the flag (exit 2)", () => {
  const cases: [string[], RegExp][] = [
    [["--bufsize", "100"], /^--bufsize: expected an integer from 512 to 65535, got "100"/],
    [["--bufsize", "4k"], /^--bufsize:/],
    [["--cert-min-days=-1"], /^--cert-min-days: expected a number of days/],
    [["--cert-min-days", "4000"], /^--cert-min-days:/],
    [["--rrsig-min-days", "soon"], /^--rrsig-min-days:/],
    [["--expect-status", "99"], /^--expect-status: expected an integer from 100 to 599, got "99"/],
    [["--expect-status", "200,,204"], /^--expect-status: expected a comma-separated list without empty items/],
    [["--expect-rcode", "0"], /^--expect-rcode: expected rcode mnemonics/],
    [["--expect-rcode", ""], /^--expect-rcode:/],
    [["--expect-answer", "(unclosed"], /^--expect-answer: invalid regular expression/],
    [["--doh", "--doh-path", "dns-query"], /^--doh-path: must start with "\/"/],
    [["--dns", "--dot-port", "853"], /^--dot-port: the dot probe is not selected/],
    [["--dns-port", "0"], /^--dns-port: expected an integer from 1 to 65535/],
    [["--doh-port", "65536", "--doh"], /^--doh-port:/],
    [["--dns", "--qname", "a".repeat(256)], /^--qname: /],
  ];
  it.each(cases)("%j", async (flags, message) => {
    expect(() => parseProbeArgs(["198.51.100.1", ...flags])).toThrow(UsageError);
    const c = captureIo();
    expect(await main(["probe", "127.0.0.1", ...flags], c.io)).toBe(2);
    expect(c.err).toMatch(new RegExp(message.source.replace(/^\^/, "")));
  });

  it("a mnemonic only the probe knows to refuse names the flag too, before anything is sent", async () => {
    for (const [flags, flag] of [
      [["--expect-rcode", "NOTANRCODE"], "--expect-rcode"],
      [["--qtype", "BOGUS"], "--qtype"],
    ] as const) {
      const c = captureIo();
      // Port 9 (discard) on loopback: nothing listens, and nothing is sent either.
      expect(await main(["probe", "127.0.0.1", "--dns", "--dns-port", "9", ...flags], c.io)).toBe(2);
      expect(c.err).toContain(`${flag}: `);
    }
  });

  it("schema and probe field paths map back to the flags", () => {
    expect(flagForField("dns", "udpPayloadSize")).toBe("--bufsize");
    expect(flagForField("doh", "expect.rcode.0")).toBe("--expect-rcode");
    expect(flagForField("doh", "path")).toBe("--doh-path");
    expect(flagForField("http", "path")).toBe("--path");
    expect(flagForField("http", "alpn.0")).toBe("--http1");
    expect(flagForField("dot", "port")).toBe("--port or --dot-port");
    expect(flagForField(null, "expect.rrsigMinDays")).toBe("--rrsig-min-days");
    expect(flagForField(null, "certMinDays")).toBe("--cert-min-days");
  });

  it("arbitrary argv never escapes as anything but a usage error or a parse", () => {
    const flag = fc.constantFrom(
      "--dot",
      "--doh",
      "--dnssec",
      "--http1",
      "--doh-get",
      "--bufsize",
      "--cert-min-days",
      "--expect-rcode",
      "--expect-answer",
      "--expect-status",
      "--rrsig-min-days",
      "--doh-path",
      "--port",
      "--dns-port",
      "--dot-port",
      "--doh-port",
      "--qname",
      "--sni",
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(flag, fc.string({ maxLength: 12 })), { maxLength: 8 }), (args) => {
        try {
          parseProbeArgs(["198.51.100.1", ...args]);
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          expect(err.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("PROBE_USAGE", () => {
  it("names every flag, aligns every description at column 24, and fits 100 columns", () => {
    const lines = PROBE_USAGE.split("\n");
    for (const flag of [
      "--dot",
      "--doh",
      "--doh-path",
      "--doh-get",
      "--dnssec",
      "--bufsize",
      "--http1",
      "--cert-min-days",
      "--expect-rcode",
      "--expect-answer",
      "--expect-status",
      "--expect-ad",
      "--rrsig-min-days",
      "--dns-port",
      "--tcp-port",
      "--tls-port",
      "--http-port",
      "--dot-port",
      "--doh-port",
    ]) {
      expect(lines.some((line) => line.startsWith(`  ${flag} `))).toBe(true);
    }
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(100);
      if (/^ {2}-/.test(line)) {
        expect(line[23], line).toBe(" ");
        expect(line[24], line).not.toBe(" ");
      } else if (/^ {3,}/.test(line)) expect(line.search(/\S/), line).toBe(24);
    }
    expect(PROBE_USAGE).toMatch(/a kind's own flag wins over --port/);
  });
});
