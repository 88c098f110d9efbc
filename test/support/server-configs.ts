// Configuration text for NSD, Knot, BIND and nginx, shared by the loopback
// test servers (servers.ts) and the anycast lab (test/lab/configs.ts). Pure:
// paths, addresses and names in, text out. Every daemon runs in the
// foreground with all of its files under `dir`; nothing touches /etc, /run
// or /var. No vitest import: the lab CLI runs outside the test runner.

export type DnsServerKind = "nsd" | "knot" | "bind";

/** Each DNS server's binary, Debian package, and command line for running in the foreground with configuration file `conf`. */
export const DNS_DAEMONS: Record<DnsServerKind, { bin: string; pkg: string; args(conf: string): string[] }> = {
  nsd: { bin: "nsd", pkg: "nsd", args: (conf) => ["-d", "-c", conf] },
  knot: { bin: "knotd", pkg: "knot", args: (conf) => ["-c", conf] },
  bind: { bin: "named", pkg: "bind9", args: (conf) => ["-g", "-n", "1", "-c", conf] },
};

/** An NSD configuration serving one zone file from `dir`; `listen` holds "address@port" entries. */
export function nsdConfText(options: { identity: string; nsid: string; dir: string; listen: string[]; zone: string }): string {
  const { identity, nsid, dir, listen, zone } = options;
  const ipv6 = listen.some((l) => l.includes(":"));
  return `server:
${listen.map((l) => `  ip-address: ${l}\n`).join("")}  do-ip4: yes
  do-ip6: ${ipv6 ? "yes" : "no"}
  username: ""
  chroot: ""
  database: ""
  zonesdir: "${dir}"
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  identity: "${identity}"
  nsid: "ascii_${nsid}"
  hide-version: no
  server-count: 1
  reuseport: no
  verbosity: 1
  # Probes and health checks from one source would otherwise hit response rate limiting.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "${zone}"
  zonefile: "${dir}/${zone}.zone"
`;
}

/** A Knot DNS configuration serving one zone file from `dir`; `listen` holds "address@port" entries. */
export function knotConfText(options: {
  identity: string;
  nsid: string;
  dir: string;
  listen: string[];
  zone: string;
  runAsRoot: boolean;
}): string {
  const { identity, nsid, dir, listen, zone, runAsRoot } = options;
  return `server:
  identity: "${identity}"
  nsid: "${nsid}"
  rundir: "${dir}"
  pidfile: "${dir}/knot.pid"
${runAsRoot ? "  user: root:root\n" : ""}  listen: [ ${listen.map((l) => `"${l}"`).join(", ")} ]
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "${dir}"
control:
  listen: "${dir}/knot.sock"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "${dir}"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: ${zone}
`;
}

/** A BIND 9 configuration serving one zone file from `dir` as primary, NSID and CHAOS identities set. */
export function bindConfText(options: {
  dir: string;
  listenV4: string;
  listenV6: string;
  serverId: string;
  hostname: string;
  zone: string;
}): string {
  const { dir, listenV4, listenV6, serverId, hostname, zone } = options;
  return `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  lock-file "${dir}/named.lock";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  dump-file "${dir}/named_dump.db";
  statistics-file "${dir}/named.stats";
  memstatistics-file "${dir}/named.memstats";
  listen-on ${listenV4};
  listen-on-v6 ${listenV6};
  recursion no;
  # With validation on, named tries to reach the root servers and starts seconds late.
  dnssec-validation no;
  server-id "${serverId}";
  hostname "${hostname}";
  notify no;
  allow-transfer { none; };
  empty-zones-enable no;
  automatic-interface-scan no;
  interface-interval 0;
};
controls { };
zone "${zone}" {
  type primary;
  file "${dir}/${zone}.zone";
};
`;
}

export interface NginxServerBlock {
  /** "address:port" entries, IPv6 addresses in brackets. */
  listen: string[];
  /** TLS (with HTTP/2) on every listen entry, with this certificate. */
  tls?: { certFile: string; keyFile: string };
  /** The rest of the server block (server_name, headers, locations), indented four spaces. */
  body: string;
}

/** An nginx configuration: one master and one worker, every file under `dir` (which needs a tmp/ subdirectory). */
export function nginxConfText(options: { dir: string; runAsRoot: boolean; accessLog: string | null; servers: NginxServerBlock[] }): string {
  const { dir, runAsRoot, accessLog, servers } = options;
  const server = ({ listen, tls, body }: NginxServerBlock): string => {
    const lines = listen.map((l) => `    listen ${l}${tls ? " ssl http2" : ""};`);
    if (tls)
      lines.push(`    ssl_certificate ${tls.certFile};`, `    ssl_certificate_key ${tls.keyFile};`, "    ssl_protocols TLSv1.2 TLSv1.3;");
    return `  server {\n${lines.join("\n")}\n${body}\n  }`;
  };
  // As root, nginx would switch its workers to "nobody", which cannot enter a
  // private 0700 directory to serve static files: keep them as root.
  return `${runAsRoot ? "user root root;\n" : ""}daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log info;
events { worker_connections 256; }
http {
  access_log ${accessLog ?? "off"};
  client_body_temp_path ${dir}/tmp/client_body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  types { text/plain txt; }
  default_type text/plain;
  server_tokens off;
  keepalive_timeout 5s;
${servers.map(server).join("\n")}
}
`;
}
