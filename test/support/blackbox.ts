// Debian's blackbox_exporter (0.23, /usr/bin/prometheus-blackbox-exporter),
// the peer popwatch's exporter is compared with: started on a free loopback
// port from a private directory with a generated blackbox.yml, stopped by its
// recorded PID (daemons.ts).
//
// No vitest import: the benchmarks use it outside the test runner.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Daemon, addRunDir, removeRunDir, requireBinary, spawnDaemon, startOnFreePorts, stopDaemon, waitReady } from "./daemons";
import { LOOPBACK4, freePort } from "./ports";

/** One module of blackbox.yml (its prober's settings, as blackbox spells them). */
export type BlackboxModule = Record<string, unknown>;

/** A `dns` prober module asking `queryName` over IPv4 (valid: NOERROR). */
export function blackboxDnsModule(options: {
  queryName: string;
  queryType?: string;
  transport?: "udp" | "tcp";
  timeoutSeconds?: number;
}): BlackboxModule {
  return {
    prober: "dns",
    timeout: `${options.timeoutSeconds ?? 2}s`,
    dns: {
      transport_protocol: options.transport ?? "udp",
      preferred_ip_protocol: "ip4",
      ip_protocol_fallback: false,
      query_name: options.queryName,
      query_type: options.queryType ?? "A",
      valid_rcodes: ["NOERROR"],
    },
  };
}

/** An `http` prober module over IPv4 (valid: 2xx; with `caFile`, TLS verified against it). */
export function blackboxHttpModule(options: { timeoutSeconds?: number; caFile?: string; serverName?: string } = {}): BlackboxModule {
  const tls = options.caFile || options.serverName ? { tls_config: { ca_file: options.caFile, server_name: options.serverName } } : {};
  return {
    prober: "http",
    timeout: `${options.timeoutSeconds ?? 2}s`,
    http: { preferred_ip_protocol: "ip4", ip_protocol_fallback: false, ...tls },
  };
}

/** A `tcp` prober module with a TLS handshake over IPv4 (with `caFile`, verified against it). */
export function blackboxTlsModule(options: { timeoutSeconds?: number; caFile?: string; serverName?: string } = {}): BlackboxModule {
  return {
    prober: "tcp",
    timeout: `${options.timeoutSeconds ?? 2}s`,
    tcp: {
      preferred_ip_protocol: "ip4",
      ip_protocol_fallback: false,
      tls: true,
      tls_config: { ca_file: options.caFile, server_name: options.serverName },
    },
  };
}

export interface BlackboxHandle {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, for a scrape config's `__address__`. */
  address: string;
  port: number;
  /** Private directory: blackbox.yml, blackbox.log; removed on stop. */
  dir: string;
  daemon: Daemon;
  /** GET /probe?target=&module= (and `debug=true` with `debug`): the exposition text, whatever the status. */
  probe(target: string, module: string, debug?: boolean): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

/** Starts blackbox_exporter with `modules` (blackbox.yml is written as JSON, which YAML reads). */
export async function startBlackbox(modules: Record<string, BlackboxModule>): Promise<BlackboxHandle> {
  const bin = requireBinary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter");
  const dir = mkdtempSync(join(tmpdir(), "popwatch-blackbox-"));
  addRunDir(dir);
  const configFile = join(dir, "blackbox.yml");
  writeFileSync(configFile, `${JSON.stringify({ modules }, null, 2)}\n`);
  let started: { daemon: Daemon; ports: number };
  try {
    started = await startOnFreePorts(
      () => freePort({ udp: false, ipv6: false }),
      (port) => spawnDaemon("blackbox", bin, [`--config.file=${configFile}`, `--web.listen-address=${LOOPBACK4}:${port}`], dir),
      (daemon, port) =>
        waitReady(daemon, `GET http://${LOOPBACK4}:${port}/-/healthy`, async () => {
          return (await fetch(`http://${LOOPBACK4}:${port}/-/healthy`)).status === 200;
        }),
    );
  } catch (err) {
    removeRunDir(dir);
    throw err;
  }
  const { daemon, ports: port } = started;
  const url = `http://${LOOPBACK4}:${port}`;
  let stopped = false;
  return {
    url,
    address: `${LOOPBACK4}:${port}`,
    port,
    dir,
    daemon,
    probe: async (target, module, debug = false) => {
      const params = new URLSearchParams({ target, module, ...(debug ? { debug: "true" } : {}) });
      const res = await fetch(`${url}/probe?${params}`, { signal: AbortSignal.timeout(10_000) });
      return { status: res.status, text: await res.text() };
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopDaemon(daemon);
      removeRunDir(dir);
    },
  };
}
