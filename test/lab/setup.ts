// What the lab needs from the host, and what it builds before any daemon
// starts: the namespaces and links between them, and the PKI.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findBinary } from "../support/daemons";
import { DNS_DAEMONS } from "../support/server-configs";
import { LabError } from "./errors";
import { run, runChecked } from "./procs";
import {
  ANYCAST_ADDRESS,
  ANYCAST_ADDRESS_V6,
  ANYCAST_PREFIX,
  ANYCAST_PREFIX_V6,
  CLIENT_LINK,
  LAB_HOSTNAME,
  type LabNode,
  type Link,
  type ManagementLink,
  POPS,
  ROGUE,
  ROGUE_LINK,
  managementLink,
} from "./topology";

const BINARIES: Array<{ bin: string; pkg: string }> = [
  { bin: "ip", pkg: "iproute2" },
  { bin: "nft", pkg: "nftables" },
  { bin: "bird", pkg: "bird2" },
  { bin: "birdc", pkg: "bird2" },
  ...Object.values(DNS_DAEMONS).map(({ bin, pkg }) => ({ bin, pkg })),
  { bin: "nginx", pkg: "nginx" },
  { bin: "dig", pkg: "bind9-dnsutils" },
  { bin: "openssl", pkg: "openssl" },
];

/** Throws a LabError naming what to install (or that root is needed) unless the lab can be built here. */
export function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new LabError("not_root", "the lab needs root: network namespaces, routes and port 53");
  const missing = BINARIES.filter((b) => !findBinary(b.bin));
  if (!existsSync("/usr/lib/python3/dist-packages/exabgp")) missing.push({ bin: "exabgp", pkg: "exabgp" });
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    throw new LabError("missing_binary", `missing ${missing.map((m) => m.bin).join(", ")}: apt-get install ${pkgs.join(" ")}`);
  }
}

/** Absolute path of a daemon the lab runs. */
export function labBinary(name: string): string {
  const found = findBinary(name);
  if (!found) throw new LabError("missing_binary", `${name} not found`);
  return found;
}

/** Whether this process can build the lab: root and a kernel that creates network namespaces. */
export async function canCreateNamespaces(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.getuid?.() !== 0) return { ok: false, reason: "needs root (network namespaces, port 53, routes)" };
  if (!findBinary("ip")) return { ok: false, reason: "ip (iproute2) not installed" };
  const probe = `pwlab-probe-${process.pid}`;
  const added = await run(["ip", "netns", "add", probe]);
  if (added.code !== 0) return { ok: false, reason: `ip netns add failed: ${added.stderr.trim()}` };
  await run(["ip", "netns", "del", probe]);
  return { ok: true };
}

/** FRR's daemons (not on PATH) and Debian's bgpdump, needed only by a lab with an FRR router. */
export function checkFrrPrerequisites(): void {
  const missing = [
    ...["zebra", "bgpd"].filter((d) => !existsSync(`/usr/lib/frr/${d}`)).map((bin) => ({ bin, pkg: "frr" })),
    ...(findBinary("vtysh") ? [] : [{ bin: "vtysh", pkg: "frr" }]),
    ...(existsSync("/usr/lib/x86_64-linux-gnu/frr/modules/bgpd_bmp.so") || existsSync("/usr/lib/frr/modules/bgpd_bmp.so")
      ? []
      : [{ bin: "bgpd_bmp.so", pkg: "frr" }]),
  ];
  if (missing.length > 0)
    throw new LabError(
      "missing_binary",
      `missing ${missing.map((m) => m.bin).join(", ")}: apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(" ")}`,
    );
}

/** bgpdump decodes the router's MRT dump for bgpChanges(). */
export function hasBgpdump(): boolean {
  return findBinary("bgpdump") !== null;
}

/**
 * The first management slot whose host-side address no interface of the
 * host's namespace holds: labs running side by side each get their own /30.
 */
export async function freeManagementLink(labName: string): Promise<ManagementLink> {
  const shown = await runChecked(["ip", "-j", "-4", "addr", "show"]);
  const used = new Set(
    (JSON.parse(shown || "[]") as Array<{ addr_info?: Array<{ local?: string }> }>).flatMap((i) => (i.addr_info ?? []).map((a) => a.local)),
  );
  for (let slot = 0; slot < 32; slot++) {
    const link = managementLink(labName, slot);
    if (!used.has(link.hostAddress) && !used.has(link.routerAddress)) return link;
  }
  throw new LabError("command_failed", "no free management /30 in 203.0.113.128/25 on this host");
}

export interface NetworkOptions {
  nodes: readonly LabNode[];
  /** A veth from the host's namespace to the router (for a collector on the host). */
  management?: ManagementLink | null;
}

