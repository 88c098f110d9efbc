// The anycast lab's fixed layout: namespaces, addresses, AS numbers, and what
// each PoP runs. Pure data, shared by the lab driver, the truth watcher and tests.
//
// Every address is from the documentation ranges (RFC 5737) and exists only
// inside network namespaces the lab creates: links from 198.51.100.0/24, the
// anycast service from 203.0.113.0/24; IPv6 from 2001:db8::/32 (RFC 3849):
// a /64 per link from 2001:db8:100::/48, the anycast /128 from 2001:db8:53::/48.
// 192.0.2.0/24 is this machine's own network and is never used.
import type { DnsServerKind } from "../support/server-configs";

export const POP_NAMES = ["pop-a", "pop-b", "pop-c"] as const;
export type PopName = (typeof POP_NAMES)[number];

/** The PoP that should not exist: a BGP speaker the tests make announce the anycast range from a foreign AS. */
export const ROGUE = "rogue";
export type RogueName = typeof ROGUE;

/** Where a command can run: the vantage point, the router, a PoP, or the rogue (only in a lab built with it). */
export type LabNode = "client" | "router" | PopName | RogueName;
export const LAB_NODES: readonly LabNode[] = ["client", "router", ...POP_NAMES, ROGUE];

export const ANYCAST_ADDRESS = "203.0.113.53";
export const ANYCAST_PREFIX = `${ANYCAST_ADDRESS}/32`;
/**
 * The range the anycast address lives in. The PoPs announce either the /32
 * (default) or this /24 (`announce: "covering"`), the smallest prefix real
 * anycast services announce; only with the /24 can a more-specific of the
 * announcement exist. The router accepts any prefix inside it (/24 to /32).
 */
export const ANYCAST_RANGE = "203.0.113.0/24";
/**
 * The IPv6 anycast address beside the IPv4 one: on lo of every PoP, served by
 * the same daemons, announced by the same BGP sessions (MP-BGP: each IPv4
 * session also carries IPv6 unicast, with the PoP's IPv6 link address as next
 * hop), health-checked over IPv6. Always announced as the /128.
 */
export const ANYCAST_ADDRESS_V6 = "2001:db8:53::53";
export const ANYCAST_PREFIX_V6 = `${ANYCAST_ADDRESS_V6}/128`;
/** What the router accepts over IPv6: the anycast /48 down to the /128 (as the IPv4 range). */
export const ANYCAST_RANGE_V6 = "2001:db8:53::/48";
/** An address family of the anycast service. */
export type AnycastFamily = 4 | 6;

/** The zone every PoP serves; its SOA is what health checks and probes ask for. */
export const LAB_ZONE = "lab.popwatch.test";
/** The name in the shared certificate (SNI and Host). */
export const LAB_HOSTNAME = "anycast.lab.popwatch.test";
/** HTTP response header naming the PoP that answered. */
export const POP_HEADER = "x-served-by";

export const ROUTER_ASN = 65000;
export const ROUTER_ID = "198.51.100.1";
/** The rogue speaker's own AS: it prepends it to every path it announces (see RogueAnnouncement). */
export const ROGUE_ASN = 65666;

export interface Link {
  /** Interface name in the router's namespace. */
  routerIf: string;
  routerAddress: string;
  /** Interface name in the other namespace. */
  peerIf: string;
  peerAddress: string;
  /** Prefix length of the point-to-point link. */
  prefixLength: 30;
  /** The same link's IPv6 addresses (a /64 from 2001:db8:100::/48). */
  routerAddress6: string;
  peerAddress6: string;
  prefixLength6: 64;
}

/** The IPv6 /64 of link number `index` (client 0, the PoPs 1-3, the rogue 4): router ::1, peer ::2. */
function linkV6(index: number): Pick<Link, "routerAddress6" | "peerAddress6" | "prefixLength6"> {
  return { routerAddress6: `2001:db8:100:${index}::1`, peerAddress6: `2001:db8:100:${index}::2`, prefixLength6: 64 };
}

export const CLIENT_LINK: Link = {
  routerIf: "r-client",
  routerAddress: "198.51.100.1",
  peerIf: "eth0",
  peerAddress: "198.51.100.2",
  prefixLength: 30,
  ...linkV6(0),
};
export const CLIENT_ADDRESS = CLIENT_LINK.peerAddress;
export const CLIENT_ADDRESS_V6 = CLIENT_LINK.peerAddress6;

