// FRR's bgpd_bmp sending to listenBmp: a router namespace (zebra + bgpd -M bmp,
// AS 65000) peering with a speaker namespace (zebra + bgpd, AS 65001) that
// announces prefixes of 198.51.100.0/24 and 2001:db8::/32. The listener runs
// in this process on a veth address the router reaches. Needs root and
// Debian's frr. Every process is stopped by its recorded PID, every namespace
// deleted, in afterAll.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BgpEvent, RouteEvent } from "@popwatch/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BmpListener, listenBmp } from "../src/bmp/listener";
import type { BmpItem } from "../src/bmp/session";

const FRR = "/usr/lib/frr";
const id = process.pid % 10000;
const ns = { router: `pwbmp${id}r`, speaker: `pwbmp${id}s` };
// The root side of the router's link: a /30 of 203.0.113.200–239 picked by PID, so parallel runs do not collide.
const base = 200 + 4 * (id % 10);
const rootAddress = `203.0.113.${base + 1}`;
const routerUplink = `203.0.113.${base + 2}`;
const link = { router: "203.0.113.249", speaker: "203.0.113.250", router6: "2001:db8:ffff::1", speaker6: "2001:db8:ffff::2" };
const HOSTNAME = "pwbmp-rtr";

const dir = mkdtempSync(join(tmpdir(), "popwatch-bmp-"));
const pids: number[] = [];
const items: BmpItem[] = [];
let notify: (() => void) | null = null;
let listener: BmpListener | null = null;

