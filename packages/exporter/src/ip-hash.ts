// blackbox_exporter's probe_ip_addr_hash: FNV-1a (32-bit) over the address's
// bytes (4 for IPv4, 16 for IPv6), so a dashboard can see the address behind a
// hostname change. The same function gives the same number for the same address.
import { isIP } from "node:net";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

function ipv6Bytes(address: string): number[] {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    // An embedded IPv4 (::ffff:192.0.2.1) is the last 4 bytes.
    tail = ipv4Bytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = words.flatMap((word) => [word >> 8, word & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The hash blackbox reports for an address; null when it is not one. */
export function ipAddressHash(address: string): number | null {
  const family = isIP(address);
  if (family === 0) return null;
  let bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  // Go's net.IP.To4 turns an IPv4-mapped IPv6 address into its 4 bytes before blackbox hashes it.
  if (bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) bytes = bytes.slice(12);
  let hash = FNV_OFFSET;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash;
}
