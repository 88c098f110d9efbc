// Knot DNS configuration text, shared by the loopback test servers and the anycast lab
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
