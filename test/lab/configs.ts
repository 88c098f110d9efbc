// Configuration files for the lab's daemons. Pure: paths and timers in, text out.
// Every daemon runs in the foreground with all of its files under the lab's
// state directory; nothing touches /etc, /run or /var.

import { bindConfText, knotConfText, nginxConfText, nsdConfText } from "../support/server-configs";
import {
  ANYCAST_ADDRESS,
  ANYCAST_ADDRESS_V6,
  ANYCAST_PREFIX,
  ANYCAST_PREFIX_V6,
  ANYCAST_RANGE,
  ANYCAST_RANGE_V6,
  type AnycastFamily,
  LAB_HOSTNAME,
  LAB_ZONE,
  POPS,
  type PopSpec,
  ROGUE,
  ROGUE_ASN,
  ROGUE_LINK,
  ROUTER_ASN,
  ROUTER_ID,
} from "./topology";

export interface BgpTimers {
  /** Seconds between keepalives. */
  keepaliveS: number;
  /** Seconds without a message before the session is declared dead (RFC 4271 hold time, at least 3). */
  holdS: number;
}

/** Fast enough that a frozen speaker is noticed in seconds (BGP defaults 60/180 s take minutes). */
export const DEFAULT_TIMERS: BgpTimers = { keepaliveS: 1, holdS: 3 };

/** Seconds between a speaker's health checks of its DNS server. */
export const DEFAULT_HEALTH_INTERVAL_S = 0.2;

export function zoneFile(): string {
  return [
    `$ORIGIN ${LAB_ZONE}.`,
    "$TTL 60",
    `@ IN SOA ns.${LAB_ZONE}. hostmaster.${LAB_ZONE}. ( 2026010101 3600 600 86400 60 )`,
    `@ IN NS ns.${LAB_ZONE}.`,
    `ns IN A ${ANYCAST_ADDRESS}`,
    `ns IN AAAA ${ANYCAST_ADDRESS_V6}`,
    `anycast IN A ${ANYCAST_ADDRESS}`,
    `anycast IN AAAA ${ANYCAST_ADDRESS_V6}`,
    `@ IN TXT "popwatch anycast lab"`,
    "",
  ].join("\n");
}

/**
 * Only the anycast range crosses BGP, from its /24 down to the /32: a PoP (or
 * the rogue) cannot divert the router's other traffic, but can announce a
 * more-specific of the /24.
 */
const ANYCAST_ONLY = `if net ~ [ ${ANYCAST_RANGE}{24,32} ] then accept; reject;`;
const ANYCAST_V6_ONLY = `if net ~ [ ${ANYCAST_RANGE_V6}{48,128} ] then accept; reject;`;

/** A BGP neighbor of the router: every PoP, and the rogue in a lab built with it. */
export interface RouterPeer {
  name: string;
  /** BIRD protocol name; FRR knows the peer by its address. */
  protocol: string;
  asn: number;
  address: string;
  localAddress: string;
}

export function routerPeers(withRogue: boolean): RouterPeer[] {
  const pops = POPS.map((p) => ({
    name: p.name,
    protocol: p.bgpProtocol,
    asn: p.asn,
    address: p.link.peerAddress,
    localAddress: p.link.routerAddress,
  }));
  const rogue = { name: ROGUE, protocol: ROGUE, asn: ROGUE_ASN, address: ROGUE_LINK.peerAddress, localAddress: ROGUE_LINK.routerAddress };
  return withRogue ? [...pops, rogue] : pops;
}

export interface RouterExports {
  /** Write every BGP message and state change the router sees here, as MRT (RFC 6396). */
  mrtFile: string;
  /** FRR only: the BMP collector (RFC 7854) bgpd connects to. */
  bmp?: { address: string; port: number } | null;
}

