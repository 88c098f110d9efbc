import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPopCatalogue } from "../src/geo/catalogue";
import { createPopIdentifier } from "../src/index";

const FIXTURES = join(import.meta.dirname, "fixtures", "pop");

interface CdnFixture {
  name: string;
  source: string;
  recorded: boolean;
  headers: Record<string, string>;
  expected: { id: string; source: string; iata: string | null } | null;
}

interface DnsFixture {
  name: string;
  source: string;
  chaos?: "id.server" | "hostname.bind";
  raw?: string;
  nsid?: string;
  expected: { id: string; iata: string | null };
}

function load<T>(file: string): T[] {
  return JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as T[];
}

const identify = createPopIdentifier();

describe("recorded CDN responses", () => {
  const fixtures = load<CdnFixture>("cdn-responses.json");

  it.each(fixtures)("$name", ({ headers, expected, source }) => {
    expect(source).not.toBe("");
    const pop = identify("http", { headers });
    if (expected === null) expect(pop).toBeNull();
    else expect(pop).toMatchObject(expected);
    // DoH answers carry the same headers; the edge is the same.
    expect(identify("doh", { headers })).toEqual(pop);
  });

  it("an operator rule on a stacked response still takes precedence", () => {
    const stacked = fixtures.find((fixture) => fixture.name.startsWith("Fastly edge in front of a CloudFront"));
    const withRule = createPopIdentifier({
      rules: [{ source: "header:x-amz-cf-pop", regex: "^(?<iata>[A-Z]{3})", template: "cf-$<iata>" }],
    });
    expect(withRule("http", { headers: stacked?.headers ?? {} })).toMatchObject({ id: "cf-iad", source: "header:x-amz-cf-pop" });
  });
});

describe("recorded DNS identities", () => {
  const fixtures = load<DnsFixture>("dns-identities.json");

  it.each(fixtures)("$name", ({ chaos, raw, nsid, expected }) => {
    const evidence = nsid !== undefined ? { nsid } : { chaos: { [chaos ?? "id.server"]: raw ?? "" } };
    expect(identify("dns", evidence)).toMatchObject(expected);
  });

  it("no identity that is a city code lands on another country's airport", () => {
    const catalogue = createPopCatalogue();
    for (const { chaos, raw, nsid, expected } of fixtures) {
      const pop = identify("dns", nsid !== undefined ? { nsid } : { chaos: { [chaos ?? "id.server"]: raw ?? "" } });
      const place = pop ? catalogue.resolve(pop.id, pop.iata) : null;
      // Arnhem is not Stockholm's ARN; Verisign's `elpek3` is not El Paso's ELP.
      if (expected.id === "nl-arn" || expected.id === "rootns-elpek3") expect(place).toBeNull();
      if (pop?.iata && place) expect(place.iata).toBe(pop.iata);
    }
  });
});
