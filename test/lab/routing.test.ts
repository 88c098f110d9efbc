// What the lab's router exports, on real routing software: FRR's MRT dump
// decoded by Debian's bgpdump, FRR's BMP arriving at a listener, the rogue
// PoP's announcements as the router saw them, and the router's own truth
// (first BGP change, then the forwarding change) for every failure mode. A
// second, default lab checks BIRD's mrtdump. Needs root; skipped with the
// reason when namespaces cannot be created. Runs its own labs ("pwrt",
// "pwrtb"); all traffic stays inside the namespaces and the management /30
// they create (198.51.100.0/24, 203.0.113.0/24).
import { type Server, type Socket, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bgpdumpOf, normaliseLine, popwatchOf } from "../../packages/bgp/test/mrt-oracle-support";
import { sleep } from "../support/daemons";
import { ANYCAST_RANGE, type BgpChange, FAILURE_MODES, Lab, POPS, PREFERRED_POP, ROGUE, ROGUE_ASN } from "./lab";
import { parseBgpdump } from "./mrt";
import { run } from "./procs";
import { canCreateNamespaces } from "./setup";

const capability = await canCreateNamespaces();
const skipReason = capability.ok ? "" : capability.reason;
if (skipReason) process.stdout.write(`test/lab/routing.test.ts: router export tests skipped: ${skipReason}\n`);

/** RFC 7854 message types. */
const BMP = { routeMonitoring: 0, peerDown: 2, peerUp: 3, initiation: 4 } as const;

/**
 * The least a BMP collector must do: split the stream on the 6-byte common
 * header (version, length, type) and count messages by type; for Route
 * Monitoring also the per-peer header's L flag (post-policy).
 */
class BmpCounter {
  readonly byType = new Map<number, number>();
  readonly versions = new Set<number>();
  preRouteMonitoring = 0;
  postRouteMonitoring = 0;
  connections = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      let buffered = Buffer.alloc(0);
      socket.on("data", (data) => {
        buffered = Buffer.concat([buffered, data]);
        while (buffered.length >= 6) {
          const length = buffered.readUInt32BE(1);
          if (length < 6 || buffered.length < length) break;
          this.count(buffered.subarray(0, length));
          buffered = buffered.subarray(length);
        }
      });
      socket.on("error", () => undefined);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  private count(message: Buffer): void {
    const type = message[5]!;
    this.versions.add(message[0]!);
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
    // Per-peer header after the common header: peer type, then flags (0x40 L: post-policy).
    if (type === BMP.routeMonitoring && message.length > 7) {
      if ((message[7]! & 0x40) !== 0) this.postRouteMonitoring++;
      else this.preRouteMonitoring++;
    }
  }

  of(type: number): number {
    return this.byType.get(type) ?? 0;
  }

