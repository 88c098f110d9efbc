// The `exporter` section: how `popwatch exporter` listens, how many probes it
// runs at once, the longest a probe may take, and named modules (a probe kind
// with its options, as blackbox_exporter's modules are). The probe option
// schemas come in as an argument because they live in ./schema.ts, which
// imports this file: taking them here keeps the import graph acyclic.
import * as z from "zod/mini";
import { PROBE_KINDS } from "../result";

/**
 * 9098: outside the 9100–9999 range the Prometheus wiki's "Default port
 * allocations" page hands out to exporters (so no exporter's default is
 * taken), and none of Prometheus's own 9090–9094 (server, Pushgateway, the
 * Kafka gap, Alertmanager and its cluster port). 9099 was passed over for
 * Calico Felix's health port. Blackbox's 9115 stays free for blackbox itself,
 * so both can run side by side on one vantage.
 */
export const DEFAULT_EXPORTER_PORT = 9098;

/**
 * Loopback by default: `/probe` sends packets to any address a client names,
 * so reaching it from elsewhere is a choice the operator makes with `listen`.
 */
export const DEFAULT_EXPORTER_LISTEN = `127.0.0.1:${DEFAULT_EXPORTER_PORT}`;

export const EXPORTER_DEFAULTS = {
  listen: DEFAULT_EXPORTER_LISTEN,
  maxConcurrentProbes: 64,
  maxTimeoutMs: 10_000,
  modules: {},
};

/** `host:port`, `[v6]:port` or `:port` (every interface); null when it is none of them. */
export function parseListenAddress(value: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

const listenSchema = z
  .string()
  .check(
    z.refine((value) => parseListenAddress(value) !== null, { message: 'expected HOST:PORT, such as "127.0.0.1:9098" or "[::]:9098"' }),
  );

const moduleName = z.string().check(
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { message: "expected 1–63 letters, digits, '.', '_' or '-'" }),
  z.refine((name) => !(PROBE_KINDS as readonly string[]).includes(name), {
    message: `a module may not be named after a probe kind (${PROBE_KINDS.join(", ")}): module=<kind> always means the kind's defaults`,
  }),
);

const timeoutMs = z.number().check(z.int(), z.gte(50), z.lte(120_000));

// biome-ignore lint/suspicious/noExplicitAny: any strict object schema of probe options
type OptionsSchema = z.ZodMiniObject<any, any>;

/** The section's schema over the config's own probe option schemas. */
export function exporterConfigSchema<
  D extends OptionsSchema,
  T extends OptionsSchema,
  S extends OptionsSchema,
  H extends OptionsSchema,
  O extends OptionsSchema,
  W extends OptionsSchema,
>(probeOptions: { dns: D; tcp: T; tls: S; http: H; dot: O; doh: W }) {
  // A module's own timeout caps the scrape's, as a blackbox module's `timeout` does.
  const moduleFields = { timeoutMs: z.optional(timeoutMs) };
  const moduleSchema = z.discriminatedUnion("kind", [
    z.extend(probeOptions.dns, { kind: z.literal("dns"), ...moduleFields }),
    z.extend(probeOptions.tcp, { kind: z.literal("tcp"), ...moduleFields }),
    z.extend(probeOptions.tls, { kind: z.literal("tls"), ...moduleFields }),
    z.extend(probeOptions.http, { kind: z.literal("http"), ...moduleFields }),
    z.extend(probeOptions.dot, { kind: z.literal("dot"), ...moduleFields }),
    z.extend(probeOptions.doh, { kind: z.literal("doh"), ...moduleFields }),
  ]);
  return z.strictObject({
    /** Where the HTTP server listens. */
    listen: z._default(listenSchema, EXPORTER_DEFAULTS.listen),
    /** `/probe` requests running at once; more get 503 at once. */
    maxConcurrentProbes: z._default(z.number().check(z.int(), z.gte(1), z.lte(10_000)), EXPORTER_DEFAULTS.maxConcurrentProbes),
    /** The longest a probe may run, whatever the scrape timeout header says; also the timeout without that header. */
    maxTimeoutMs: z._default(timeoutMs, EXPORTER_DEFAULTS.maxTimeoutMs),
    /** Named modules: `module=<name>` runs that kind with these options. */
    modules: z._default(z.record(moduleName, moduleSchema), {}),
  });
}
