// RIPE Atlas API results generated for import tests: `dns` results whose
// `abuf` is a real DNS response built with dns-packet (NSID included), so the
// import's mapping decodes them as it would the API's; and a probe archive.
import * as dnsPacket from "dns-packet";

export interface AtlasDnsOptions {
  prbId: number;
  /** Unix seconds. */
  timestamp: number;
  /** The site the answering server names in its NSID. */
  nsid?: string;
  dstAddr?: string;
  rt?: number;
}

/** The Base64 of a NOERROR answer to `example. SOA` carrying `nsid`. */
export function answerBuffer(nsid: string, id = 4242): string {
  const packet = dnsPacket.encode({
    type: "response",
    id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: "example", type: "SOA", class: "IN" }],
    answers: [
      {
        name: "example",
        type: "SOA",
        class: "IN",
        ttl: 3600,
        data: {
          mname: "ns.example",
          rname: "hostmaster.example",
          serial: 2026120601,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: 300,
        },
      },
    ],
    additionals: [
      // @types/dns-packet's option union lacks NSID (code 3).
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: 1232,
        flags: 0,
        options: [{ code: 3, data: Buffer.from(nsid) }],
      } as unknown as dnsPacket.Answer,
    ],
  });
  return packet.toString("base64");
}

/** One Atlas `dns` result as the API gives it. */
export function atlasDnsResult(options: AtlasDnsOptions): Record<string, unknown> {
  const abuf = answerBuffer(options.nsid ?? "fra1.example");
  return {
    fw: 5080,
    af: 4,
    prb_id: options.prbId,
    msm_id: 1_000_001,
    msm_name: "Tdig",
    timestamp: options.timestamp,
    type: "dns",
    proto: "UDP",
    dst_addr: options.dstAddr ?? "198.51.100.53",
    src_addr: "203.0.113.7",
    from: "203.0.113.7",
    result: {
      rt: options.rt ?? 12.5,
      size: Buffer.from(abuf, "base64").length,
      abuf,
      ID: 4242,
      ANCOUNT: 1,
      QDCOUNT: 1,
      NSCOUNT: 0,
      ARCOUNT: 1,
    },
  };
}

/** A probe archive (`objects[]` of /api/v2/probes/) with these probes. */
export function probeArchive(probes: { id: number; country: string; asn: number; lat: number; lon: number }[]): Record<string, unknown> {
  return {
    count: probes.length,
    objects: probes.map((p) => ({
      id: p.id,
      country_code: p.country,
      asn_v4: p.asn,
      asn_v6: null,
      geometry: { type: "Point", coordinates: [p.lon, p.lat] },
      status: { id: 1, name: "Connected" },
    })),
  };
}