export function birdConf(dir: string, timers: BgpTimers, peers: readonly RouterPeer[], exports: RouterExports): string {
  const sessions = peers
    .map(
      (peer) => `protocol bgp ${peer.protocol} from pops {
  description "${peer.name}";
  neighbor ${peer.address} as ${peer.asn};
  source address ${peer.localAddress};
}`,
    )
    .join("\n\n");
  return `# popwatch anycast lab: the router every client path crosses (AS${ROUTER_ASN}).
log "${dir}/bird.log" all;
# Every BGP message and session state change, as MRT BGP4MP records (BIRD writes each at once).
mrtdump "${exports.mrtFile}";
# Millisecond log stamps; the process runs with TZ=UTC.
timeformat log "%F %T.%3f";
timeformat protocol "%F %T.%3f";
timeformat route "%F %T.%3f";
router id ${ROUTER_ID};

protocol device {
  scan time 2;
}

protocol kernel {
  ipv4 {
    import none;
    export filter { ${ANYCAST_ONLY} };
  };
  merge paths off;
  debug { routes };
}

protocol kernel kernel6 {
  ipv6 {
    import none;
    export filter { ${ANYCAST_V6_ONLY} };
  };
  merge paths off;
  debug { routes };
}

template bgp pops {
  local as ${ROUTER_ASN};
  hold time ${timers.holdS};
  keepalive time ${timers.keepaliveS};
  # Defaults (5 s, 120 s, 60-300 s) would make reconnects after a repair take minutes,
  # and a growing error wait would make fail-back depend on how many faults came before.
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 1;
  ipv4 {
    import filter { ${ANYCAST_ONLY} };
    export none;
  };
  # IPv6 unicast over the same (IPv4) session; the PoP names its IPv6 link address as next hop.
  ipv6 {
    import filter { ${ANYCAST_V6_ONLY} };
    export none;
  };
  debug { states, events };
  mrtdump { states, messages };
}

${sessions}
`;
}

/** FRR's zebra: only where to log; interfaces and addresses come from the namespace. */
export function zebraConf(dir: string): string {
  return `! popwatch anycast lab: FRR zebra on the router.
hostname lab-router
log file ${dir}/zebra.log
log timestamp precision 6
`;
}

/**
 * FRR's bgpd on the router (AS65000): the same sessions, timers and filter as
 * the BIRD router, plus an MRT dump of every message with microsecond stamps
 * (BGP4MP_ET) and, given a collector, BMP with pre- and post-policy route
 * monitoring.
 */
export function frrBgpdConf(dir: string, timers: BgpTimers, peers: readonly RouterPeer[], exports: RouterExports): string {
  const neighbors = peers
    .map((peer) =>
      [
        ` neighbor ${peer.address} remote-as ${peer.asn}`,
        ` neighbor ${peer.address} description ${peer.name}`,
        ` neighbor ${peer.address} update-source ${peer.localAddress}`,
        ` neighbor ${peer.address} timers ${timers.keepaliveS} ${timers.holdS}`,
        // Reconnect within a second after a repair (the default waits 120 s).
        ` neighbor ${peer.address} timers connect 1`,
      ].join("\n"),
    )
    .join("\n");
  const policies = (inbound: string) =>
    peers
      .map((peer) => [`  neighbor ${peer.address} route-map ${inbound} in`, `  neighbor ${peer.address} route-map NOTHING out`].join("\n"))
      .join("\n");
  const activate = peers.map((peer) => `  neighbor ${peer.address} activate`).join("\n");
  const bmp = exports.bmp
    ? `
 bmp targets collector
  bmp monitor ipv4 unicast pre-policy
  bmp monitor ipv4 unicast post-policy
  bmp connect ${exports.bmp.address} port ${exports.bmp.port} min-retry 100 max-retry 1000
 exit
`
    : "";
  return `! popwatch anycast lab: FRR bgpd on the router (AS${ROUTER_ASN}).
hostname lab-router
log file ${dir}/bgpd.log
log timestamp precision 6
!
dump bgp all-et ${exports.mrtFile}
!
ip prefix-list ANYCAST seq 5 permit ${ANYCAST_RANGE} ge 24 le 32
route-map ANYCAST-IN permit 10
 match ip address prefix-list ANYCAST
exit
ipv6 prefix-list ANYCAST6 seq 5 permit ${ANYCAST_RANGE_V6} ge 48 le 128
route-map ANYCAST6-IN permit 10
 match ipv6 address prefix-list ANYCAST6
exit
route-map NOTHING deny 10
exit
!
router bgp ${ROUTER_ASN}
 bgp router-id ${ROUTER_ID}
 bgp log-neighbor-changes
 no bgp default ipv4-unicast
 ! Equal AS paths keep the older route (FRR's default); the lab orders PoPs by path length only.
${neighbors}
 address-family ipv4 unicast
${activate}
${policies("ANYCAST-IN")}
 exit-address-family
 ! IPv6 unicast over the same (IPv4) sessions; the PoPs name their IPv6 link addresses as next hops.
 address-family ipv6 unicast
${activate}
${policies("ANYCAST6-IN")}
 exit-address-family
${bmp}exit
`;
}

/**
 * One BGP session to the router carrying both families, each announced by its
 * own health-check process (healthcheck.conf for IPv4, healthcheck6.conf for
 * IPv6), so that each family is withdrawn when its own check fails.
 */
