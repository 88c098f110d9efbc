// Proves the test-server harness (test/support/servers.ts): the real NSD, Knot,
// BIND and nginx started by the global setup answer as the TestServers
// description says. Loopback only.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import dgram from "node:dgram";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import * as dnsPacket from "dns-packet";
import { describe, expect, it } from "vitest";
import { findBinary } from "./support/daemons";
import type { DnsServerKind } from "./support/server-configs";
import { type DnsServerInfo, type Slot, requireServer, skipUnless, useTestServers } from "./support/servers";

const servers = useTestServers();
const { records } = servers;

// --- DNS helpers -------------------------------------------------------------

interface QueryOpts {
  cls?: "IN" | "CH";
  /** EDNS buffer size; omit for a query without EDNS. */
  edns?: number;
  nsid?: boolean;
  tcp?: boolean;
  host?: string;
}

function buildQuery(name: string, type: string, opts: QueryOpts): Buffer {
  const additionals =
    opts.edns === undefined
      ? []
      : [
          {
            type: "OPT",
            name: ".",
            udpPayloadSize: opts.edns,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            // dns-packet only writes an option's length when it has data: an empty NSID request needs an empty buffer.
            options: opts.nsid ? [{ code: 3, data: Buffer.alloc(0) }] : [],
          },
        ];
  return dnsPacket.encode({
    type: "query",
    id: Math.floor(Math.random() * 0xffff),
    flags: 0,
    questions: [{ name, type, class: opts.cls ?? "IN" } as dnsPacket.Question],
    additionals: additionals as unknown as dnsPacket.Answer[],
  });
}

interface Reply {
  packet: dnsPacket.DecodedPacket;
  rcode: number;
  size: number;
}

function decode(buf: Buffer): Reply {
  return { packet: dnsPacket.decode(buf), rcode: buf.readUInt16BE(2) & 0x0f, size: buf.length };
}

function query(server: DnsServerInfo, name: string, type: string, opts: QueryOpts = {}): Promise<Reply> {
  const host = opts.host ?? server.address;
  const msg = buildQuery(name, type, opts);
  if (opts.tcp) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port: server.port });
      let buf = Buffer.alloc(0);
      sock.setTimeout(3000, () => {
        sock.destroy();
        reject(new Error("tcp query timed out"));
      });
      sock.on("error", reject);
      sock.on("connect", () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        sock.write(Buffer.concat([len, msg]));
      });
      sock.on("data", (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          sock.destroy();
          resolve(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        }
      });
    });
  }
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error("udp query timed out"));
    }, 3000);
    sock.on("error", (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.on("message", (buf) => {
      if (buf.readUInt16BE(0) !== msg.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.close();
      resolve(decode(buf));
    });
    sock.send(msg, server.port, host);
  });
}

function nsidOf(reply: Reply): string | undefined {
  const opt = reply.packet.additionals?.find((a) => a.type === "OPT") as dnsPacket.OptAnswer | undefined;
  // @types/dns-packet's option union lacks NSID; decode gives { code: 3, data }.
  const options = (opt?.options ?? []) as Array<{ code: number; data?: Buffer }>;
  return options.find((o) => o.code === 3)?.data?.toString("ascii");
}

function txtStrings(reply: Reply): string[] {
  return (reply.packet.answers ?? [])
    .filter((a) => a.type === "TXT")
    .map((a) => (a.data as Buffer[]).map((b) => b.toString("utf8")).join(""));
}

