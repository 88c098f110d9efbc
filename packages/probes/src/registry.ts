import { dnsProbe } from "./probes/dns";
import { dohProbe } from "./probes/doh";
import { dotProbe } from "./probes/dot";
import { httpProbe } from "./probes/http";
import { tcpProbe } from "./probes/tcp";
import { tlsProbe } from "./probes/tls";
import type { ProbeRegistry } from "./types";

/** Every probe kind, by name. Adding a kind means one file in probes/ and one line here. */
export const probeRegistry: ProbeRegistry = {
  dns: dnsProbe,
  tcp: tcpProbe,
  tls: tlsProbe,
  http: httpProbe,
  dot: dotProbe,
  doh: dohProbe,
};
