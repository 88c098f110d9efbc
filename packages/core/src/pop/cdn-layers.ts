// Which CDN faced the client when several answered in one response (a Fastly
// edge in front of a CloudFront origin carries both `x-served-by` and
// `x-amz-cf-pop`). The order comes from the response itself, never from a
// fixed header precedence:
// - `Via` (RFC 9110 §7.6.3): every intermediary appends its entry, on
//   responses too, so the last entry a CDN wrote is the one nearest the client.
// - `X-Cache`: Fastly appends its verdict to whatever the origin sent
//   (`Hit from cloudfront, HIT`; https://www.fastly.com/documentation/reference/http/http-headers/X-Cache),
//   so it orders layers the same way when `Via` is absent.
// - `Server`: Cloudflare, Bunny and Vercel write no `Via` entry but replace
//   `Server` with their own name. A CDN in front of them would pass that name
//   through, so headers alone cannot tell "Cloudflare in front of Fastly" from
//   "Fastly in front of Cloudflare"; the first is the common deployment
//   (Cloudflare proxying a site hosted on GitHub Pages or S3/CloudFront), so a
//   Server-rewriting CDN whose own PoP header is present is taken as outermost.
// Pure and total.

export type CdnName = "cloudfront" | "fastly" | "cloudflare" | "akamai" | "azure" | "bunny" | "fly" | "vercel";

export interface CdnLayer {
  readonly cdn: CdnName;
  /** Headers this CDN names its PoP in; empty when it publishes none (Akamai). */
  readonly popHeaders: readonly string[];
  /** Matches a `Via` entry ("1.1 varnish", "1.1 abc.cloudfront.net (CloudFront)") this CDN appended. */
  readonly via?: RegExp;
  /** Matches one comma-separated `X-Cache` entry this CDN wrote. */
  readonly xCache?: RegExp;
  /** Matches the `Server` value this CDN replaces the origin's with. */
  readonly server?: RegExp;
  /** When a PoP header is shared with others (`Server`), the value that shows this CDN wrote it. */
  readonly popValue?: RegExp;
}

export const CDN_LAYERS: readonly CdnLayer[] = [
  {
    cdn: "cloudfront",
    popHeaders: ["x-amz-cf-pop"],
    // `Via: 1.1 3f2a….cloudfront.net (CloudFront)`; `X-Cache: Hit from cloudfront` (CloudFront developer guide).
    via: /\.cloudfront\.net\b|\(CloudFront\)/i,
    xCache: /\bfrom cloudfront$/i,
  },
  {
    cdn: "fastly",
    popHeaders: ["x-served-by"],
    // Fastly's entry is the bare pseudonym `varnish`; Varnish 5+ origins add a comment (`1.1 varnish (Varnish/6.0)`).
    via: /^(?:HTTP\/)?[\d.]+ varnish$/i,
    xCache: /^(?:HIT|MISS)$/,
  },
  { cdn: "cloudflare", popHeaders: ["cf-ray"], server: /^cloudflare$/i },
  {
    cdn: "akamai",
    popHeaders: [],
    // `Via: 1.1 akamai.net(ghost) (AkamaiGHost)`; debug `X-Cache: TCP_HIT from a23-…deploy.akamaitechnologies.com (AkamaiGHost/…)`.
    via: /akamai\.net|AkamaiGHost/i,
    xCache: /\bakamaitechnologies\.com\b|AkamaiGHost/i,
  },
  {
    cdn: "azure",
    popHeaders: ["x-msedge-ref", "x-azure-ref"],
    // Front Door's cache verdicts, and the `Via: 1.1 Azure` it documents on requests to the origin
    // (learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol).
    via: /^(?:HTTP\/)?[\d.]+ Azure$/i,
    xCache: /^(?:TCP_(?:REMOTE_)?(?:HIT|MISS)|CONFIG_NOCACHE|PRIVATE_NOSTORE|UNCACHEABLE)$/,
  },
  // `Via: BunnyCDN` is documented on requests to the origin (bunny.net/docs/cdn/request-headers-to-origin).
  { cdn: "bunny", popHeaders: ["server"], via: /^BunnyCDN$/i, server: /^BunnyCDN-/i, popValue: /^BunnyCDN-/i },
  { cdn: "fly", popHeaders: ["fly-request-id"], via: /^(?:HTTP\/)?[\d.]+ fly\.io$/i },
  { cdn: "vercel", popHeaders: ["x-vercel-id"], server: /^Vercel$/i },
];

/** Longer header values are no CDN stack anyone runs; skipping them bounds the work. */
const MAX_LAYER_HEADER_LENGTH = 4096;

/** Splits a list header at commas outside `(comments)`. */
function listEntries(value: string): string[] {
  const entries: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of value) {
    if (char === "(") depth++;
    else if (char === ")" && depth > 0) depth--;
    if (char === "," && depth === 0) {
      entries.push(current.trim());
      current = "";
    } else current += char;
  }
  entries.push(current.trim());
  return entries.filter((entry) => entry !== "");
}

/** Index of the last entry each CDN wrote (higher is nearer the client). */
function lastPositions(value: string | undefined, matcherOf: (layer: CdnLayer) => RegExp | undefined): Map<CdnName, number> {
  const positions = new Map<CdnName, number>();
  if (value === undefined || value.length > MAX_LAYER_HEADER_LENGTH) return positions;
  listEntries(value).forEach((entry, index) => {
    const layer = CDN_LAYERS.find((candidate) => matcherOf(candidate)?.test(entry));
    if (layer) positions.set(layer.cdn, index);
  });
  return positions;
}

function outermostOf(positions: Map<CdnName, number>, among: ReadonlySet<CdnName>): CdnName | null {
  let best: CdnName | null = null;
  let bestIndex = -1;
  for (const [cdn, index] of positions) {
    if (index > bestIndex && (among.has(cdn) || CDN_LAYERS.find((layer) => layer.cdn === cdn)?.popHeaders.length === 0)) {
      best = cdn;
      bestIndex = index;
    }
  }
  return best;
}

function leftItsPop(layer: CdnLayer, headers: ReadonlyMap<string, string>): boolean {
  return layer.popHeaders.some((name) => {
    const value = headers.get(name);
    return value !== undefined && (layer.popValue?.test(value) ?? true);
  });
}

/**
 * The CDN nearest the client, judged among those that left their PoP header
 * in the response (and CDNs that publish no PoP), or null when the response
 * does not say.
 * A CDN with no PoP header of its own (Akamai) can be the answer: then no
 * inner layer's PoP is the client's.
 */
export function clientFacingCdn(headers: ReadonlyMap<string, string>): CdnName | null {
  const present = new Set(CDN_LAYERS.filter((layer) => leftItsPop(layer, headers)).map((layer) => layer.cdn));
  if (present.size === 0) return null;
  const server = headers.get("server")?.trim();
  if (server !== undefined) {
    const rewriter = CDN_LAYERS.find((layer) => layer.server?.test(server) && present.has(layer.cdn));
    if (rewriter) return rewriter.cdn;
  }
  return (
    outermostOf(
      lastPositions(headers.get("via"), (layer) => layer.via),
      present,
    ) ??
    outermostOf(
      lastPositions(headers.get("x-cache"), (layer) => layer.xCache),
      present,
    )
  );
}

/** The PoP headers of one CDN. */
export function popHeadersOf(cdn: CdnName): readonly string[] {
  return CDN_LAYERS.find((layer) => layer.cdn === cdn)?.popHeaders ?? [];
}
