// Which compression packs a round of results (and a region's rollups) into the
// fewest DynamoDB write units, and how fast it decompresses. A round is what
// the agent writes as one item: 10 targets × dns/tcp/tls/http, the brief's
// default. The results are built to look like internet answers, not
// loopback ones: per-target certificates (SANs, fingerprints, serials), CDN
// response headers with per-request ids (cf-ray, x-amz-cf-id), NSIDs and
// CHAOS identities, jittered timings, one timeout. Rollup items are the
// minute, hour and day rollups of 40 series built from such rounds.
//
// Candidates: gzip -9, raw deflate -9, raw deflate -9 with the store's preset
// dictionary "d1" (packages/store/src/codec.ts, what the store writes), and
// brotli at qualities 5, 9, 11 (Node 20's brotli takes no custom dictionary).
// Item bytes = payload + the item's keys and other attributes as DynamoDB
// counts them; WRU = ceil(bytes / 1 KB).
//
// Run from the repository root: node bench/run.mjs store-codec [--results FILE.jsonl]
//   --results: measure these results (one JSON object per line, e.g. `popwatch results --json`) instead of the built round.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import { type Rollup, mergeRollups, rollupMinute } from "@popwatch/core";
import { type StoredResult, decodePayloadText, encodePayloadText } from "@popwatch/store";
import { fmt, percentile } from "./support/stats";

const { values: args } = parseArgs({ options: { results: { type: "string" } } });

// ---------------------------------------------------------------------------
// A representative round.

interface Target {
  name: string;
  address: string;
  host: string;
  pop: string;
  cdn: "cloudflare" | "cloudfront" | "fastly" | "akamai" | "google";
  nsid: string;
  sans: string[];
  issuer: string;
}

// biome-ignore format: one target per two lines (facts, then SANs) reads as a table; one field a line would not
const TARGETS: Target[] = [
  { name: "cloudflare-dns", address: "1.1.1.1", host: "one.one.one.one", pop: "fra", cdn: "cloudflare", nsid: "fra08", issuer: "C=US, O=DigiCert Inc, CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1",
    sans: ["DNS:cloudflare-dns.com", "DNS:*.cloudflare-dns.com", "DNS:one.one.one.one", "IP:1.0.0.1", "IP:1.1.1.1", "IP:162.159.36.1", "IP:162.159.46.1", "IP:2606:4700:4700:0:0:0:0:1001", "IP:2606:4700:4700:0:0:0:0:1111", "IP:2606:4700:4700:0:0:0:0:64", "IP:2606:4700:4700:0:0:0:0:6400"] },
  { name: "google-dns", address: "8.8.8.8", host: "dns.google", pop: "fra", cdn: "google", nsid: "gpdns-fra", issuer: "C=US, O=Google Trust Services, CN=WR2",
    sans: ["DNS:dns.google", "DNS:dns.google.com", "DNS:*.dns.google.com", "DNS:8888.google", "DNS:dns64.dns.google", "IP:8.8.8.8", "IP:8.8.4.4", "IP:2001:4860:4860:0:0:0:0:8888", "IP:2001:4860:4860:0:0:0:0:8844", "IP:2001:4860:4860:0:0:0:0:6464", "IP:2001:4860:4860:0:0:0:0:64"] },
  { name: "quad9", address: "9.9.9.9", host: "dns.quad9.net", pop: "fra", cdn: "akamai", nsid: "res200.fra.rrdns.pch.net", issuer: "C=US, O=DigiCert Inc, CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1",
    sans: ["DNS:*.quad9.net", "DNS:quad9.net", "IP:9.9.9.9", "IP:9.9.9.10", "IP:9.9.9.11", "IP:149.112.112.112", "IP:2620:FE:0:0:0:0:0:9"] },
  { name: "cdn-front", address: "104.16.132.229", host: "www.example-shop.com", pop: "fra", cdn: "cloudflare", nsid: "fra04", issuer: "C=US, O=Google Trust Services, CN=WE1",
    sans: ["DNS:example-shop.com", "DNS:*.example-shop.com"] },
  { name: "static-assets", address: "13.224.53.12", host: "static.example-media.net", pop: "fra56-p1", cdn: "cloudfront", nsid: "ns-1042.awsdns-02.org", issuer: "C=US, O=Amazon, CN=Amazon RSA 2048 M02",
    sans: ["DNS:static.example-media.net", "DNS:img.example-media.net", "DNS:video.example-media.net", "DNS:*.cdn.example-media.net"] },
  { name: "api-edge", address: "151.101.1.67", host: "api.example-news.com", pop: "fra", cdn: "fastly", nsid: "fra-ns1", issuer: "C=BE, O=GlobalSign nv-sa, CN=GlobalSign Atlas R3 DV TLS CA 2024 Q3",
    sans: ["DNS:api.example-news.com", "DNS:*.api.example-news.com", "DNS:graphql.example-news.com", "DNS:www.example-news.com", "DNS:example-news.com", "DNS:m.example-news.com", "DNS:amp.example-news.com", "DNS:cdn.example-news.com"] },
  { name: "root-k", address: "193.0.14.129", host: "k.root-servers.net", pop: "de-fra", cdn: "akamai", nsid: "ns2.de-fra.k.ripe.net", issuer: "C=US, O=Let's Encrypt, CN=R11",
    sans: ["DNS:k.root-servers.net"] },
  { name: "anycast-ntp", address: "162.159.200.1", host: "time.cloudflare.com", pop: "ams", cdn: "cloudflare", nsid: "ams01", issuer: "C=US, O=Let's Encrypt, CN=E6",
    sans: ["DNS:time.cloudflare.com"] },
  { name: "video-origin", address: "23.45.67.89", host: "vod.example-stream.tv", pop: "fra", cdn: "akamai", nsid: "a1-67.akam.net", issuer: "C=US, O=DigiCert Inc, CN=DigiCert TLS RSA SHA256 2020 CA1",
    sans: Array.from({ length: 24 }, (_, i) => `DNS:edge${i}.vod.example-stream.tv`) },
  { name: "www", address: "142.250.185.68", host: "www.example-search.com", pop: "fra24s05", cdn: "google", nsid: "gpdns-fra", issuer: "C=US, O=Google Trust Services, CN=WR2",
    sans: ["DNS:www.example-search.com"] },
];

