// `popwatch run` delivers fast routing notifications through the configured
// sinks as the probe function does: real NSD and Knot behind a loopback route
// switch, rounds one second apart on the real clock, a loopback webhook.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Notification } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../packages/cli/src/commands/run";
import { captureIo } from "./support/capture-io";
import { type DnsSwitch, startDnsSwitch } from "./support/dns-switch";
import { requireServer, skipUnless, useTestServers } from "./support/servers";
import { type WebhookReceiver, startWebhookReceiver } from "./support/webhook-receiver";

const servers = useTestServers();
const needs = [skipUnless(servers.dns.nsd), skipUnless(servers.dns.knot)];
const skip = needs.some((n) => n.skip);
const note = needs.map((n) => n.note).join("");

let dir: string;
let dns: DnsSwitch;
let hook: WebhookReceiver;

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), "popwatch-run-fast-"));
  dns = await startDnsSwitch(requireServer(servers.dns.nsd));
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await dns?.close();
  await hook?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skip)(`popwatch run: fast routing${note}`, () => {
  it("a PoP change is delivered to the webhook within the round that saw it", async () => {
    const config = join(dir, "fast.json");
    await writeFile(
      config,
      JSON.stringify({
        regions: ["eu-central-1"],
        localRegion: "laptop",
        // Rounds 1 s apart; the evaluation at the period's end sees too little data to alert on anything.
        schedule: { rateMinutes: 1, roundsPerInvocation: 60, timeoutMs: 500 },
        targets: [
          { name: "anycast", address: dns.address, probes: { dns: { port: dns.port, qname: servers.records.a.name, qtype: "A" } } },
        ],
        alerting: { sinks: [{ type: "webhook", url: hook.url, format: "json" }] },
      }),
    );
    const controller = new AbortController();
    const c = captureIo();
    const running = runCommand(["--config", config, "--data-dir", join(dir, "data")], c.io, { signal: controller.signal, isTTY: false });
    try {
      await waitFor(() => (c.out.match(/round \d+\/60: 1 ok/g) ?? []).length >= 2);
      const switchedAtMs = Date.now();
      dns.route(requireServer(servers.dns.knot));
      await waitFor(() => hook.received.some((r) => (r.body as Notification).slo === "anycast:pop-change:anycast"));
      const firing = hook.received.find((r) => (r.body as Notification).slo === "anycast:pop-change:anycast")!;
      const body = firing.body as Notification;
      expect(body).toMatchObject({ kind: "firing", severity: "ticket", regions: ["laptop"] });
      expect(body.anycast).toMatchObject({ condition: "pop-change", from: "pop-nsd", to: "pop-knot" });
      const latencyMs = firing.atMs - switchedAtMs;
      console.log(`popwatch run: PoP change delivered ${latencyMs} ms after the route moved (rounds 1 s apart)`);
      // A sanity bound, not a benchmark: the round that sees the switch starts within a second, delivery follows it.
      expect(latencyMs).toBeLessThan(10_000);
    } finally {
      controller.abort();
      expect(await running).toBe(0);
    }
  }, 60_000);
});
