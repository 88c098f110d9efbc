import { describe, expect, it } from "vitest";
import { ProbeFailureError } from "../src/errors";
import { type DnsProbeSpec, type ProbeSpec, ProbeSpecError, runProbes } from "../src/index";
import type { ProbeRegistry, TcpProbeSpec } from "../src/types";

const spec = (port: number): TcpProbeSpec => ({ kind: "tcp", address: "127.0.0.1", port });

function registryWith(tcp: ProbeRegistry["tcp"]): ProbeRegistry {
  const unused = async () => null;
  return { dns: unused, tls: unused, http: unused, dot: unused, doh: unused, tcp };
}

describe("runner", () => {
  it("times out a probe that never settles and ignores its signal", async () => {
    const registry = registryWith(() => new Promise(() => {}));
    const [result] = await runProbes([spec(1)], { registry, timeoutMs: 50 });
    expect(result!.ok).toBe(false);
    expect(result!.failure?.code).toBe("timeout");
    expect(result!.timings.totalMs).toBeGreaterThanOrEqual(45);
    expect(result!.timings.totalMs).toBeLessThan(1000);
  });

  it("classifies thrown errors by code and keeps partial timings and facts", async () => {
    const registry = registryWith(async (_s, ctx) => {
      ctx.timings.connectMs = 1.5;
      ctx.facts.localPort = 4242;
      throw Object.assign(new Error("whatever the text says"), { code: "ECONNRESET" });
    });
    const [result] = await runProbes([spec(1)], { registry });
    expect(result!.failure).toEqual({ code: "reset", message: "ECONNRESET: whatever the text says" });
    expect(result!.timings.connectMs).toBe(1.5);
    expect(result).toMatchObject({ kind: "tcp", localPort: 4242, target: "127.0.0.1:1" });
  });

  it("turns a probe's own classification and programmer faults into failures", async () => {
    let call = 0;
    const registry = registryWith(async () => {
      call++;
      if (call === 1) throw new ProbeFailureError("dns_malformed", "bad packet");
      if (call === 2) throw new TypeError("oops");
      return { code: "http_status", message: "503" };
    });
    const results = await runProbes([spec(1), spec(2), spec(3)], { registry, concurrency: 1 });
    expect(results.map((r) => r.failure?.code)).toEqual(["dns_malformed", "internal", "http_status"]);
  });

  it("respects the concurrency limit and returns results in spec order", async () => {
    let active = 0;
    let peak = 0;
    const registry = registryWith(async (s) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5 + (s.port % 3)));
      active--;
      return null;
    });
    const specs = Array.from({ length: 40 }, (_, i) => spec(i + 1));
    const seen: number[] = [];
    const results = await runProbes(specs, { registry, concurrency: 7, onResult: (r) => seen.push(r.port) });
    expect(peak).toBe(7);
    expect(results.map((r) => r.port)).toEqual(specs.map((s) => s.port));
    expect(seen.sort((a, b) => a - b)).toEqual(specs.map((s) => s.port));
  });

  it("ends the run at the deadline: in-flight and unstarted probes fail with deadline", async () => {
    const registry = registryWith(
      (_s, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
    );
    const started = process.hrtime.bigint();
    const results = await runProbes([spec(1), spec(2), spec(3)], { registry, concurrency: 2, timeoutMs: 10_000, deadlineMs: 60 });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(results.map((r) => r.failure?.code)).toEqual(["deadline", "deadline", "deadline"]);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it("identifies the PoP even when the probe failed", async () => {
    const registry = registryWith(async (_s, ctx) => {
      ctx.evidence.headers = { "x-pop": "ams" };
      return { code: "http_status", message: "503" };
    });
    const [result] = await runProbes([spec(1)], {
      registry,
      identifyPop: (_k, ev) =>
        ev.headers?.["x-pop"] ? { id: ev.headers["x-pop"], source: "header:x-pop", raw: ev.headers["x-pop"], iata: "ams" } : null,
    });
    expect(result!.pop?.id).toBe("ams");
    expect(result!.ok).toBe(false);
  });
});

describe("runner: spec faults are thrown, not reported as probe failures", () => {
  const dns: DnsProbeSpec = {
    kind: "dns",
    address: "127.0.0.1",
    port: 53,
    transport: "udp",
    qname: ".",
    qtype: "SOA",
    qclass: "IN",
    nsid: true,
    chaos: [],
    recursionDesired: false,
    dnssecOk: false,
    udpPayloadSize: 1232,
    tcpFallback: true,
  };
  const cases: [string, ProbeSpec, RegExp][] = [
    ["unknown qtype", { ...dns, qtype: "NOPE" }, /qtype/],
    ["bad answer regex", { ...dns, expect: { answer: "(" } }, /answer/],
    ["hostname instead of address", { kind: "tcp", address: "example.com", port: 443 }, /^address: expected an IP address/],
    ["port out of range", { kind: "tcp", address: "127.0.0.1", port: 0 }, /^port: expected an integer/],
    [
      "bad body regex",
      {
        kind: "http",
        address: "127.0.0.1",
        port: 80,
        scheme: "http",
        host: null,
        path: "/",
        method: "GET",
        readCapBytes: 10,
        bodyRegex: "[",
      },
      /^bodyRegex:/,
    ],
  ];
  it.each(cases)("%s", async (_name, spec, message) => {
    let probed = false;
    const registry = registryWith(async () => {
      probed = true;
      return null;
    });
    const error = await runProbes([spec], { registry: { ...registry, dns: registry.tcp as never, http: registry.tcp as never } }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ProbeSpecError);
    expect((error as Error).message).toMatch(message);
    expect(probed).toBe(false);
  });
});
