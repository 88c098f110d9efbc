// Knot and BIND configuration text, shared by the loopback test servers and the anycast lab
// (no vitest import: the lab CLI runs outside the test runner).

/** A Knot DNS configuration serving one zone file from `dir` (also used by the anycast lab). */
export function knotConfText(options: { identity: string; nsid: string; dir: string; listen: string[]; zone: string; runAsRoot: boolean }): string {
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

/** A BIND 9 configuration serving one zone file from `dir` as primary, NSID and CHAOS identities set (also used by the anycast lab). */
export function bindConfText(options: { dir: string; listenV4: string; listenV6: string; serverId: string; hostname: string; zone: string }): string {
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
