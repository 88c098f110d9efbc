// `popwatch exporter` in-process: flags, and /metrics with the embedded store
// attached (--data-dir), which adds the store's SLO metrics beside the
// exporter's own; promtool checks the combined exposition.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exporterCommand } from "../packages/cli/src/commands/exporter";
import { runCommand } from "../packages/cli/src/commands/run";
import { main } from "../packages/cli/src/main";
import { captureIo } from "./support/capture-io";
import { PROMTOOL, promtoolProblems, samples } from "./support/exposition";

let dir: string;
let configFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "popwatch-exporter-cli-"));
  configFile = join(dir, "popwatch.config.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      targets: [{ name: "lo", address: "127.0.0.1", probes: { dns: { port: 9 } } }],
      slos: [{ name: "lo-availability", target: "lo", sli: { type: "availability" }, objective: 0.999 }],
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command until `body` is done with its URL, then stops it as SIGTERM would. */
async function withExporter(argv: string[], body: (url: string) => Promise<void>): Promise<{ status: number; err: string }> {
  const captured = captureIo();
  const stop = new AbortController();
  const running = exporterCommand(argv, captured.io, { signal: stop.signal });
  const deadline = Date.now() + 20_000;
  let url: string | null = null;
  while (url === null && Date.now() < deadline) {
    url = /listening on (http:\/\/\S+)/.exec(captured.err)?.[1] ?? null;
    if (url === null) await new Promise((done) => setTimeout(done, 50));
  }
  try {
    if (url === null) throw new Error(`no listening line: ${captured.err}`);
    await body(url);
  } finally {
    stop.abort();
  }
  return { status: await running, err: captured.err };
}

describe("popwatch exporter", () => {
  it("is listed in the usage, and refuses a bad --listen with exit 2", async () => {
    const usage = captureIo();
    await main(["--help"], usage.io);
    expect(usage.out).toMatch(/^ {2}exporter {14}Prometheus exporter/m);
    const bad = captureIo();
    expect(await main(["exporter", "--config", configFile, "--listen", "nowhere"], bad.io)).toBe(2);
    expect(bad.err).toMatch(/--listen: expected HOST:PORT/);
    const both = captureIo();
    expect(await main(["exporter", "--config", configFile, "--data-dir", dir, "--table", "t"], both.io)).toBe(2);
    expect(both.err).toMatch(/--table and --data-dir exclude each other/);
  });

  it("a port in use: exit 1 with the reason", async () => {
    await withExporter(["--config", configFile, "--listen", "127.0.0.1:0"], async (url) => {
      const busy = captureIo();
      expect(await exporterCommand(["--config", configFile, "--listen", url.replace("http://", "")], busy.io)).toBe(1);
      expect(busy.err).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    });
  });

  it.skipIf(!existsSync(PROMTOOL))("--data-dir attaches the store: its SLO metrics join /metrics, promtool-clean", async () => {
    const dataDir = join(dir, "data");
    const { status, err } = await withExporter(["--config", configFile, "--listen", "127.0.0.1:0", "--data-dir", dataDir], async (url) => {
      // The store metrics refresh in the background; the first refresh starts at once.
      let text = "";
      for (let i = 0; i < 100 && !/^popwatch_store_evaluation_timestamp_seconds [1-9]/m.test(text); i++) {
        text = await (await fetch(`${url}/metrics`)).text();
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(await promtoolProblems(text)).toBe("");
      const m = samples(text);
      expect(m.get('popwatch_slo_objective_ratio{slo="lo-availability"}')).toBe(0.999);
      expect(m.get("popwatch_store_evaluation_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(m.has("process_cpu_seconds_total")).toBe(true);
      expect(m.has("popwatch_exporter_probes_in_flight")).toBe(true);
    });
    expect(status).toBe(0);
    expect(err).toMatch(/, store /);
    expect(err).toMatch(/stopped/);
  });

  it("leases the embedded store per refresh: a popwatch run started after it owns the directory", async () => {
    const dataDir = join(dir, "shared-data");
    const { status } = await withExporter(["--config", configFile, "--listen", "127.0.0.1:0", "--data-dir", dataDir], async (url) => {
      for (
        let i = 0;
        i < 100 && !/^popwatch_store_evaluation_timestamp_seconds [1-9]/m.test(await (await fetch(`${url}/metrics`)).text());
        i++
      ) {
        await new Promise((done) => setTimeout(done, 100));
      }
      const run = captureIo();
      // Exit 1: the probe of port 9 fails; the store opened and took its result.
      expect(await runCommand(["--config", configFile, "--data-dir", dataDir, "--once", "--json"], run.io, { isTTY: false })).toBe(1);
      expect(run.err).not.toMatch(/store/);
      expect(JSON.parse(run.out.trim().split("\n")[0]!)).toMatchObject({ name: "lo", kind: "dns", ok: false });
      expect(existsSync(join(dataDir, "endpoint.json"))).toBe(false);
    });
    expect(status).toBe(0);
  });
});