export function exabgpConf(pop: PopSpec, dir: string, holdS: number, announced: string = ANYCAST_PREFIX): string {
  return `# ${pop.name}'s BGP speaker: announces ${announced} and ${ANYCAST_PREFIX_V6} while their health checks pass.
process health {
  run /usr/bin/python3 -m exabgp healthcheck --config ${dir}/${healthcheckFile(4)};
  encoder text;
}

process health6 {
  run /usr/bin/python3 -m exabgp healthcheck --config ${dir}/${healthcheckFile(6)};
  encoder text;
}

neighbor ${pop.link.routerAddress} {
  router-id ${pop.link.peerAddress};
  local-address ${pop.link.peerAddress};
  local-as ${pop.asn};
  peer-as ${ROUTER_ASN};
  hold-time ${holdS};
  family {
    ipv4 unicast;
    ipv6 unicast;
  }
  api {
    processes [ health health6 ];
  }
}
`;
}

/** Environment for ExaBGP: foreground, as root, listening on the PoP's link so the router can connect in. */
export function exabgpEnv(pop: PopSpec): Record<string, string> {
  return {
    "exabgp.daemon.daemonize": "false",
    "exabgp.daemon.user": "root",
    "exabgp.daemon.drop": "false",
    "exabgp.log.destination": "stdout",
    "exabgp.log.level": "NOTICE",
    // Without a bound listener ExaBGP only dials out, and its back-off grows to 60 s after a failure.
    "exabgp.tcp.bind": pop.link.peerAddress,
    "exabgp.tcp.port": "179",
    "exabgp.api.cli": "false",
  };
}

/** Per family: the health check's options, its script, and its log of state changes (in the PoP's bgp directory). */
export const healthcheckFile = (family: AnycastFamily): string => (family === 4 ? "healthcheck.conf" : "healthcheck6.conf");
export const checkScriptFile = (family: AnycastFamily): string => (family === 4 ? "check.sh" : "check6.sh");
export const healthStatesFile = (family: AnycastFamily): string => (family === 4 ? "health-states.log" : "health-states6.log");

/**
 * exabgp healthcheck options (one `option = value` per line; its --config).
 * rise/fall 1: one passing or failing check flips the announcement, the
 * fastest reaction the module offers. For IPv6 the next hop is the PoP's IPv6
 * link address ("self" would be the session's IPv4 address).
 */
export function healthcheckConf(
  pop: PopSpec,
  dir: string,
  intervalS: number,
  announced: string = ANYCAST_PREFIX,
  family: AnycastFamily = 4,
): string {
  // ExaBGP sends a given AS path as is (it adds its own AS only to an empty one): own AS plus the prepends.
  const asPath = Array.from({ length: 1 + pop.prepend }, () => pop.asn).join(" ");
  return [
    `name = ${family === 4 ? pop.name : `${pop.name}-v6`}`,
    "no-syslog",
    `interval = ${intervalS}`,
    `fast-interval = ${intervalS}`,
    "timeout = 2",
    "rise = 1",
    "fall = 1",
    `command = /bin/sh ${dir}/${checkScriptFile(family)}`,
    `ip = ${family === 4 ? announced : ANYCAST_PREFIX_V6}`,
    ...(family === 6 ? [`next-hop = ${pop.link.peerAddress6}`] : []),
    "no-ip-setup",
    "withdraw-on-down",
    `as-path = ${asPath}`,
    `execute = /bin/sh ${dir}/state-change.sh ${healthStatesFile(family)}`,
    "",
  ].join("\n");
}

/** The health check: the PoP is healthy only while its own DNS server answers the lab zone, on the family's anycast address, over UDP and TCP. */
export function checkScript(family: AnycastFamily = 4): string {
  return `#!/bin/sh
# UDP alone can wait a full second on a lost reply; TCP is refused at once when the server is gone.
for transport in +notcp +tcp; do
  answer=$(dig @${family === 4 ? ANYCAST_ADDRESS : ANYCAST_ADDRESS_V6} ${LAB_ZONE} SOA +short +norec +time=1 +tries=1 $transport 2>/dev/null) || exit 1
  [ -n "$answer" ] || exit 1
done
exit 0
`;
}

/** Logs each health state change with a UTC timestamp (the healthcheck module exports STATE) to the file named by $1. */
export function stateChangeScript(dir: string): string {
  return `#!/bin/sh
printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "\${STATE:-unknown}" >> ${dir}/"\${1:-${healthStatesFile(4)}}"
`;
}

/** The configuration of the PoP's DNS server (its `dns` kind). */
export function dnsConf(pop: PopSpec, dir: string): string {
  switch (pop.dns) {
    case "nsd":
      return nsdConf(pop, dir);
    case "knot":
      return knotConf(pop, dir);
    case "bind":
      return bindConf(pop, dir);
  }
}