function dig(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(findBinary("dig") ?? "dig", args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dig ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// --- DNS ---------------------------------------------------------------------

const dnsServers: Array<[DnsServerKind, Slot<DnsServerInfo>]> = [
  ["nsd", servers.dns.nsd],
  ["knot", servers.dns.knot],
  ["bind", servers.dns.bind],
];

for (const [kind, slot] of dnsServers) {
  const { skip, note } = skipUnless(slot);
  describe.skipIf(skip)(`${kind} on loopback${note}`, () => {
    const s = (): DnsServerInfo => requireServer(slot);

    it("answers www A authoritatively with its NSID in the OPT record", async () => {
      const reply = await query(s(), records.a.name, "A", { edns: 1232, nsid: true });
      expect(reply.rcode).toBe(0);
      expect(reply.packet.flag_aa).toBe(true);
      expect(reply.packet.flag_ra).toBe(false);
      const a = (reply.packet.answers ?? []).flatMap((r) => (r.type === "A" ? [r.data] : []));
      expect(a).toEqual([records.a.address]);
      expect(nsidOf(reply)).toBe(s().nsid);
    });

    it("dig +nsid agrees", async (ctx) => {
      if (!findBinary("dig")) ctx.skip("dig not installed (Debian package bind9-dnsutils)");
      const out = await dig([`@${s().address}`, "-p", String(s().port), "+nsid", "+norec", "+time=2", "+tries=1", records.a.name, "A"]);
      expect(out).toContain("status: NOERROR");
      expect(out).toMatch(new RegExp(`NSID: .*\\("${s().nsid}"\\)`));
      expect(out).toMatch(
        new RegExp(`^${records.a.name.replace(/\./g, "\\.")}\\.\\s+\\d+\\s+IN\\s+A\\s+${records.a.address.replace(/\./g, "\\.")}$`, "m"),
      );
    });

    it("answers CHAOS TXT id.server and hostname.bind as configured", async () => {
      const id = await query(s(), "id.server", "TXT", { cls: "CH" });
      expect(id.rcode).toBe(0);
      expect(txtStrings(id)).toEqual([s().identity]);
      const host = await query(s(), "hostname.bind", "TXT", { cls: "CH" });
      expect(host.rcode).toBe(0);
      expect(txtStrings(host)).toEqual([s().hostnameBind]);
    });

    it("serves the TXT record and NXDOMAIN for a missing name", async () => {
      const txt = await query(s(), records.txt.name, "TXT", { edns: 1232 });
      expect(txtStrings(txt)).toEqual([records.txt.text]);
      const missing = await query(s(), records.missing, "A", { edns: 1232 });
      expect(missing.rcode).toBe(3);
      expect(missing.packet.flag_aa).toBe(true);
    });

    it("truncates the big RRsets over UDP without EDNS, and not with EDNS 1232 or over TCP", async () => {
      const plain = await query(s(), records.bigTxt.name, "TXT");
      expect(plain.packet.flag_tc).toBe(true);
      expect(plain.size).toBeLessThanOrEqual(512);

      const many = await query(s(), records.manyA.name, "A");
      expect(many.packet.flag_tc).toBe(true);

      const small = await query(s(), records.bigTxt.name, "TXT", { edns: 512 });
      expect(small.packet.flag_tc).toBe(true);

      const edns = await query(s(), records.bigTxt.name, "TXT", { edns: 1232 });
      expect(edns.packet.flag_tc).toBe(false);
      expect(edns.size).toBeGreaterThan(512);
      expect(txtStrings(edns).sort()).toEqual([...records.bigTxt.texts].sort());

      const overTcp = await query(s(), records.bigTxt.name, "TXT", { tcp: true });
      expect(overTcp.packet.flag_tc).toBe(false);
      expect(txtStrings(overTcp)).toHaveLength(records.bigTxt.count);

      const manyTcp = await query(s(), records.manyA.name, "A", { tcp: true });
      expect((manyTcp.packet.answers ?? []).filter((r) => r.type === "A")).toHaveLength(records.manyA.count);
    });

    it("answers on ::1 too when IPv6 loopback is available", async (ctx) => {
      const v6 = s().address6;
      if (!v6) ctx.skip("no IPv6 loopback on this machine");
      const reply = await query(s(), records.a.name, "A", { edns: 1232, nsid: true, host: v6 ?? "::1" });
      expect(reply.rcode).toBe(0);
      expect(nsidOf(reply)).toBe(s().nsid);
    });
  });
}

it("the three DNS servers are distinguishable by NSID and identity", () => {
  const up = dnsServers.map(([, slot]) => slot).filter((slot): slot is DnsServerInfo => slot.available);
  expect(new Set(up.map((s) => s.nsid)).size).toBe(up.length);
  expect(new Set(up.map((s) => s.identity)).size).toBe(up.length);
  expect(new Set(up.map((s) => s.port)).size).toBe(up.length);
});

// --- nginx ---------------------------------------------------------------------

interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  alpn?: string | false | null;
  peerSha256?: string;
}

function get(port: number, path: string, tlsOpts?: tls.ConnectionOptions): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const common = { host: "127.0.0.1", port, path, agent: false as const, timeout: 5000, headers: { host: "pop.test" } };
    const onResponse = (res: http.IncomingMessage): void => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => {
        const sock = res.socket as tls.TLSSocket;
        const out: HttpReply = { status: res.statusCode ?? 0, headers: res.headers, body };
        if (tlsOpts) {
          out.alpn = sock.alpnProtocol;
          out.peerSha256 = createHash("sha256").update(sock.getPeerCertificate().raw).digest("hex");
        }
        resolve(out);
      });
    };
    const req = tlsOpts ? https.request({ ...common, ...tlsOpts } as https.RequestOptions, onResponse) : http.request(common, onResponse);
    req.on("timeout", () => req.destroy(new Error("http timeout")));
    req.on("error", reject);
    req.end();
  });
}