function hex(seed: string, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += fnv(`${seed}:${i}`).toString(16).padStart(8, "0");
  return out.slice(0, length);
}
function b64(seed: string, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let out = "";
  for (let i = 0; out.length < length; i++) out += alphabet[fnv(`${seed}/${i}`) % 64];
  return out;
}
// FNV-1a: a deterministic spread of values, so every run measures the same bytes.
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
const jitter = (seed: string, base: number, spread: number) => Math.round((base + ((fnv(seed) % 10_000) / 10_000) * spread) * 1000) / 1000;
const httpDate = (ms: number) => new Date(ms).toUTCString();

function headersOf(t: Target, at: number, seed: string): Record<string, string> {
  const common = { date: httpDate(at), "content-type": "text/html; charset=utf-8" };
  switch (t.cdn) {
    case "cloudflare":
      return {
        ...common,
        "transfer-encoding": "chunked",
        connection: "keep-alive",
        "cache-control": "max-age=0, private, must-revalidate",
        "cf-cache-status": "DYNAMIC",
        "report-to": `{"endpoints":[{"url":"https:\\/\\/a.nel.cloudflare.com\\/report\\/v4?s=${b64(seed + "nel", 96)}"}],"group":"cf-nel","max_age":604800}`,
        nel: '{"success_fraction":0,"report_to":"cf-nel","max_age":604800}',
        "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
        server: "cloudflare",
        "cf-ray": `${hex(seed, 16)}-${t.pop.toUpperCase()}`,
        "alt-svc": 'h3=":443"; ma=86400',
      };
    case "cloudfront":
      return {
        ...common,
        "content-length": String(14_000 + (fnv(seed) % 900)),
        connection: "keep-alive",
        server: "AmazonS3",
        "last-modified": "Tue, 03 Jun 2025 08:14:22 GMT",
        etag: `"${hex(t.name + "etag", 32)}"`,
        "x-cache": "Hit from cloudfront",
        via: `1.1 ${hex(seed + "via", 32)}.cloudfront.net (CloudFront)`,
        "x-amz-cf-pop": t.pop.toUpperCase(),
        "x-amz-cf-id": `${b64(seed + "cfid", 54)}==`,
        age: String(fnv(seed + "age") % 3600),
      };
    case "fastly":
      return {
        ...common,
        "content-type": "application/json",
        "content-length": String(2_300 + (fnv(seed) % 400)),
        "accept-ranges": "bytes",
        via: "1.1 varnish, 1.1 varnish",
        age: String(fnv(seed + "age") % 120),
        "x-served-by": `cache-iad-kiad7000${fnv(seed) % 100}-IAD, cache-${t.pop}-eddf82300${fnv(seed + "s") % 100}-${t.pop.toUpperCase()}`,
        "x-cache": "MISS, HIT",
        "x-cache-hits": "0, 1",
        "x-timer": `S${Math.floor(at / 1000)}.${String(at % 1000).padStart(3, "0")}123,VS0,VE1`,
        vary: "Accept-Encoding",
      };
    case "akamai":
      return {
        ...common,
        server: "AkamaiGHost",
        "content-length": String(400 + (fnv(seed) % 50)),
        "cache-control": "max-age=300",
        expires: httpDate(at + 300_000),
        "x-akamai-transformed": "9 - 0 pmb=mRUM,2",
        "akamai-grn": `0.${hex(seed, 8)}.${Math.floor(at / 1000)}.${hex(seed + "g", 8)}`,
        connection: "keep-alive",
      };
    case "google":
      return {
        ...common,
        "content-type": "text/html; charset=ISO-8859-1",
        "content-security-policy-report-only": `object-src 'none';base-uri 'self';script-src 'nonce-${b64(seed, 22)}' 'strict-dynamic' 'report-sample' 'unsafe-eval' 'unsafe-inline' https: http:;report-uri https://csp.withgoogle.com/csp/gws/other-hp`,
        p3p: 'CP="This is not a P3P policy! See g.co/p3phelp for more info."',
        server: "gws",
        "x-xss-protection": "0",
        "x-frame-options": "SAMEORIGIN",
        expires: "-1",
        "cache-control": "private, max-age=0",
        "set-cookie": `AEC=${b64(seed + "c", 60)}; expires=${httpDate(at + 180 * 86_400_000)}; path=/; domain=.example-search.com; Secure; HttpOnly; SameSite=lax`,
        "alt-svc": 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000',
      };
  }
}