function sh(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Starts a daemon in a namespace, in its own session, and records its PID (ip netns exec execs, so it is the daemon's). */
function daemon(namespace: string, name: string, args: string[]): number {
  const log = join(dir, `${namespace}-${name}.log`);
  const out = spawn("ip", ["netns", "exec", namespace, join(FRR, name), ...args, "--log", `file:${log}`], {
    detached: true,
    stdio: ["ignore", "ignore", "ignore"],
  });
  if (out.pid === undefined) throw new Error(`could not start ${name} in ${namespace}`);
  out.unref();
  pids.push(out.pid);
  return out.pid;
}

function frrArgs(home: string): string[] {
  return ["-u", "frr", "-g", "frr", "-P", "0", "--vty_socket", home, "-z", join(home, "zserv.api")];
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; items so far:\n${items.map((i) => JSON.stringify(i)).join("\n")}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 100);
      notify = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function alive(pid: number): boolean {
  // Re-parented daemons linger as zombies until reaped: look at the state, not kill(0).
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function stop(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 3000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid)) process.kill(pid, "SIGKILL");
}

function vtysh(home: string, ...commands: string[]): string {
  return sh("vtysh", "--vty_socket", home, ...commands.flatMap((c) => ["-c", c]));
}

const routeEvents = () => items.flatMap((i) => (i.kind === "event" && i.event.type !== "STATE" ? [i.event as RouteEvent] : []));
const find = (type: string, policy: string, prefix: string) =>
  routeEvents().find((e) => e.type === type && e.policy === policy && e.prefix === prefix);
const states = () => items.flatMap((i) => (i.kind === "event" && i.event.type === "STATE" ? [i.event as BgpEvent] : []));

const ROUTER_CONF = `hostname ${HOSTNAME}
ip prefix-list MORE seq 5 permit 198.51.100.128/25
route-map IN deny 10
 match ip address prefix-list MORE
route-map IN permit 20
 set community 65000:100
router bgp 65000
 bgp router-id ${link.router}
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor ${link.speaker} remote-as 65001
 neighbor ${link.speaker} timers connect 1
 neighbor ${link.speaker6} remote-as 65001
 neighbor ${link.speaker6} timers connect 1
 address-family ipv4 unicast
  neighbor ${link.speaker} route-map IN in
  neighbor ${link.speaker} soft-reconfiguration inbound
  no neighbor ${link.speaker6} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor ${link.speaker6} activate
  neighbor ${link.speaker6} soft-reconfiguration inbound
 exit-address-family
 bmp targets popwatch
  bmp connect ${rootAddress} port PORT min-retry 100 max-retry 1000
  bmp monitor ipv4 unicast pre-policy
  bmp monitor ipv4 unicast post-policy
  bmp monitor ipv6 unicast pre-policy
  bmp monitor ipv6 unicast post-policy
 exit
`;

const SPEAKER_CONF = `hostname pwbmp-speaker
router bgp 65001
 bgp router-id ${link.speaker}
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 1 3
 neighbor ${link.router} remote-as 65000
 neighbor ${link.router} timers connect 1
 neighbor ${link.router6} remote-as 65000
 neighbor ${link.router6} timers connect 1
 address-family ipv4 unicast
  network 198.51.100.0/24
  no neighbor ${link.router6} activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:100::/48
  neighbor ${link.router6} activate
 exit-address-family
`;

const home = { router: join(dir, "router"), speaker: join(dir, "speaker") };
let routerBgpd = 0;
let speakerBgpd = 0;

beforeAll(async () => {
  chmodSync(dir, 0o755); // the daemons drop to the frr user and must reach their directories
  const uid = Number(sh("id", "-u", "frr").trim());
  const gid = Number(sh("id", "-g", "frr").trim());
  for (const path of Object.values(home)) {
    mkdirSync(path);
    chownSync(path, uid, gid);
  }
  sh("ip", "netns", "add", ns.router);
  sh("ip", "netns", "add", ns.speaker);
  const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => `pwb${id}${x}`) as [string, string, string, string];
  sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns.router);
  sh("ip", "addr", "add", `${rootAddress}/30`, "dev", a);
  sh("ip", "link", "set", a, "up");
  sh("ip", "-n", ns.router, "addr", "add", `${routerUplink}/30`, "dev", b);
  sh("ip", "-n", ns.router, "link", "set", b, "up");
  sh("ip", "-n", ns.router, "link", "set", "lo", "up");
  sh("ip", "-n", ns.router, "link", "add", c, "type", "veth", "peer", "name", d, "netns", ns.speaker);
  sh("ip", "-n", ns.router, "addr", "add", `${link.router}/30`, "dev", c);
  sh("ip", "-n", ns.router, "addr", "add", `${link.router6}/64`, "dev", c, "nodad");
  sh("ip", "-n", ns.router, "link", "set", c, "up");
  sh("ip", "-n", ns.speaker, "addr", "add", `${link.speaker}/30`, "dev", d);
  sh("ip", "-n", ns.speaker, "addr", "add", `${link.speaker6}/64`, "dev", d, "nodad");
  sh("ip", "-n", ns.speaker, "link", "set", d, "up");
  sh("ip", "-n", ns.speaker, "link", "set", "lo", "up");

  listener = await listenBmp({ port: 0, host: rootAddress });
  const feed = listener;
  void (async () => {
    for await (const item of feed) {
      items.push(item);
      notify?.();
    }
  })();

  writeFileSync(join(home.router, "bgpd.conf"), ROUTER_CONF.replace("PORT", String(listener.address().port)));
  writeFileSync(join(home.speaker, "bgpd.conf"), SPEAKER_CONF);
  // zebra first, and bgpd only once zebra's socket is there (anycast-lab.md).
  for (const [namespace, path] of [
    [ns.router, home.router],
    [ns.speaker, home.speaker],
  ] as const) {
    daemon(namespace, "zebra", [...frrArgs(path), "-i", join(path, "zebra.pid"), "-f", "/dev/null"]);
  }
  await until("zebra sockets", () => existsSync(join(home.router, "zserv.api")) && existsSync(join(home.speaker, "zserv.api")));
  routerBgpd = daemon(ns.router, "bgpd", [
    "-M",
    "bmp",
    ...frrArgs(home.router),
    "-i",
    join(home.router, "bgpd.pid"),
    "-f",
    join(home.router, "bgpd.conf"),
  ]);
  // The speaker starts once the router's BMP session is up, so its routes arrive as live Route Monitoring.
  await until("the router's BMP Initiation", () => items.find((i) => i.kind === "router-up"));
  speakerBgpd = daemon(ns.speaker, "bgpd", [
    ...frrArgs(home.speaker),
    "-i",
    join(home.speaker, "bgpd.pid"),
    "-f",
    join(home.speaker, "bgpd.conf"),
  ]);
}, 60_000);

