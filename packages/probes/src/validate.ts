import { isIP } from "node:net";
import { compileDnsSpec } from "./dns/spec";
import { compileDohSpec } from "./doh/spec";
import { ProbeSpecError } from "./errors";
import { compileBodyRegex } from "./probes/http";
import { trustPlan } from "./tls/trust";
import type { ProbeSpec } from "./types";

/**
 * Checks a spec before any packet is sent. A bad spec is a configuration
 * fault: it is thrown to the caller, never reported as a probe failure.
 * Compiling here also warms the probes' caches (DNS wire templates, CA sets).
 */
export function validateProbeSpec(spec: ProbeSpec): void {
  if (typeof spec.address !== "string" || isIP(spec.address) === 0) {
    throw new ProbeSpecError("address", `expected an IP address, got ${JSON.stringify(spec.address)}`);
  }
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
    throw new ProbeSpecError("port", `expected an integer from 1 to 65535, got ${JSON.stringify(spec.port)}`);
  }
  switch (spec.kind) {
    case "dns":
      compileDnsSpec(spec);
      break;
    case "tcp":
      break;
    case "dot":
      compileDnsSpec(spec);
      trustPlan(spec);
      break;
    case "tls":
      trustPlan(spec);
      break;
    case "http":
      compileBodyRegex(spec.bodyRegex);
      if (spec.scheme === "https") trustPlan(spec);
      if (!Number.isInteger(spec.readCapBytes) || spec.readCapBytes < 0) {
        throw new ProbeSpecError("readCapBytes", `expected a non-negative integer, got ${JSON.stringify(spec.readCapBytes)}`);
      }
      break;
    case "doh":
      compileDohSpec(spec);
      break;
    default:
      throw new ProbeSpecError("kind", `unknown probe kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}