/** Round `round` of the minute at `minuteMs`: 40 results in the probes' key order. */
function representativeRound(minuteMs: number, round: number, region = "eu-west-1"): StoredResult[] {
  const slotMs = minuteMs + round * 10_000;
  const slotAt = new Date(slotMs).toISOString();
  const results: StoredResult[] = [];
  TARGETS.forEach((t, ti) => {
    const seed = (kind: string) => `${t.name}/${kind}/${slotMs}`;
    const started = (kind: string) => new Date(slotMs + 2 + (fnv(seed(kind)) % 40)).toISOString();
    const connectMs = jitter(seed("c"), 1.2, 3);
    const tlsMs = jitter(seed("t"), 4, 8);
    const timedOut = round === 3 && ti === 6;
    const base = (kind: "dns" | "tcp" | "tls" | "http", port: number) => ({
      kind,
      target: `${t.address}:${port}`,
      address: t.address,
      port,
      name: t.name,
    });
    const fingerprint = hex(`${t.name}fp`, 64);
    results.push({
      ...base("dns", 53),
      ok: !timedOut,
      startedAt: started("dns"),
      timings: timedOut ? { totalMs: 2000.412 } : { totalMs: jitter(seed("d"), 1.5, 4), rttMs: jitter(seed("dr"), 1.1, 3) },
      pop: timedOut ? null : { id: t.pop, source: "nsid", raw: t.nsid, iata: t.pop.slice(0, 3) },
      failure: timedOut ? { code: "timeout", message: "no answer within 2000 ms" } : null,
      transport: "udp",
      tcpFallback: false,
      qname: t.host,
      qtype: "A",
      qclass: "IN",
      ignoredPackets: 0,
      ...(timedOut
        ? {}
        : {
            identity: { "id.server": t.nsid },
            rcode: "NOERROR",
            flags: { aa: false, tc: false, rd: true, ra: true, ad: false, cd: false },
            answers: [0, 1].map((i) => ({
              name: t.host,
              type: "A",
              class: "IN",
              ttl: 300 - ((slotMs / 1000) % 300),
              data: `${t.address.split(".").slice(0, 3).join(".")}.${(fnv(t.name) + i) % 250}`,
            })),
            responseBytes: 98 + t.host.length * 2,
            nsid: t.nsid,
            nsidHex: Buffer.from(t.nsid).toString("hex"),
          }),
      region,
      slotAt,
      seq: round * 40 + ti * 4,
    } as unknown as StoredResult);
    results.push({
      ...base("tcp", 443),
      ok: true,
      startedAt: started("tcp"),
      timings: { totalMs: jitter(seed("tc"), connectMs, 0.3), connectMs },
      pop: null,
      failure: null,
      localAddress: "10.0.142.17",
      localPort: 30_000 + (fnv(seed("p")) % 30_000),
      region,
      slotAt,
      seq: round * 40 + ti * 4 + 1,
    } as unknown as StoredResult);
    const certificate = {
      subject: `CN=${t.host}`,
      issuer: t.issuer,
      sans: t.sans,
      notBefore: "2025-04-14T00:00:00.000Z",
      notAfter: "2025-07-13T23:59:59.000Z",
      daysLeft: 41,
      fingerprint256: fingerprint,
      serialNumber: hex(`${t.name}serial`, 32).toUpperCase(),
    };
    results.push({
      ...base("tls", 443),
      ok: true,
      startedAt: started("tls"),
      timings: { totalMs: jitter(seed("tt"), connectMs + tlsMs, 0.4), connectMs, tlsMs },
      pop: null,
      failure: null,
      sni: t.host,
      alpnOffered: ["h2", "http/1.1"],
      verification: "ca",
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      alpn: "h2",
      certificate,
      verified: true,
      verifyError: null,
      region,
      slotAt,
      seq: round * 40 + ti * 4 + 2,
    } as unknown as StoredResult);
    const headers = headersOf(t, slotMs, seed("h"));
    const popRaw = headers["cf-ray"] ?? headers["x-amz-cf-pop"] ?? headers["x-served-by"] ?? null;
    results.push({
      ...base("http", 443),
      ok: true,
      startedAt: started("http"),
      timings: {
        totalMs: jitter(seed("ht"), 20, 30),
        connectMs,
        tlsMs,
        ttfbMs: jitter(seed("tf"), 12, 25),
        transferMs: jitter(seed("tr"), 0.2, 2),
      },
      pop: popRaw
        ? {
            id: t.pop,
            source: headers["cf-ray"] ? "header:cf-ray" : headers["x-amz-cf-pop"] ? "header:x-amz-cf-pop" : "header:x-served-by",
            raw: popRaw,
            iata: t.pop.slice(0, 3),
          }
        : null,
      failure: null,
      url: `https://${t.host}/`,
      tls: { protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2" },
      httpVersion: "2",
      status: 200,
      headers,
      bodyBytes: 1_000 + (fnv(seed("b")) % 64_000),
      bodyTruncated: false,
      region,
      slotAt,
      seq: round * 40 + ti * 4 + 3,
    } as unknown as StoredResult);
  });
  return results;
}

function readResults(file: string): StoredResult[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as StoredResult);
}

