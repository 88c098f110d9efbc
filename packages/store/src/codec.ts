// Payload codec of packed items: canonical JSON, compressed. Rounds of results
// repeat the same keys and many of the same values in every element (and
// rollups in every series), so raw deflate primed with a preset dictionary of
// those keys and values (RFC 1950 §2.2, zlib `dictionary`) compresses even a
// small item well: bench/store-codec.ts measures it against gzip and brotli
// (bench/RESULTS.md, "Packed items (store v2)").
//
// Every item names its codec. A codec's dictionary can never change once items
// were written with it: a new dictionary is a new codec ("d2"), and readers
// keep every older one.

import { createHash } from "node:crypto";
import { deflateRawSync, inflateRawSync, constants as zlib } from "node:zlib";
import { StoreError } from "./errors";

export const PAYLOAD_CODECS = ["d1"] as const;
export type PayloadCodec = (typeof PAYLOAD_CODECS)[number];

/** The codec new items are written with. */
export const WRITE_CODEC: PayloadCodec = "d1";

/**
 * A decoded payload larger than this is refused as corrupt: an item holds at
 * most 400 KB compressed, and no honest 400 KB of JSON inflates past it.
 */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

// Fragments in the order probes and rollups serialise them (what deflate can
// copy from), the most frequent last: deflate reaches back 32 KB and shorter
// distances cost fewer bits. FROZEN: items written with "d1" are decoded with
// exactly these bytes (test/codec.test.ts pins the hash).
const D1_FRAGMENTS = [
  // HTTP headers and values seen on CDN and anycast front doors.
  `"strict-transport-security":"max-age=31536000; includeSubDomains; preload","x-content-type-options":"nosniff","x-frame-options":"SAMEORIGIN",`,
  `"vary":"Accept-Encoding","etag":"W/\\"","last-modified":"","expires":"","accept-ranges":"bytes","access-control-allow-origin":"*",`,
  `"cache-control":"max-age=0, private, must-revalidate","cache-control":"public, max-age=3600","cache-control":"no-cache","pragma":"no-cache",`,
  `"alt-svc":"h3=\\":443\\"; ma=86400","nel":"{\\"success_fraction\\":0,\\"report_to\\":\\"cf-nel\\",\\"max_age\\":604800}","report-to":"{\\"endpoints\\":[{\\"url\\":\\"https:`,
  `"server":"cloudflare","cf-cache-status":"DYNAMIC","cf-ray":"","server":"AmazonS3","x-amz-cf-pop":"","x-amz-cf-id":"","x-cache":"Hit from cloudfront","via":"1.1 .cloudfront.net (CloudFront)",`,
  `"server":"ECAcc","server":"gws","server":"Varnish","x-served-by":"cache-","x-cache":"HIT","x-cache-hits":"1","x-timer":"S","age":"0","server":"nginx","server":"AkamaiGHost",`,
  `"content-type":"text/html; charset=utf-8","content-type":"text/html; charset=UTF-8","content-type":"application/json","content-type":"text/plain","content-length":"","connection":"keep-alive","date":"`,
  `Mon, Tue, Wed, Thu, Fri, Sat, Sun, Jan 2 Feb 2 Mar 2 Apr 2 May 2 Jun 2 Jul 2 Aug 2 Sep 2 Oct 2 Nov 2 Dec 202 GMT",`,
  // Certificates.
  `"certificate":{"subject":"CN=","issuer":"C=US, O=Let's Encrypt, CN=R11","issuer":"C=US, O=Google Trust Services, CN=WE1","issuer":"C=US, O=DigiCert Inc, CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1",`,
  `"issuer":"C=US, O=Amazon, CN=Amazon RSA 2048 M02","issuer":"C=BE, O=GlobalSign nv-sa, CN=GlobalSign","issuer":"C=GB, O=Sectigo Limited, CN=Sectigo","sans":["DNS:*.","DNS:www.","IP:","DNS:",`,
  `"notBefore":"","notAfter":"","daysLeft":,"fingerprint256":"","serialNumber":""},"verified":true,"verifyError":null,"verified":false,"verifyError":"CERT_HAS_EXPIRED",`,
  // Failures.
  `"failure":{"code":"timeout","message":"no answer within  ms"},"failure":{"code":"refused","message":"connection refused"},"failure":{"code":"reset","message":"connection reset"},`,
  `"failure":{"code":"tls_handshake","message":""},"failure":{"code":"tls_cert_invalid","message":""},"failure":{"code":"http_status","message":"status "},"failure":{"code":"dns_rcode","message":"rcode "},`,
  // Rollups.
  `"granularity":"day","day":"","granularity":"hour","hour":"","total":,"good":,"failures":{"timeout":},"latency":{"z":},"pops":{},"popChanges":0,"firstPop":null,"lastPop":null},`,
  `{"target":"","kind":"dns","region":"","granularity":"minute","minute":"","total":,"good":,"failures":{},"latency":{"":1,},"pops":{"":},"popChanges":0,"firstPop":"","lastPop":""},`,
  // Results, one per kind, in the probes' key order.
  `{"kind":"http","target":"","address":"","port":443,"name":"","ok":true,"startedAt":"","timings":{"totalMs":,"connectMs":,"tlsMs":,"ttfbMs":,"transferMs":},`,
  `"pop":{"id":"","source":"header:x-amz-cf-pop","raw":"","iata":""},"pop":{"id":"","source":"header:cf-ray","raw":"","iata":""},"failure":null,"url":"https://",`,
  `"tls":{"protocol":"TLSv1.3","cipher":"TLS_AES_128_GCM_SHA256","alpn":"h2"},"httpVersion":"2","httpVersion":"1.1","status":200,"headers":{`,
  `"bodyBytes":,"bodyTruncated":false,"region":"","slotAt":"","seq":},`,
  `{"kind":"tls","target":"","address":"","port":443,"name":"","ok":true,"startedAt":"","timings":{"totalMs":,"connectMs":,"tlsMs":},"pop":null,"failure":null,`,
  `"sni":"","alpnOffered":["h2","http/1.1"],"verification":"ca","protocol":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","cipher":"TLS_CHACHA20_POLY1305_SHA256","alpn":"h2",`,
  `{"kind":"tcp","target":"","address":"","port":443,"name":"","ok":true,"startedAt":"","timings":{"totalMs":,"connectMs":},"pop":null,"failure":null,"localAddress":"","localPort":},`,
  `{"kind":"dns","target":"","address":"","port":53,"name":"","ok":true,"startedAt":"","timings":{"totalMs":,"rttMs":},"pop":{"id":"","source":"nsid","raw":"","iata":null},"failure":null,`,
  `"transport":"udp","tcpFallback":false,"qname":"","qtype":"A","qtype":"AAAA","qclass":"IN","ignoredPackets":0,"identity":{"id.server":"","hostname.bind":""},"rcode":"NOERROR",`,
  `"flags":{"aa":false,"tc":false,"rd":true,"ra":true,"ad":false,"cd":false},"answers":[{"name":"","type":"A","class":"IN","ttl":300,"data":""}],"responseBytes":,"nsid":"","nsidHex":"",`,
  `"region":"","slotAt":"","seq":},{"kind":"`,
];