function nsdConf(pop: PopSpec, dir: string): string {
  return nsdConfText({
    identity: pop.identity,
    nsid: pop.identity,
    dir,
    listen: [`${ANYCAST_ADDRESS}@53`, `${ANYCAST_ADDRESS_V6}@53`],
    zone: LAB_ZONE,
  });
}

function knotConf(pop: PopSpec, dir: string): string {
  return knotConfText({
    identity: pop.identity,
    nsid: pop.identity,
    dir,
    listen: [`${ANYCAST_ADDRESS}@53`, `${ANYCAST_ADDRESS_V6}@53`],
    zone: LAB_ZONE,
    runAsRoot: true,
  });
}

function bindConf(pop: PopSpec, dir: string): string {
  return bindConfText({
    dir,
    listenV4: `port 53 { ${ANYCAST_ADDRESS}; }`,
    listenV6: `port 53 { ${ANYCAST_ADDRESS_V6}; }`,
    serverId: pop.identity,
    hostname: pop.identity,
    zone: LAB_ZONE,
  });
}

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

/** nginx on the anycast address: TLS on 443 and plain HTTP on 80, naming the PoP in a header on every response. */
export function nginxConf(pop: PopSpec, dir: string, cert: CertFiles): string {
  const body = `    server_name ${LAB_HOSTNAME};
    add_header X-Served-By ${pop.name} always;
    location = / { return 200 "popwatch lab ${pop.name}\\n"; }
    location = /fail { return 503; }
    location / { return 404; }`;
  return nginxConfText({
    dir,
    runAsRoot: true,
    accessLog: null,
    servers: [
      { listen: [`${ANYCAST_ADDRESS}:443`, `[${ANYCAST_ADDRESS_V6}]:443`], tls: cert, body },
      { listen: [`${ANYCAST_ADDRESS}:80`, `[${ANYCAST_ADDRESS_V6}]:80`], body },
    ],
  });
}

export const BLACKHOLE_TABLE = "popwatch_lab_blackhole";

/**
 * Drops DNS arriving from outside the PoP for the anycast address. The
 * health check asks over lo, so it keeps passing and the route stays: the
 * black hole a health check that cannot see the path produces.
 */
export function blackholeRuleset(pop: PopSpec): string {
  return `table inet ${BLACKHOLE_TABLE} {
  chain input {
    type filter hook input priority -10; policy accept;
    iifname "${pop.link.peerIf}" ip daddr ${ANYCAST_ADDRESS} udp dport 53 drop
    iifname "${pop.link.peerIf}" ip daddr ${ANYCAST_ADDRESS} tcp dport 53 drop
    iifname "${pop.link.peerIf}" ip6 daddr ${ANYCAST_ADDRESS_V6} udp dport 53 drop
    iifname "${pop.link.peerIf}" ip6 daddr ${ANYCAST_ADDRESS_V6} tcp dport 53 drop
  }
}
`;
}

/** What the rogue announces: a prefix inside the anycast range, ending in `originAs`. */
export interface RogueAnnouncement {
  prefix: string;
  /**
   * The AS the path ends in. The rogue speaks as AS65666 and prepends it:
   * the router sees [65666] when this is 65666, else [65666, originAs] (the
   * rogue as the origin's "upstream", how a forged-origin hijack looks).
   */
  originAs: number;
}

/**
 * The rogue's BIRD: one session to the router, announcing exactly
 * `announcements` (rewritten and reloaded with `birdc configure` on each
 * change, which re-announces only what changed).
 */
export function rogueBirdConf(dir: string, timers: BgpTimers, announcements: readonly RogueAnnouncement[]): string {
  const routes = announcements.map((a) => `  route ${a.prefix} blackhole;`).join("\n");
  const paths = announcements
    .filter((a) => a.originAs !== ROGUE_ASN)
    .map((a) => `    if net = ${a.prefix} then bgp_path.prepend(${a.originAs});`)
    .join("\n");
  return `# popwatch anycast lab: the rogue speaker (AS${ROGUE_ASN}).
log "${dir}/bird.log" all;
timeformat log "%F %T.%3f";
router id ${ROGUE_LINK.peerAddress};

protocol device {
  scan time 2;
}

protocol static announced {
  ipv4;
${routes}
}

protocol bgp upstream {
  local as ${ROGUE_ASN};
  neighbor ${ROGUE_LINK.routerAddress} as ${ROUTER_ASN};
  source address ${ROGUE_LINK.peerAddress};
  hold time ${timers.holdS};
  keepalive time ${timers.keepaliveS};
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 1;
  ipv4 {
    import none;
    export filter {
      if proto != "announced" then reject;
${paths}
      accept;
    };
  };
}
`;
}
