import { describe, expect, it } from "vitest";
import { clientFacingCdn } from "../src/pop/cdn-layers";

const layers = (headers: Record<string, string>) => clientFacingCdn(new Map(Object.entries(headers)));

describe("clientFacingCdn", () => {
  it("takes the last Via entry a CDN with a PoP header wrote", () => {
    const both = { "x-amz-cf-pop": "FRA56-P5", "x-served-by": "cache-fra-eddf8230095-FRA" };
    expect(layers({ ...both, via: "1.1 abc.cloudfront.net (CloudFront), 1.1 varnish" })).toBe("fastly");
    expect(layers({ ...both, via: "1.1 varnish, HTTP/1.1 abc.cloudfront.net (CloudFront)" })).toBe("cloudfront");
  });

  it("does not split a Via entry at a comma inside its comment", () => {
    const via = "1.1 abc.cloudfront.net (CloudFront, edge), 1.1 varnish";
    expect(layers({ "x-amz-cf-pop": "FRA56-P5", "x-served-by": "cache-fra1-FRA", via })).toBe("fastly");
  });

  it("a Varnish origin (a comment after `varnish`) is not Fastly", () => {
    expect(layers({ "x-amz-cf-pop": "FRA56-P5", via: "1.1 abc.cloudfront.net (CloudFront), 1.1 varnish (Varnish/6.0)" })).toBe(
      "cloudfront",
    );
  });

  it("orders by X-Cache when there is no Via", () => {
    const both = { "x-amz-cf-pop": "FRA56-P5", "x-served-by": "cache-fra1-FRA" };
    expect(layers({ ...both, "x-cache": "Hit from cloudfront, HIT" })).toBe("fastly");
    expect(layers({ ...both, "x-cache": "HIT, Hit from cloudfront" })).toBe("cloudfront");
  });

  it("a Server-rewriting CDN with its PoP header is outermost; its Server alone is not evidence", () => {
    expect(layers({ server: "cloudflare", "cf-ray": "1-FRA", "x-served-by": "cache-ams1-AMS", via: "1.1 varnish" })).toBe("cloudflare");
    expect(layers({ server: "cloudflare", "x-served-by": "cache-ams1-AMS", via: "1.1 varnish" })).toBe("fastly");
    expect(layers({ server: "nginx", "x-amz-cf-pop": "FRA56-P5", via: "1.1 abc.cloudfront.net (CloudFront)" })).toBe("cloudfront");
  });

  it("a CDN that publishes no PoP can be the outermost layer", () => {
    expect(layers({ "x-amz-cf-pop": "FRA56-P5", via: "1.1 abc.cloudfront.net (CloudFront), 1.1 akamai.net(ghost) (AkamaiGHost)" })).toBe(
      "akamai",
    );
  });

  it("says nothing when the response does not", () => {
    expect(layers({})).toBeNull();
    expect(layers({ "x-amz-cf-pop": "FRA56-P5", "cf-ray": "1-FRA" })).toBeNull();
    expect(layers({ via: "1.1 varnish" })).toBeNull();
    expect(layers({ "x-served-by": "cache-a-FRA", via: `${"1.1 varnish, ".repeat(400)}1.1 varnish` })).toBeNull();
  });
});
