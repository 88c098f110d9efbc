// `popwatch exporter`: the Prometheus exporter (packages/exporter) until
// SIGINT/SIGTERM, which drain it: no new scrapes, the ones in flight finish.
import { DEFAULT_EXPORTER_PORT, parseListenAddress } from "@popwatch/core";
import {
  type Collector,
  ExporterError,
  type RunningExporter,
  type StoreMetrics,
  type StoreMetricsOptions,
  createStoreMetrics,
  startExporter,
} from "@popwatch/exporter";
import { loadConfig, reportConfigProblem } from "../config-file";
import { UsageError } from "../errors";
import type { Io } from "../io";
import { type OpenStore, openAwsStore, openSharedStore } from "../local-store";
import { stopOnSignals } from "../signals";
import { STORE_FLAGS_USAGE, STORE_FLAG_OPTIONS, reportStoreFailure, storeChoice } from "../store-flags";
import { parseFlags } from "./args";

export const EXPORTER_USAGE = `Usage: popwatch exporter [--config FILE] [--listen HOST:PORT] [--data-dir DIR | --table NAME [--aws-region R] [--endpoint URL]]

A Prometheus exporter with blackbox_exporter's contract, so existing scrape
configs, dashboards and alerts work with popwatch's probes:

  GET /probe?target=T&module=M[&debug=true]
      one probe; T a configured target name, an IP address, [v6]:port,
      host[:port] or (http) a URL; M a kind (dns, tcp, tls, http) or a module
      of the config's exporter.modules. The timeout is Prometheus's
      X-Prometheus-Scrape-Timeout-Seconds less 0.5 s, capped by
      exporter.maxTimeoutMs. Bad parameters get 400 with the reason; more than
      exporter.maxConcurrentProbes at once get 503.
  GET /metrics
      the exporter's own process and probe counts; with --data-dir, --table
      or the config's store section also the SLO state from the store (budget, burn rates, alerts, catchment),
      recomputed every 30 s. The embedded store is opened for each refresh
      only (through \`popwatch run\` when one holds it), so \`run\` can start
      before or after the exporter.

Options:
  --config FILE         configuration (default: popwatch.config.{ts,mjs,js,json} here)
  --listen HOST:PORT    where to listen (default config exporter.listen, 127.0.0.1:${DEFAULT_EXPORTER_PORT});
                        0.0.0.0:${DEFAULT_EXPORTER_PORT} or [::]:${DEFAULT_EXPORTER_PORT} for every interface, port 0 picks a free one
${STORE_FLAGS_USAGE.replace("embedded store directory", "attach the embedded store directory")}
  -h, --help            this help

The address it listens on is printed to stderr. SIGINT or SIGTERM stops
accepting, lets the probes in flight finish, and exits 0 (a second signal
exits at once).

Exit status: 0 stopped by a signal, 1 cannot listen or the store cannot be opened, 2 usage or configuration error.
`;

const OPTIONS = {
  config: { type: "string" },
  listen: { type: "string" },
  ...STORE_FLAG_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

export interface ExporterDeps {
  /** Ends the command as SIGTERM would (tests, embedders); default: the process's signals. */
  signal?: AbortSignal;
}

/** `--listen`: as the config's `listen`, plus port 0 (a free port, as tests use). */
function parseListenFlag(value: string): { host: string; port: number } {
  const parsed = parseListenAddress(value.replace(/:0$/, ":1"));
  if (parsed === null)
    throw new UsageError(
      `--listen: expected HOST:PORT, such as 127.0.0.1:${DEFAULT_EXPORTER_PORT} or [::]:${DEFAULT_EXPORTER_PORT}, got "${value}"`,
    );
  return value.endsWith(":0") ? { host: parsed.host, port: 0 } : parsed;
}

export async function exporterCommand(argv: string[], io: Io, deps: ExporterDeps = {}): Promise<number> {
  const { values } = parseFlags(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(EXPORTER_USAGE);
    return 0;
  }
  const listen = values.listen === undefined ? undefined : parseListenFlag(values.listen);
  let config: Awaited<ReturnType<typeof loadConfig>>["config"];
  try {
    ({ config } = await loadConfig(values.config));
  } catch (err) {
    return reportConfigProblem("exporter", err, io);
  }
  // A store is attached on request (a store flag or the config's store section); /probe alone needs none.
  const attach = values["data-dir"] !== undefined || values.table !== undefined || config.store !== undefined;
  const chosen = storeChoice(values, config.store); // checks the store flags either way
  const choice = attach ? chosen : null;

  // An AWS table stays open; the embedded store is leased per refresh, so the
  // exporter never keeps the directory from a `popwatch run` started later.
  let opened: OpenStore | null = null;
  let storeMetrics: StoreMetrics | null = null;
  let storeWhere: string | null = null;
  const collectors: Collector[] = [];
  if (choice !== null) {
    let store: StoreMetricsOptions["store"];
    try {
      if (choice.kind === "aws") {
        opened = openAwsStore(choice.table, choice.region, choice.endpoint);
        store = { results: opened.store, alerts: opened.alerts };
        storeWhere = opened.where;
      } else {
        const { dataDir } = choice;
        // Opened once now so a directory that cannot be a store is reported at start.
        const first = await openSharedStore({ dataDir });
        storeWhere = first.where;
        await first.close();
        store = async () => {
          const lease = await openSharedStore({ dataDir });
          return { source: { results: lease.store, alerts: lease.alerts }, release: () => lease.close() };
        };
      }
    } catch (err) {
      return reportStoreFailure(io, "exporter", err);
    }
    storeMetrics = createStoreMetrics({
      config,
      store,
      ...(choice.kind === "aws" ? { regions: config.regions } : {}),
      logger: (entry) => {
        if (entry.level !== "debug") io.stderr.write(`popwatch exporter: store: ${entry.msg}\n`);
      },
    });
    collectors.push((registry) => storeMetrics!.register(registry));
  }

  const closeStore = async () => {
    await storeMetrics?.close();
    await opened?.close();
  };
  let exporter: RunningExporter;
  try {
    exporter = await startExporter({
      config,
      ...(listen !== undefined ? { listen } : {}),
      collectors,
      onError: (err) => io.stderr.write(`popwatch exporter: request failed: ${(err as Error)?.stack ?? String(err)}\n`),
    });
  } catch (err) {
    await closeStore();
    if (!(err instanceof ExporterError)) throw err;
    io.stderr.write(`popwatch exporter: ${err.message}\n`);
    return 1;
  }
  io.stderr.write(`popwatch exporter: listening on ${exporter.url} (/probe, /metrics)${storeWhere ? `, store ${storeWhere}` : ""}\n`);

  const stop = new AbortController();
  const unhook = stopOnSignals(
    "exporter",
    io,
    stop,
    {
      stopping: "draining: no new scrapes, waiting for the probes in flight",
      abandoning: "exiting without waiting for the probes in flight",
    },
    deps.signal,
  );
  await new Promise<void>((done) => {
    if (stop.signal.aborted) done();
    else stop.signal.addEventListener("abort", () => done(), { once: true });
  });
  try {
    await exporter.close();
    await closeStore();
  } finally {
    unhook();
  }
  io.stderr.write("popwatch exporter: stopped\n");
  return 0;
}