/** The rogue's link: the /30 after the three PoPs' (198.51.100.16/30). */
export const ROGUE_LINK: Link = {
  routerIf: "r-rogue",
  routerAddress: "198.51.100.17",
  peerIf: "eth0",
  peerAddress: "198.51.100.18",
  prefixLength: 30,
  ...linkV6(4),
};

/**
 * A management link from the host's namespace to the router, for collectors
 * running on the host (a BMP listener). 203.0.113.0/24 is the anycast range,
 * but only .53 is ever announced or served; a /30 at the top of it cannot
 * collide. The host-side interface is named after the lab ("pwlab-mgmt").
 */
export interface ManagementLink {
  hostIf: string;
  hostAddress: string;
  routerIf: string;
  routerAddress: string;
  prefixLength: 30;
}

/** The management link of lab number `slot` (0-based, one /30 each from 203.0.113.252 downwards). */
export function managementLink(labName: string, slot: number): ManagementLink {
  if (!Number.isInteger(slot) || slot < 0 || slot > 31) throw new RangeError(`management slot ${slot} out of 0..31`);
  const base = 252 - 4 * slot;
  return {
    hostIf: `${labName}-mgmt`,
    hostAddress: `203.0.113.${base + 1}`,
    routerIf: "r-mgmt",
    routerAddress: `203.0.113.${base + 2}`,
    prefixLength: 30,
  };
}
export interface PopSpec {
  name: PopName;
  asn: number;
  /**
   * Extra copies of the PoP's own AS in its announcement: the router prefers
   * the shortest AS path, so prepending orders the PoPs (a, then b, then c).
   */
  prepend: number;
  dns: DnsServerKind;
  /** EDNS NSID (RFC 5001), CHAOS id.server and hostname.bind (RFC 4892): all the PoP's name. */
  identity: string;
  link: Link;
  /** BIRD protocol name on the router. */
  bgpProtocol: string;
}

function popLink(index: number): Link {
  // /30 per link after the client's 198.51.100.0/30: .4/30, .8/30, .12/30.
  const base = 4 * (index + 1);
  return {
    routerIf: `r-${POP_NAMES[index]}`,
    routerAddress: `198.51.100.${base + 1}`,
    peerIf: "eth0",
    peerAddress: `198.51.100.${base + 2}`,
    prefixLength: 30,
    ...linkV6(index + 1),
  };
}

const DNS_BY_POP: Record<PopName, DnsServerKind> = { "pop-a": "nsd", "pop-b": "knot", "pop-c": "bind" };

export const POPS: readonly PopSpec[] = POP_NAMES.map((name, index) => ({
  name,
  asn: 65001 + index,
  prepend: index,
  dns: DNS_BY_POP[name],
  identity: name,
  link: popLink(index),
  bgpProtocol: name.replace("-", "_"),
}));

/** The PoP every client reaches while all are healthy (shortest AS path). */
export const PREFERRED_POP: PopName = "pop-a";

export function popSpec(name: PopName): PopSpec {
  const spec = POPS.find((p) => p.name === name);
  if (!spec) throw new RangeError(`unknown PoP ${name}`);
  return spec;
}

export function isPopName(value: string): value is PopName {
  return (POP_NAMES as readonly string[]).includes(value);
}

export function isLabNode(value: string): value is LabNode {
  return (LAB_NODES as readonly string[]).includes(value);
}

/** The PoP (or the rogue) whose link address (IPv4 or IPv6) is `nextHop`, or null. */
export function popByNextHop(nextHop: string): PopName | RogueName | null {
  const on = (link: Link) => link.peerAddress === nextHop || link.peerAddress6 === nextHop;
  if (on(ROGUE_LINK)) return ROGUE;
  return POPS.find((p) => on(p.link))?.name ?? null;
}

/** The PoP (or the rogue) whose BGP protocol on the router is `protocol`, or null. */
export function popByProtocol(protocol: string): PopName | RogueName | null {
  if (protocol === ROGUE) return ROGUE;
  return POPS.find((p) => p.bgpProtocol === protocol)?.name ?? null;
}

/** Namespace name of a node in the lab called `labName` ("pwlab" → "pwlab-client", "pwlab-pop-a"). */
export function namespaceOf(labName: string, node: LabNode): string {
  return `${labName}-${node === "router" ? "rtr" : node}`;
}