function tlsHandshake(port: number, opts: tls.ConnectionOptions): Promise<{ alpn: string | false | null; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: "127.0.0.1", port, ...opts }, () => {
      const out = { alpn: sock.alpnProtocol, authorized: sock.authorized };
      sock.end();
      resolve(out);
    });
    sock.setTimeout(5000, () => sock.destroy(new Error("tls timeout")));
    sock.on("error", reject);
  });
}

const nginxSkip = skipUnless(servers.nginx);
describe.skipIf(nginxSkip.skip)(`nginx on loopback${nginxSkip.note}`, () => {
  const n = () => requireServer(servers.nginx);
  const trusted = (): tls.ConnectionOptions => ({ ca: n().caPem, servername: n().host });

  it("serves / over https with the pop header and the valid leaf", async () => {
    const res = await get(n().httpsPort, n().paths.ok, trusted());
    expect(res.status).toBe(200);
    expect(res.headers["x-served-by"]).toBe(n().popHeader);
    expect(res.body).toBe(n().paths.okBody);
    expect(res.peerSha256).toBe(n().leafSha256);
  });

  it("returns 503 at /fail, still with the pop header", async () => {
    const res = await get(n().httpsPort, n().paths.fail, trusted());
    expect(res.status).toBe(503);
    expect(res.headers["x-served-by"]).toBe(n().popHeader);
  });

  it("serves a small static body", async () => {
    const res = await get(n().httpsPort, n().paths.small, trusted());
    expect(res.status).toBe(200);
    expect(res.body).toBe(n().paths.smallBody);
    expect(res.headers["content-length"]).toBe(String(Buffer.byteLength(n().paths.smallBody)));
    expect(res.headers.etag).toBeTruthy();
  });

  it("serves plain http with the pop header", async () => {
    const res = await get(n().httpPort, n().paths.ok);
    expect(res.status).toBe(200);
    expect(res.headers["x-served-by"]).toBe(n().popHeader);
    expect(res.body).toBe(n().paths.okBody);
  });

  it("negotiates h2 by ALPN and verifies against the test CA", async () => {
    const h2 = await tlsHandshake(n().httpsPort, { ...trusted(), ALPNProtocols: ["h2", "http/1.1"] });
    expect(h2).toEqual({ alpn: "h2", authorized: true });
    const h1 = await tlsHandshake(n().httpsPort, { ...trusted(), ALPNProtocols: ["http/1.1"] });
    expect(h1.alpn).toBe("http/1.1");
    // The IP SAN also matches when no SNI name is sent.
    const byIp = await tlsHandshake(n().httpsPort, { ca: n().caPem });
    expect(byIp.authorized).toBe(true);
  });

  it("rejects the expired and self-signed variants and an unknown CA", async () => {
    await expect(tlsHandshake(n().expiredHttpsPort, trusted())).rejects.toMatchObject({ code: "CERT_HAS_EXPIRED" });
    await expect(tlsHandshake(n().selfSignedHttpsPort, trusted())).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    await expect(tlsHandshake(n().httpsPort, { servername: n().host })).rejects.toMatchObject({
      code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
    const expired = await get(n().expiredHttpsPort, "/", { ...trusted(), rejectUnauthorized: false });
    expect(expired.peerSha256).toBe(n().expiredSha256);
    const self = await get(n().selfSignedHttpsPort, "/", { ...trusted(), rejectUnauthorized: false });
    expect(self.peerSha256).toBe(n().selfSignedSha256);
    expect(self.headers["x-served-by"]).toBe(n().popHeader);
  });
});
