// Just enough DNS over UDP to tell that a test server is up and is ours.
// Tests themselves use dns-packet or dig.
import dgram from "node:dgram";

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "ascii")])), Buffer.from([0])]);
}

/** One UDP query with EDNS (1232) asking for NSID; resolves null on timeout. */
function udpQueryOnce(host: string, port: number, name: string, qtype: number, timeoutMs: number): Promise<Buffer | null> {
  const id = Math.floor(Math.random() * 0xffff);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0000, 2); // RD=0
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2); // IN
  // OPT: root name, type 41, payload 1232, ttl 0, rdlen 4, option NSID (3) empty.
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0]);
  const msg = Buffer.concat([header, encodeName(name), question, opt]);
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(v: Buffer | null): void {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* closed */
      }
      resolve(v);
    }
    sock.on("error", () => finish(null));
    sock.on("message", (buf) => {
      if (buf.length >= 12 && buf.readUInt16BE(0) === id) finish(buf);
    });
    sock.send(msg, port, host);
  });
}

/**
 * True once the server gives an authoritative NOERROR answer for `name` A
 * (the zone is loaded) carrying `nsid` (so it is our daemon on that port,
 * not a stranger that took the port between the free-port check and the
 * bind); false on no answer; throws on a wrong one.
 */
export async function answersWithNsid(host: string, port: number, name: string, nsid: string): Promise<boolean> {
  const buf = await udpQueryOnce(host, port, name, 1, 300);
  if (!buf) return false;
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0x0f;
  const aa = (flags & 0x0400) !== 0;
  const ancount = buf.readUInt16BE(6);
  if (rcode !== 0 || !aa || ancount < 1) throw new Error(`answer rcode=${rcode} aa=${aa} ancount=${ancount}`);
  if (!buf.includes(Buffer.from(nsid, "ascii"))) throw new Error(`answer without NSID "${nsid}": another server on the port?`);
  return true;
}