export const PAYLOAD_DICTIONARY_D1: Buffer = Buffer.from(D1_FRAGMENTS.join(""), "utf8");

/** SHA-256 of each codec's dictionary, checked by the tests: changing one would make old items unreadable. */
export function dictionaryDigest(codec: PayloadCodec): string {
  return createHash("sha256").update(dictionaryOf(codec)).digest("hex");
}

function dictionaryOf(codec: PayloadCodec): Buffer {
  switch (codec) {
    case "d1":
      return PAYLOAD_DICTIONARY_D1;
  }
}

export function isPayloadCodec(value: unknown): value is PayloadCodec {
  return typeof value === "string" && (PAYLOAD_CODECS as readonly string[]).includes(value);
}

/** JSON text compressed with `codec`. Deterministic: the same text gives the same bytes (same zlib). */
export function encodePayloadText(json: string, codec: PayloadCodec = WRITE_CODEC): Buffer {
  return deflateRawSync(Buffer.from(json, "utf8"), {
    level: zlib.Z_BEST_COMPRESSION,
    memLevel: 9,
    dictionary: dictionaryOf(codec),
  });
}

/**
 * The JSON text a payload holds. Anything that does not decompress (unknown
 * codec, missing or damaged bytes, output beyond MAX_DECODED_BYTES) is a
 * StoreError("store_corrupt") naming `where`, never an uncaught zlib error.
 */
export function decodePayloadText(codec: unknown, data: unknown, where: string): string {
  if (!isPayloadCodec(codec)) {
    throw new StoreError("store_corrupt", `${where}: unknown payload codec ${JSON.stringify(codec) ?? "(none)"}`);
  }
  if (!(data instanceof Uint8Array)) throw new StoreError("store_corrupt", `${where}: no binary data attribute`);
  try {
    return inflateRawSync(data, { dictionary: dictionaryOf(codec), maxOutputLength: MAX_DECODED_BYTES }).toString("utf8");
  } catch (err) {
    throw new StoreError("store_corrupt", `${where}: data does not decompress with codec ${codec}`, { cause: err });
  }
}

/** The JSON value a payload holds; store_corrupt as decodePayloadText, or when the text is not JSON. */
export function decodePayload(codec: unknown, data: unknown, where: string): unknown {
  const text = decodePayloadText(codec, data, where);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StoreError("store_corrupt", `${where}: decompressed data is not JSON`, { cause: err });
  }
}