// ---------------------------------------------------------------------------
// Codecs.

interface Codec {
  name: string;
  encode(text: string): Buffer;
  decode(data: Buffer): string;
}
const brotli = (quality: number): Codec => ({
  name: `brotli q${quality}`,
  encode: (text) =>
    brotliCompressSync(text, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: quality,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(text),
      },
    }),
  decode: (data) => brotliDecompressSync(data).toString(),
});
const CODECS: Codec[] = [
  { name: "none (JSON)", encode: (text) => Buffer.from(text), decode: (data) => data.toString() },
  { name: "gzip -9", encode: (text) => gzipSync(text, { level: 9 }), decode: (data) => gunzipSync(data).toString() },
  {
    name: "deflate-raw -9",
    encode: (text) => deflateRawSync(text, { level: 9, memLevel: 9 }),
    decode: (data) => inflateRawSync(data).toString(),
  },
  {
    name: "deflate-raw -9 + dictionary d1 (store)",
    encode: (text) => encodePayloadText(text),
    decode: (data) => decodePayloadText("d1", data, "bench"),
  },
  brotli(5),
  brotli(9),
  brotli(11),
];

// Attributes besides `data`, as DynamoDB counts item size (names + values; numbers ≈ digits / 2 + 1).
const RAW_ITEM_OVERHEAD =
  "pk".length +
  "R#eu-west-1#2025-06-02T12".length +
  "sk".length +
  "2025-06-02T12:00#2025-06-02T12:00:10.000Z#eu-west-1#2025-06-02T12:00:00.000Z#000".length +
  "invocationId".length +
  "eu-west-1#2025-06-02T12:00:00.000Z".length +
  "count".length +
  2 +
  "codec".length +
  2 +
  "data".length +
  "expiresAt".length +
  6;
const ROLLUP_ITEM_OVERHEAD =
  "pk".length +
  "M#eu-west-1#2025-06-02".length +
  "sk".length +
  5 +
  "total".length +
  3 +
  "series".length +
  2 +
  "codec".length +
  2 +
  "data".length +
  "expiresAt".length +
  6;

function timeUs(fn: () => unknown, runs: number): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return percentile(samples, 50);
}