  /** Listens on every address of the host's namespace: the lab's management link is one of them. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "0.0.0.0", resolve));
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function eventually<T>(what: string, get: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (ok(value)) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

const describeLab = describe.skipIf(!capability.ok);
const suffix = skipReason ? ` [skipped: ${skipReason}]` : "";

describeLab(`FRR router: MRT, BMP, the rogue PoP and the router's truth${suffix}`, () => {
  const bmp = new BmpCounter();
  let lab: Lab;

  beforeAll(async () => {
    const port = await bmp.listen();
    lab = new Lab({ name: "pwrt", router: "frr", announce: "covering", rogue: true, bmp: { port } });
    await lab.up();
  }, 120_000);

  afterAll(async () => {
    await lab?.down();
    await bmp.close();
  }, 60_000);

  it("dumps every PoP's announcement as MRT that bgpdump decodes, with microsecond stamps", async () => {
    const files = lab.mrtFiles();
    expect(files).toHaveLength(1);
    const changes = await lab.bgpChanges();
    const announcements = changes.filter((c) => c.type === "A" && c.prefix === ANYCAST_RANGE);
    for (const pop of POPS) {
      const own = announcements.find((c) => c.pop === pop.name);
      expect(own, `${pop.name}'s announcement of ${ANYCAST_RANGE}`).toBeDefined();
      expect(own).toMatchObject({ record: "BGP4MP_ET", peer: pop.link.peerAddress, peerAs: pop.asn, originAs: pop.asn });
      expect(own!.asPath).toEqual(Array.from({ length: 1 + pop.prepend }, () => pop.asn));
    }
    // Sessions coming up are in the dump too.
    expect(changes.some((c) => c.type === "STATE" && c.toState === "Established" && c.pop === PREFERRED_POP)).toBe(true);
    expect(announcements.some((c) => /\.\d{6}Z$/.test(c.at))).toBe(true);
    // The same file, read directly: bgpdump's own view, not the lab's parse of it.
    const raw = await run(["bgpdump", "-q", "-m", files[0]!]);
    expect(raw.code).toBe(0);
    expect(raw.stdout).toMatch(/^BGP4MP_ET\|\d+\.\d{6}\|A\|198\.51\.100\.6\|65001\|203\.0\.113\.0\/24\|65001\|IGP\|/m);
    await expectPopwatchDecodeEqualsBgpdump(files[0]!);
  });

  it("sends BMP to the collector: Initiation, Peer Up for every session, pre- and post-policy Route Monitoring", async () => {
    expect(lab.bmpTarget).toMatchObject({ at: "host", address: expect.stringMatching(/^203\.0\.113\.\d+$/) });
    const peers = POPS.length + 1; // and the rogue
    await eventually(
      "BMP Peer Up and Route Monitoring",
      async () => [...bmp.byType],
      () => bmp.of(BMP.peerUp) >= peers && bmp.preRouteMonitoring >= POPS.length && bmp.postRouteMonitoring >= POPS.length,
    );
    expect(bmp.connections).toBeGreaterThanOrEqual(1);
    expect([...bmp.versions]).toEqual([3]);
    expect(bmp.of(BMP.initiation)).toBeGreaterThanOrEqual(1);
  });

  it("shows the rogue's origin hijack, then its more-specific taking the anycast address, then both withdrawn", async () => {
    const rogue = lab.rogue;
    const hijack = await rogue.announce({ prefix: ANYCAST_RANGE, originAs: ROGUE_ASN });
    const seen = await lab.waitForBgpChange((c) => c.pop === ROGUE && c.type === "A" && c.prefix === ANYCAST_RANGE, {
      afterMs: hijack.atMs,
    });
    expect(seen).toMatchObject({ peerAs: ROGUE_ASN, asPath: [ROGUE_ASN], originAs: ROGUE_ASN });
    // Same path length as pop-a's, and younger: FRR keeps pop-a's path, so clients stay.
    const status = await lab.status();
    expect(status.routes.map((r) => r.pop).sort()).toEqual([...POPS.map((p) => p.name), ROGUE].sort());
    expect(status.best?.pop).toBe(PREFERRED_POP);
    expect(await lab.queryNsid("client")).toBe(PREFERRED_POP);

    // A /28 around the anycast address: the longest match sends clients to the rogue.
    const moreSpecific = "203.0.113.48/28";
    const sub = await rogue.announce({ prefix: moreSpecific, originAs: ROGUE_ASN });
    const subSeen = await lab.waitForBgpChange((c) => c.pop === ROGUE && c.type === "A" && c.prefix === moreSpecific, {
      afterMs: sub.atMs,
    });
    expect(subSeen).toMatchObject({ originAs: ROGUE_ASN });
    const toRogue = await lab.waitForChange((c) => c.pop === ROGUE, { afterMs: sub.atMs });
    expect(toRogue).toMatchObject({ prefix: moreSpecific, previousPop: PREFERRED_POP });
    expect(toRogue!.atMs).toBeGreaterThanOrEqual(subSeen!.atMs);
    expect(await lab.queryNsid("client")).toBe(ROGUE);

    const gone = await rogue.withdraw(moreSpecific);
    await rogue.withdraw(ANYCAST_RANGE);
    const back = await lab.waitForRoute(PREFERRED_POP, { afterMs: gone.atMs });
    expect(back).toMatchObject({ prefix: ANYCAST_RANGE, previousPop: ROGUE });
    const withdrawals = await eventually(
      "the rogue's withdrawals in the MRT dump",
      async () => (await lab.bgpChanges()).filter((c) => c.pop === ROGUE && c.type === "W" && c.atMs >= gone.atMs),
      (ws) => ws.length >= 2,
    );
    expect(withdrawals.map((w) => w.prefix).sort()).toEqual([ANYCAST_RANGE, moreSpecific].sort());
    expect(rogue.announcements()).toEqual([]);
    expect(await lab.queryNsid("client")).toBe(PREFERRED_POP);
  }, 40_000);

  it("announces a forged origin behind the rogue's own AS", async () => {
    const forged = await lab.rogue.announce({ prefix: ANYCAST_RANGE, originAs: 65001 });
    const seen = await lab.waitForBgpChange((c) => c.pop === ROGUE && c.type === "A", { afterMs: forged.atMs });
    expect(seen).toMatchObject({ prefix: ANYCAST_RANGE, asPath: [ROGUE_ASN, 65001], originAs: 65001 });
    await lab.rogue.withdraw(ANYCAST_RANGE);
    await expect(() => lab.rogue.announce({ prefix: "198.51.100.0/24" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(() => lab.rogue.announce({ prefix: "203.0.113.53/24" })).rejects.toMatchObject({ code: "invalid_argument" });
  }, 20_000);

  it("records the router's truth for every failure mode: first BGP change, then the forwarding change", async () => {
    const lines: string[] = [];
    for (const mode of FAILURE_MODES) {
      const fault = await lab.fail(PREFERRED_POP, mode);
      const truth = await lab.routerConvergence(fault, { timeoutMs: mode === "blackhole" ? 4_000 : 10_000 });
      const heal = await lab.heal(PREFERRED_POP);
      lines.push(`${mode}: first BGP change ${truth.bgpMs?.toFixed(1) ?? "-"} ms, FIB ${truth.installMs?.toFixed(1) ?? "-"} ms`);
      if (mode === "blackhole") {
        // The PoP keeps announcing: nothing changes in BGP or the FIB.
        expect(truth).toMatchObject({ firstBgpChange: null, installed: null });
      } else {
        expect(truth.firstBgpChange, mode).not.toBeNull();
        expect(truth.installed, mode).not.toBeNull();
        expect(truth.firstBgpChange!.pop).toBe(PREFERRED_POP);
        expect(truth.installed!.previousPop).toBe(PREFERRED_POP);
        expect(truth.bgpMs!).toBeGreaterThan(0);
        // The router learns first, then installs.
        expect(truth.installMs!).toBeGreaterThanOrEqual(truth.bgpMs!);
        const kind: BgpChange["type"] = truth.firstBgpChange!.type;
        // A health check withdraws; the other faults end the session.
        expect(kind).toBe(mode === "dns-stop" ? "W" : "STATE");
      }
      if (mode !== "blackhole") await lab.waitForRoute(PREFERRED_POP, { afterMs: heal.atMs, timeoutMs: 20_000 });
      await eventually(
        "sessions re-established",
        async () => (await lab.status()).pops.map((p) => p.session),
        (s) => s.every((x) => x === "Established"),
      );
    }
    process.stdout.write(`routing.test.ts: FRR router truth per failure mode at ${PREFERRED_POP}:\n  ${lines.join("\n  ")}\n`);
    // A session that went down comes back: FRR's BMP says so too.
    expect(bmp.of(BMP.peerDown)).toBeGreaterThanOrEqual(1);
  }, 150_000);
});

describeLab(`BIRD router (the default): mrtdump${suffix}`, () => {
  const lab = new Lab({ name: "pwrtb" });

  beforeAll(async () => {
    await lab.up();
  }, 90_000);

  afterAll(async () => {
    await lab.down();
  }, 60_000);

  it("dumps the PoPs' announcements and a withdrawal after a fault as MRT that bgpdump decodes", async () => {
    expect(lab.routerKind).toBe("bird");
    const before = await lab.bgpChanges();
    for (const pop of POPS) {
      // Both families over the one session: the IPv4 /32 and the IPv6 /128.
      for (const prefix of ["203.0.113.53/32", "2001:db8:53::53/128"]) {
        expect(before.find((c) => c.type === "A" && c.pop === pop.name && c.prefix === prefix)).toMatchObject({ originAs: pop.asn });
      }
    }
    const fault = await lab.fail(PREFERRED_POP, "dns-stop");
    const truth = await lab.routerConvergence(fault);
    await lab.heal(PREFERRED_POP);
    expect(truth.firstBgpChange).toMatchObject({ type: "W", pop: PREFERRED_POP, prefix: "203.0.113.53/32" });
    expect(truth.installed).toMatchObject({ pop: "pop-b", previousPop: PREFERRED_POP });
    // BIRD stamps whole seconds: the withdrawal lies in the second of the FIB change or before it.
    expect(Math.floor(truth.firstBgpChange!.atMs / 1000)).toBeLessThanOrEqual(Math.floor(truth.installed!.atMs / 1000));
    const raw = await run(["bgpdump", "-q", "-m", lab.mrtFiles()[0]!]);
    expect(raw.stdout).toMatch(/^BGP4MP(_ET)?\|\d+(\.\d+)?\|W\|198\.51\.100\.6\|65001\|203\.0\.113\.53\/32$/m);
    expect(parseBgpdump(raw.stdout).filter((c) => c.type === "W")).toContainEqual(
      expect.objectContaining({ atMs: truth.firstBgpChange!.atMs }),
    );
    await expectPopwatchDecodeEqualsBgpdump(lab.mrtFiles()[0]!);
  }, 40_000);
});

/** popwatch's decoder on a dump the router just wrote: bgpdump -m's lines, event for event. */
async function expectPopwatchDecodeEqualsBgpdump(file: string): Promise<void> {
  const oracle = await bgpdumpOf(file);
  const { lines, warnings } = await popwatchOf(file);
  expect(warnings).toEqual([]);
  expect(oracle.length).toBeGreaterThan(0);
  expect(lines.map(normaliseLine)).toEqual(oracle);
}
