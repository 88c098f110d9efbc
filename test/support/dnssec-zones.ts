// DNSSEC-signed zones on real servers, for the DNSSEC facts and verdicts.
//
// BIND's dnssec-keygen + dnssec-signzone sign four zones with explicit
// inception (-s) and expiration (-e) times: valid for 30 days, expiring in 3,
// expired 10 days ago, and not valid for 2 more days; a fifth zone stays
// unsigned. NSD and Knot both serve all five as they are. Knot also signs a
// zone of its own (`dnssec-signing: on`, a policy with a chosen
// rrsig-lifetime) as a second signer. Unbound, validating with the zones'
// DS records as trust anchors, stands in for the validating resolver that
// sets AD.
//
// Everything runs on 127.0.0.1 on free ports from one private directory, in
// the foreground. No vitest import: a test starts the lab in beforeAll.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Daemon, addRunDir, removeRunDir, requireBinary, spawnDaemon, startOnFreePorts, stopDaemon, waitReady } from "./daemons";
import { answersWithNsid } from "./dns-client";
import { LOOPBACK4, freePort } from "./ports";
import { DNS_DAEMONS, knotConfText, nsdConfText } from "./server-configs";

const run = promisify(execFile);
const DAY_S = 86_400;

export const DNSSEC_PARENT = "dnssec.test";
/** What every zone holds at `www`, and the CNAME `alias` → `www` (two signed RRsets in one answer). */
export const DNSSEC_ADDRESS = "198.51.100.20";
/** Algorithm 13 (RFC 6605) for every key, BIND's and Knot's. */
export const DNSSEC_ALGORITHM = 13;

/** How the BIND-signed zones are signed, relative to the lab's start. */
export const SIGNED_STATES = {
  valid: { inceptionS: -3600, expirationS: 30 * DAY_S },
  expiring: { inceptionS: -3600, expirationS: 3 * DAY_S },
  expired: { inceptionS: -40 * DAY_S, expirationS: -10 * DAY_S },
  future: { inceptionS: 2 * DAY_S, expirationS: 32 * DAY_S },
} as const;
export type SignedState = keyof typeof SIGNED_STATES;
/** The one zone denying existence with NSEC3 (this salt, 0 extra iterations) instead of NSEC. */
export const NSEC3_ZONE: SignedState = "expiring";
export const NSEC3_SALT = "AABBCCDD";
export type ZoneState = SignedState | "unsigned";

/** Knot's policy: signatures live this long (Knot backdates inception by 90 minutes). */
export const KNOT_RRSIG_LIFETIME_DAYS = 20;

export interface DnssecZone {
  /** e.g. `valid.dnssec.test` (no trailing dot). */
  zone: string;
  state: ZoneState | "knot-signed";
  signer: "dnssec-signzone" | "knotd" | null;
  /** `www.<zone>`: an A record. */
  www: string;
  /** `alias.<zone>`: a CNAME to www. */
  alias: string;
  /** Key tag from dnssec-keygen's K-file name (`K<zone>.+013+<tag>`), or Knot's `keymgr list`; null when unsigned. */
  keyTag: number | null;
  /** The exact -s / -e times given to dnssec-signzone; null for Knot (it picks them) and the unsigned zone. */
  inception: Date | null;
  expiration: Date | null;
  /** The zone's DS RRset file (dsset from dnssec-signzone); null when unsigned or signed by Knot. */
  dsFile: string | null;
}

export interface DnssecServer {
  kind: "nsd" | "knot" | "unbound";
  address: string;
  port: number;
  /** EDNS NSID (authoritative servers), null for Unbound. */
  nsid: string | null;
}

export interface DnssecLab {
  /** When the zones were signed (whole seconds): the times above count from here. */
  signedAt: Date;
  /** The BIND-signed zones and the unsigned one, served by NSD and by Knot. */
  zones: Record<ZoneState, DnssecZone>;
  /** Signed by knotd itself, served by Knot only. */
  knotSigned: DnssecZone;
  nsd: DnssecServer;
  knot: DnssecServer;
  /** Validating resolver: stub zones to NSD, the signed zones' DS records as trust anchors (the Knot-signed zone is not anchored). */
  unbound: DnssecServer;
  dir: string;
  stop(): Promise<void>;
}