function measure(label: string, payloads: string[], overhead: number, perItemResults: number | null): void {
  console.log(
    `\n### ${label}: ${payloads.length} item(s), JSON ${fmt(payloads.reduce((s, p) => s + Buffer.byteLength(p), 0) / payloads.length, 0)} B per item`,
  );
  console.log(
    `| codec | bytes per item | ${perItemResults ? "bytes per result | " : ""}WRU per item | compress µs p50 | decompress µs p50 |`,
  );
  console.log(`|---|---:|${perItemResults ? "---:|" : ""}---:|---:|---:|`);
  for (const codec of CODECS) {
    const encoded = payloads.map((p) => codec.encode(p));
    encoded.forEach((data, i) => {
      if (codec.decode(data) !== payloads[i]) throw new Error(`${codec.name} does not round-trip`);
    });
    const bytes = encoded.reduce((s, d) => s + d.length, 0) / encoded.length;
    const wru = encoded.reduce((s, d) => s + Math.ceil((d.length + overhead) / 1024), 0) / encoded.length;
    const compressUs = timeUs(() => codec.encode(payloads[0]!), 60);
    const decompressUs = timeUs(() => codec.decode(encoded[0]!), 200);
    console.log(
      `| ${codec.name} | ${fmt(bytes, 0)} | ${perItemResults ? `${fmt(bytes / perItemResults, 1)} | ` : ""}${fmt(wru, 2)} | ${fmt(compressUs, 0)} | ${fmt(decompressUs, 0)} |`,
    );
  }
}

const minuteMs = Date.parse("2025-06-02T12:00:00.000Z");
const roundsOfMinute = (m: number) => Array.from({ length: 6 }, (_, round) => representativeRound(minuteMs + m * 60_000, round));

console.log(
  `node ${process.version}; item overhead (keys and other attributes): raw ${RAW_ITEM_OVERHEAD} B, rollup ${ROLLUP_ITEM_OVERHEAD} B`,
);
if (args.results !== undefined) {
  const results = readResults(args.results);
  measure(`${args.results}: all ${results.length} results in one item`, [JSON.stringify(results)], RAW_ITEM_OVERHEAD, results.length);
} else {
  // Six rounds of one minute: six items, as the agent writes them.
  const rounds = roundsOfMinute(0);
  measure(
    "round of 40 results (10 targets × dns/tcp/tls/http), representative internet answers",
    rounds.map((r) => JSON.stringify(r)),
    RAW_ITEM_OVERHEAD,
    40,
  );

  const minutes: Rollup[][] = Array.from({ length: 60 }, (_, m) => rollupMinute(roundsOfMinute(m).flat(), { region: "eu-west-1" }));
  const hour = mergeRollups(minutes.flat(), "hour");
  const dayChildren = Array.from({ length: 24 }, (_, h) => hour.map((r) => ({ ...r, hour: `2025-06-02T${String(h).padStart(2, "0")}` })));
  const day = mergeRollups(dayChildren.flat(), "day");
  measure(
    "minute rollup item (40 series)",
    minutes.slice(0, 6).map((m) => JSON.stringify(m)),
    ROLLUP_ITEM_OVERHEAD,
    null,
  );
  measure("hour rollup item (40 series, 60 minutes merged)", [JSON.stringify(hour)], ROLLUP_ITEM_OVERHEAD, null);
  measure("day rollup item (40 series, 24 hours merged)", [JSON.stringify(day)], ROLLUP_ITEM_OVERHEAD, null);

  // The brief's default: a round every 10 s, one invocation a minute.
  const wru = (payload: string, overhead: number) => Math.ceil((encodePayloadText(payload).length + overhead) / 1024);
  const raw = rounds.reduce((s, r) => s + wru(JSON.stringify(r), RAW_ITEM_OVERHEAD), 0);
  const minute = wru(JSON.stringify(minutes[0]), ROLLUP_ITEM_OVERHEAD);
  const hourly = wru(JSON.stringify(hour), ROLLUP_ITEM_OVERHEAD);
  const daily = wru(JSON.stringify(day), ROLLUP_ITEM_OVERHEAD);
  const perProbe = (raw + minute + hourly / 60 + daily / 1440) / 240;
  console.log(
    `\nstore v2 with d1, 10 targets × 4 kinds every 10 s: per minute ${raw} WRU for 6 round items + ${minute} for the minute item, ` +
      `${hourly} per hour, ${daily} per day → ${fmt(perProbe, 4)} WRU per probe, $${fmt(perProbe * 10.512e6 * 0.625e-6, 3)} per region-month of writes (10.51 M probes, $0.625/M WRU)`,
  );
}