/** Creates a namespace per node (`ns` names them), a veth from the router to each, and the anycast address on every PoP. */
export async function buildNetwork(ns: (node: LabNode) => string, options: NetworkOptions): Promise<void> {
  const router = ns("router");
  for (const node of options.nodes) {
    await runChecked(["ip", "netns", "add", ns(node)]);
    await runChecked(["ip", "-n", ns(node), "link", "set", "lo", "up"]);
    // Without this the kernel drops an interface's IPv6 addresses when it goes down (link-down faults).
    for (const scope of ["all", "default"]) {
      await runChecked(["ip", "netns", "exec", ns(node), "sysctl", "-qw", `net.ipv6.conf.${scope}.keep_addr_on_down=1`]);
    }
  }
  await runChecked(["ip", "netns", "exec", router, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
  await runChecked(["ip", "netns", "exec", router, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"]);
  const links: Array<{ node: LabNode; link: Link }> = [
    { node: "client", link: CLIENT_LINK },
    ...POPS.map((p) => ({ node: p.name as LabNode, link: p.link })),
    ...(options.nodes.includes(ROGUE) ? [{ node: ROGUE as LabNode, link: ROGUE_LINK }] : []),
  ];
  for (const { node, link } of links) {
    const peer = ns(node);
    await runChecked(["ip", "-n", router, "link", "add", link.routerIf, "type", "veth", "peer", "name", link.peerIf, "netns", peer]);
    await runChecked(["ip", "-n", router, "addr", "add", `${link.routerAddress}/${link.prefixLength}`, "dev", link.routerIf]);
    await runChecked(["ip", "-n", router, "link", "set", link.routerIf, "up"]);
    await runChecked(["ip", "-n", peer, "addr", "add", `${link.peerAddress}/${link.prefixLength}`, "dev", link.peerIf]);
    await runChecked(["ip", "-n", peer, "link", "set", link.peerIf, "up"]);
    await runChecked(["ip", "-n", peer, "route", "replace", "default", "via", link.routerAddress]);
    // nodad: usable at once (duplicate address detection would hold them tentative for about a second).
    await runChecked(["ip", "-n", router, "addr", "add", `${link.routerAddress6}/${link.prefixLength6}`, "dev", link.routerIf, "nodad"]);
    await runChecked(["ip", "-n", peer, "addr", "add", `${link.peerAddress6}/${link.prefixLength6}`, "dev", link.peerIf, "nodad"]);
    await runChecked(["ip", "-n", peer, "-6", "route", "replace", "default", "via", link.routerAddress6]);
  }
  // No dummy links in this kernel: the anycast address lives on each PoP's loopback.
  for (const pop of POPS) {
    await runChecked(["ip", "-n", ns(pop.name), "addr", "add", ANYCAST_PREFIX, "dev", "lo"]);
    await runChecked(["ip", "-n", ns(pop.name), "addr", "add", ANYCAST_PREFIX_V6, "dev", "lo"]);
  }
  const mgmt = options.management;
  if (mgmt) {
    // Deleting the router's namespace destroys its end, and with it the host's.
    await runChecked(["ip", "link", "add", mgmt.hostIf, "type", "veth", "peer", "name", mgmt.routerIf, "netns", router]);
    await runChecked(["ip", "-n", router, "addr", "add", `${mgmt.routerAddress}/${mgmt.prefixLength}`, "dev", mgmt.routerIf]);
    await runChecked(["ip", "-n", router, "link", "set", mgmt.routerIf, "up"]);
    await runChecked(["ip", "addr", "add", `${mgmt.hostAddress}/${mgmt.prefixLength}`, "dev", mgmt.hostIf]);
    await runChecked(["ip", "link", "set", mgmt.hostIf, "up"]);
  }
}

/** One CA (ca.crt) and one leaf (leaf.crt, leaf.key) in `dir`, shared by every PoP, as real anycast deployments do. */
export async function createPki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ssl = (args: string[]) => runChecked(["openssl", ...args]);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await ssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.crt"),
    "-days",
    "30",
    "-subj",
    "/CN=popwatch anycast lab CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  writeFileSync(
    join(dir, "leaf.ext"),
    `subjectAltName=DNS:${LAB_HOSTNAME},IP:${ANYCAST_ADDRESS},IP:${ANYCAST_ADDRESS_V6}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  await ssl(["req", ...ec, "-keyout", join(dir, "leaf.key"), "-out", join(dir, "leaf.csr"), "-subj", `/CN=${LAB_HOSTNAME}`]);
  await ssl([
    "x509",
    "-req",
    "-in",
    join(dir, "leaf.csr"),
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-out",
    join(dir, "leaf.crt"),
    "-days",
    "30",
    "-extfile",
    join(dir, "leaf.ext"),
  ]);
}