/** The Debian packages the lab needs, by binary. */
export const DNSSEC_BINARIES = {
  "dnssec-keygen": "bind9-utils",
  "dnssec-signzone": "bind9-utils",
  nsd: "nsd",
  knotd: "knot",
  keymgr: "knot",
  unbound: "unbound",
  kdig: "knot-dnsutils",
  dig: "bind9-dnsutils",
} as const;

/** dnssec-signzone's time format, YYYYMMDDHHMMSS in UTC. */
export function signzoneTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

function zoneText(zone: string): string {
  return [
    `$ORIGIN ${zone}.`,
    "$TTL 300",
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. ( 1 3600 600 86400 300 )`,
    `@ IN NS ns1.${zone}.`,
    "ns1 IN A 127.0.0.1",
    `www IN A ${DNSSEC_ADDRESS}`,
    "alias IN CNAME www",
    "",
  ].join("\n");
}

function describeZone(zone: string, state: DnssecZone["state"], signer: DnssecZone["signer"]): DnssecZone {
  return { zone, state, signer, www: `www.${zone}`, alias: `alias.${zone}`, keyTag: null, inception: null, expiration: null, dsFile: null };
}

/** Signs `zone` in `dir` with a fresh ECDSA P-256 key and the given times; returns the key tag from the K-file name. */
async function signWithBind(dir: string, zone: string, inception: Date, expiration: Date, nsec3: boolean): Promise<number> {
  const keygen = await run(requireBinary("dnssec-keygen", "bind9-utils"), ["-q", "-K", dir, "-a", "ECDSAP256SHA256", "-n", "ZONE", zone], {
    cwd: dir,
  });
  const match = /^K.+\.\+013\+(\d{5})$/m.exec(keygen.stdout.trim());
  if (!match) throw new Error(`dnssec-keygen printed no key name: ${keygen.stdout}`);
  // -S adds the zone's keys from -K; -P skips the post-signing check, which
  // would reject the expired and not-yet-valid signatures made on purpose.
  const times = ["-s", signzoneTime(inception), "-e", signzoneTime(expiration)];
  const denial = nsec3 ? ["-3", NSEC3_SALT, "-H", "0"] : [];
  const files = ["-f", join(dir, `${zone}.zone`), join(dir, `${zone}.unsigned`)];
  await run(
    requireBinary("dnssec-signzone", "bind9-utils"),
    ["-S", "-K", dir, "-d", dir, "-o", zone, ...times, "-P", ...denial, ...files],
    {
      cwd: dir,
    },
  );
  return Number(match[1]);
}

/** The loopback servers' Knot configuration (server-configs.ts), plus a signing policy and the zones after the first. */
function knotConf(dir: string, port: number, zones: string[], knotSigned: string): string {
  const [first, ...rest] = zones;
  const base = knotConfText({
    identity: "knot-dnssec",
    nsid: "knot-dnssec",
    dir,
    listen: [`${LOOPBACK4}@${port}`],
    zone: first!,
    runAsRoot: process.getuid?.() === 0,
  });
  // Knot resolves references when it reads them: the policy goes before the template and zones.
  const policy = `policy:
  - id: lab
    algorithm: ecdsap256sha256
    single-type-signing: on
    rrsig-lifetime: ${KNOT_RRSIG_LIFETIME_DAYS}d
    rrsig-refresh: 5d
`;
  if (!base.includes("\ntemplate:\n") || !base.endsWith(`  - domain: ${first}\n`)) throw new Error("knotConfText changed shape");
  return `${base.replace("\ntemplate:\n", `\n${policy}template:\n`)}${rest.map((zone) => `  - domain: ${zone}\n`).join("")}  - domain: ${knotSigned}
    file: "${dir}/${knotSigned}.unsigned"
    dnssec-signing: on
    dnssec-policy: lab
`;
}

function unboundConf(dir: string, port: number, nsdPort: number, zones: DnssecZone[]): string {
  const anchors = zones.flatMap((z) => (z.dsFile ? [`  trust-anchor-file: "${z.dsFile}"`] : []));
  const stubs = zones.map((z) => `stub-zone:\n  name: "${z.zone}"\n  stub-addr: ${LOOPBACK4}@${nsdPort}\n`);
  return `server:
  interface: ${LOOPBACK4}@${port}
  port: ${port}
  do-ip6: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  so-reuseport: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  qname-minimisation: no
  module-config: "validator iterator"
  # Unbound answers "test." itself (RFC 6761) unless told not to.
  local-zone: "test." nodefault
  # Nothing but the lab's zones is resolved: no query ever leaves for the root servers.
  local-zone: "." refuse
  local-zone: "${DNSSEC_PARENT}." transparent
${anchors.join("\n")}
remote-control:
  control-enable: no
${stubs.join("")}`;
}

/** A recursive NOERROR answer from `port`: Unbound is up (answersWithNsid wants AA and an NSID). */
async function resolves(port: number, name: string): Promise<boolean> {
  const out = await run(requireBinary("kdig", "knot-dnsutils"), [`@${LOOPBACK4}`, "-p", String(port), "+time=1", "+retry=0", name, "A"]);
  return /status: NOERROR/.test(out.stdout);
}

async function startDaemon(
  name: string,
  bin: string,
  args: (port: number) => { conf: string; text: string; argv: string[] },
  dir: string,
  ready: (port: number) => Promise<boolean>,
): Promise<{ daemon: Daemon; port: number }> {
  const { daemon, ports } = await startOnFreePorts(
    () => freePort({ udp: true, ipv6: false }),
    (port) => {
      const { conf, text, argv } = args(port);
      writeFileSync(conf, text);
      return spawnDaemon(name, bin, argv, dir);
    },
    (daemon, port) => waitReady(daemon, `a query on ${LOOPBACK4}:${port}`, () => ready(port)),
  );
  return { daemon, port: ports };
}

/** The key tag of Knot's key for `zone`, from `keymgr list` (Knot's own record, not the wire). */
async function knotKeyTag(conf: string, zone: string): Promise<number> {
  const out = await run(requireBinary("keymgr", "knot"), ["-c", conf, zone, "list"]);
  const match = /^[0-9a-f]{40}\s+(\d+)\s/m.exec(out.stdout);
  if (!match) throw new Error(`keymgr list printed no key: ${out.stdout}`);
  return Number(match[1]);
}

/** Signs the zones and starts NSD, Knot and Unbound. Throws MissingBinaryError when a tool is absent. */
export async function startDnssecLab(): Promise<DnssecLab> {
  for (const [bin, pkg] of Object.entries(DNSSEC_BINARIES)) requireBinary(bin, pkg);
  const dir = mkdtempSync(join(tmpdir(), "popwatch-dnssec-"));
  addRunDir(dir);
  const daemons: Daemon[] = [];
  const stop = async () => {
    for (const daemon of daemons.reverse()) await stopDaemon(daemon);
    removeRunDir(dir);
  };
  try {
    const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const zones = {} as Record<ZoneState, DnssecZone>;
    for (const state of Object.keys(SIGNED_STATES) as SignedState[]) {
      const zone = describeZone(`${state}.${DNSSEC_PARENT}`, state, "dnssec-signzone");
      const { inceptionS, expirationS } = SIGNED_STATES[state];
      zone.inception = new Date(signedAt.getTime() + inceptionS * 1000);
      zone.expiration = new Date(signedAt.getTime() + expirationS * 1000);
      writeFileSync(join(dir, `${zone.zone}.unsigned`), zoneText(zone.zone));
      zone.keyTag = await signWithBind(dir, zone.zone, zone.inception, zone.expiration, state === NSEC3_ZONE);
      zone.dsFile = join(dir, `dsset-${zone.zone}.`);
      zones[state] = zone;
    }
    zones.unsigned = describeZone(`unsigned.${DNSSEC_PARENT}`, "unsigned", null);
    writeFileSync(join(dir, `${zones.unsigned.zone}.zone`), zoneText(zones.unsigned.zone));
    const knotSigned = describeZone(`knot.${DNSSEC_PARENT}`, "knot-signed", "knotd");
    writeFileSync(join(dir, `${knotSigned.zone}.unsigned`), zoneText(knotSigned.zone));
    const served = Object.values(zones).map((z) => z.zone);

    const nsdBin = requireBinary(DNS_DAEMONS.nsd.bin, DNS_DAEMONS.nsd.pkg);
    const nsd = await startDaemon(
      "nsd-dnssec",
      nsdBin,
      (port) => {
        const [first, ...rest] = served;
        const text =
          nsdConfText({ identity: "nsd-dnssec", nsid: "nsd-dnssec", dir, listen: [`${LOOPBACK4}@${port}`], zone: first! }) +
          rest.map((zone) => `zone:\n  name: "${zone}"\n  zonefile: "${dir}/${zone}.zone"\n`).join("");
        const conf = join(dir, "nsd.conf");
        return { conf, text, argv: DNS_DAEMONS.nsd.args(conf) };
      },
      dir,
      (port) => answersWithNsid(LOOPBACK4, port, zones.valid.www, "nsd-dnssec"),
    );
    daemons.push(nsd.daemon);

    const knotBin = requireBinary(DNS_DAEMONS.knot.bin, DNS_DAEMONS.knot.pkg);
    const knotConfFile = join(dir, "knot.conf");
    const knot = await startDaemon(
      "knot-dnssec",
      knotBin,
      (port) => ({ conf: knotConfFile, text: knotConf(dir, port, served, knotSigned.zone), argv: DNS_DAEMONS.knot.args(knotConfFile) }),
      dir,
      async (port) =>
        (await answersWithNsid(LOOPBACK4, port, zones.valid.www, "knot-dnssec")) &&
        answersWithNsid(LOOPBACK4, port, knotSigned.www, "knot-dnssec"),
    );
    daemons.push(knot.daemon);
    knotSigned.keyTag = await knotKeyTag(knotConfFile, knotSigned.zone);

    const unboundBin = requireBinary("unbound", "unbound");
    const unboundConfFile = join(dir, "unbound.conf");
    const unbound = await startDaemon(
      "unbound-dnssec",
      unboundBin,
      (port) => ({
        conf: unboundConfFile,
        text: unboundConf(dir, port, nsd.port, Object.values(zones)),
        argv: ["-d", "-c", unboundConfFile],
      }),
      dir,
      (port) => resolves(port, zones.valid.www),
    );
    daemons.push(unbound.daemon);

    return {
      signedAt,
      zones,
      knotSigned,
      nsd: { kind: "nsd", address: LOOPBACK4, port: nsd.port, nsid: "nsd-dnssec" },
      knot: { kind: "knot", address: LOOPBACK4, port: knot.port, nsid: "knot-dnssec" },
      unbound: { kind: "unbound", address: LOOPBACK4, port: unbound.port, nsid: null },
      dir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An RRSIG as dig or kdig prints it (presentation form, RFC 4034 §3.2). */
export interface PrintedRrsig {
  owner: string;
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTtl: number;
  /** YYYYMMDDHHMMSS, UTC. */
  expiration: string;
  inception: string;
  keyTag: number;
  /** With the trailing dot. */
  signer: string;
}

export interface PrintedRecord {
  owner: string;
  type: string;
  /** RDATA in presentation form, fields joined by single spaces. */
  data: string;
}

/** The answer section as `tool` (`dig` or `kdig`, with +dnssec) prints it, one record a line. */
export async function printedRecords(
  tool: "dig" | "kdig",
  server: DnssecServer,
  qname: string,
  qtype: string,
  options: { tcp?: boolean; recurse?: boolean } = {},
): Promise<PrintedRecord[]> {
  const bin = requireBinary(tool, DNSSEC_BINARIES[tool]);
  const args = [`@${server.address}`, "-p", String(server.port), "+dnssec", "+noall", "+answer", "+time=2"];
  args.push(tool === "dig" ? "+tries=1" : "+retry=0", options.recurse ? "+rec" : "+norec", ...(options.tcp ? ["+tcp"] : []), qname, qtype);
  const { stdout } = await run(bin, args);
  const records: PrintedRecord[] = [];
  for (const line of stdout.split("\n")) {
    // owner TTL class type rdata...
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || fields[0]!.startsWith(";")) continue;
    records.push({ owner: fields[0]!, type: fields[3]!, data: fields.slice(4).join(" ") });
  }
  return records;
}

/** The RRSIGs in the answer section as `tool` prints them: the oracle the probe's facts are checked against. */
export async function printedRrsigs(
  tool: "dig" | "kdig",
  server: DnssecServer,
  qname: string,
  qtype: string,
  options: { tcp?: boolean; recurse?: boolean } = {},
): Promise<PrintedRrsig[]> {
  const records = await printedRecords(tool, server, qname, qtype, options);
  return records
    .filter((record) => record.type === "RRSIG")
    .map((record) => {
      const [typeCovered, algorithm, labels, originalTtl, expiration, inception, keyTag, signer] = record.data.split(" ");
      return {
        owner: record.owner,
        typeCovered: typeCovered!,
        algorithm: Number(algorithm),
        labels: Number(labels),
        originalTtl: Number(originalTtl),
        expiration: expiration!,
        inception: inception!,
        keyTag: Number(keyTag),
        signer: signer!,
      };
    });
}