afterAll(async () => {
  for (const pid of pids.reverse()) await stop(pid);
  await listener?.close();
  for (const namespace of Object.values(ns)) {
    let leftovers: string[] = [];
    try {
      leftovers = sh("ip", "netns", "pids", namespace).split("\n").filter(Boolean);
    } catch {}
    for (const pid of leftovers) await stop(Number(pid));
    try {
      sh("ip", "netns", "del", namespace);
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("BMP from FRR's bgpd_bmp", () => {
  it("names the router from its Initiation", () => {
    const up = items.find((i) => i.kind === "router-up");
    expect(up).toMatchObject({ kind: "router-up", router: { source: `bmp:${HOSTNAME}`, sysName: HOSTNAME, address: routerUplink } });
    expect(up?.kind === "router-up" && up.router.sysDescr).toMatch(/^FRRouting/);
  });

  it("reports both peers up, with their AS", async () => {
    await until("peer up for both sessions", () => states().filter((s) => s.type === "STATE" && s.up).length >= 2);
    const peers = states()
      .filter((s) => s.type === "STATE" && s.up)
      .map((s) => ({ peer: s.peer, peerAs: s.peerAs, source: s.source }));
    expect(peers).toEqual(
      expect.arrayContaining([
        { peer: link.speaker, peerAs: 65001, source: `bmp:${HOSTNAME}` },
        { peer: link.speaker6, peerAs: 65001, source: `bmp:${HOSTNAME}` },
      ]),
    );
  });

  it("sees every announcement pre-policy and the route map's result post-policy, IPv4 and IPv6", async () => {
    // FRR's post-policy view holds only paths whose next hop is resolved (valid); at session start the
    // IPv6 one may not be yet, and FRR 8.4 then reports that route post-policy as a withdrawal and does
    // not repeat it when the next hop resolves. So the routes checked here are announced once the
    // router holds the first ones as valid.
    await until("the first route", () => find("A", "pre", "198.51.100.0/24"));
    await until("valid IPv4 and IPv6 paths on the router", () =>
      ["ipv4 unicast 198.51.100.0/24", "ipv6 unicast 2001:db8:100::/48"].every((route) =>
        vtysh(home.router, `show bgp ${route} json`).includes('"valid":true'),
      ),
    );
    vtysh(
      home.speaker,
      "configure terminal",
      "router bgp 65001",
      "address-family ipv4 unicast",
      "network 198.51.100.128/25",
      "exit-address-family",
      "address-family ipv6 unicast",
      "network 2001:db8:200::/48",
    );
    const wanted: [string, string][] = [
      ["pre", "198.51.100.0/24"],
      ["post", "198.51.100.0/24"],
      ["pre", "2001:db8:200::/48"],
      ["post", "2001:db8:200::/48"],
    ];
    await until("route monitoring of every prefix", () => wanted.every(([policy, prefix]) => find("A", policy, prefix)));
    for (const [policy, prefix] of wanted) {
      const event = find("A", policy, prefix) as RouteEvent;
      expect(event, `${policy} ${prefix}`).toMatchObject({
        source: `bmp:${HOSTNAME}`,
        peerAs: 65001,
        origin: 65001,
        originAttribute: "IGP",
      });
      // FRR 8.4 re-encodes the monitored UPDATE as if sending it on, so its own AS leads the path.
      expect(event.asPath.at(-1)).toBe(65001);
      expect(event.peer).toBe(prefix.includes(":") ? link.speaker6 : link.speaker);
      expect(event.nextHop).toBe(prefix.includes(":") ? link.speaker6 : link.speaker);
    }
    // The inbound route map sets a community (seen post-policy only) and denies the /25: never announced
    // post-policy. FRR 8.4 reports that denied route pre-policy too, though as a withdrawal, not with its path.
    expect(find("A", "post", "198.51.100.0/24")?.communities).toEqual(["65000:100"]);
    expect(find("A", "pre", "198.51.100.0/24")?.communities).toBeUndefined();
    await until("the denied /25 pre-policy", () => routeEvents().some((e) => e.policy === "pre" && e.prefix === "198.51.100.128/25"));
    expect(find("A", "post", "198.51.100.128/25")).toBeUndefined();
    expect(items.filter((i) => i.kind === "error")).toEqual([]);
  });

  it("sees a withdrawal pre- and post-policy", async () => {
    vtysh(home.speaker, "configure terminal", "router bgp 65001", "address-family ipv4 unicast", "no network 198.51.100.0/24");
    await until("the withdrawal", () => find("W", "pre", "198.51.100.0/24") && find("W", "post", "198.51.100.0/24"));
    expect(find("W", "pre", "198.51.100.0/24")).toMatchObject({ peer: link.speaker, peerAs: 65001, asPath: [], origin: null });
  });

  it("reports the peers down when the speaker stops, then the router gone when its bgpd stops", async () => {
    // FRR also reports peers down while sessions are first set up (connection collisions): count from here.
    const before = states().length;
    await stop(speakerBgpd);
    await until(
      "peer down",
      () =>
        states()
          .slice(before)
          .filter((s) => s.type === "STATE" && !s.up).length >= 2,
    );
    const down = states()
      .slice(before)
      .filter((s) => s.type === "STATE" && !s.up);
    expect(down.map((s) => s.peer).sort()).toEqual([link.speaker, link.speaker6].sort());
    await stop(routerBgpd);
    await until("router down", () => items.find((i) => i.kind === "router-down"));
    expect(items.find((i) => i.kind === "router-down")).toMatchObject({ router: { source: `bmp:${HOSTNAME}` } });
  });
});
