// The store choice: flags, the config's store section, and which wins; every
// bad combination or endpoint is a UsageError naming the flag, never
// anything else.
import { DEFAULT_DATA_DIR } from "@popwatch/store";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors";
import { ENDPOINT_DEFAULT_REGION, storeChoice } from "../src/store-flags";

const SECTION = { table: "shared-table", awsRegion: "eu-central-1", endpoint: "http://127.0.0.1:8000" };
let savedRegion: string | undefined;
beforeEach(() => {
  savedRegion = process.env.AWS_REGION;
  delete process.env.AWS_REGION;
});
afterEach(() => {
  if (savedRegion === undefined) delete process.env.AWS_REGION;
  else process.env.AWS_REGION = savedRegion;
});

describe("storeChoice", () => {
  it("no flags and no store section: the embedded store in the default directory", () => {
    expect(storeChoice({})).toEqual({ kind: "embedded", dataDir: DEFAULT_DATA_DIR });
  });

  it("the store section chooses when no store flag is given; --table and --data-dir win", () => {
    expect(storeChoice({}, SECTION)).toEqual({
      kind: "aws",
      table: "shared-table",
      region: "eu-central-1",
      endpoint: "http://127.0.0.1:8000",
    });
    expect(storeChoice({ table: "other", "aws-region": "us-east-2" }, SECTION)).toEqual({
      kind: "aws",
      table: "other",
      region: "us-east-2",
    });
    expect(storeChoice({ "data-dir": "/tmp/d" }, SECTION)).toEqual({ kind: "embedded", dataDir: "/tmp/d" });
  });

  it("the region: the flag or section, else AWS_REGION, else with an endpoint the one emulators accept, else a usage error", () => {
    expect(storeChoice({ table: "t-1", endpoint: "https://alternator.example:8043" })).toEqual({
      kind: "aws",
      table: "t-1",
      region: ENDPOINT_DEFAULT_REGION,
      endpoint: "https://alternator.example:8043",
    });
    expect(() => storeChoice({ table: "t-1" })).toThrow(new UsageError("--aws-region: required with --table (or set AWS_REGION)"));
    expect(() => storeChoice({}, { table: "t-1" })).toThrow(/^store\.awsRegion: required/);
    process.env.AWS_REGION = "ap-south-1";
    expect(storeChoice({ table: "t-1" })).toEqual({ kind: "aws", table: "t-1", region: "ap-south-1" });
    expect(storeChoice({}, { table: "t-1" })).toEqual({ kind: "aws", table: "t-1", region: "ap-south-1" });
  });

  it("refuses combinations naming the flag", () => {
    expect(() => storeChoice({ endpoint: "http://127.0.0.1:8000" })).toThrow(new UsageError("--endpoint: only meaningful with --table"));
    expect(() => storeChoice({ endpoint: "http://127.0.0.1:8000" }, SECTION)).toThrow(/^--endpoint: only meaningful with --table$/);
    expect(() => storeChoice({ "aws-region": "eu-west-1" })).toThrow(/^--aws-region: only meaningful with --table$/);
    expect(() => storeChoice({ table: "t-1", "data-dir": "d" })).toThrow(/^--table and --data-dir exclude each other$/);
  });

  it("any --endpoint text: an http(s) URL is taken as given, anything else is a UsageError naming --endpoint", () => {
    const endpoints = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.webUrl({ validSchemes: ["http", "https", "ftp", "file"] }),
      fc.constantFrom("localhost:8000", "http://", "http://[::1]:8000", "HTTP://127.0.0.1", "javascript:alert(1)", ""),
    );
    fc.assert(
      fc.property(endpoints, (endpoint) => {
        let parsed: URL | null = null;
        try {
          parsed = new URL(endpoint);
        } catch {
          parsed = null;
        }
        const acceptable = parsed !== null && (parsed.protocol === "http:" || parsed.protocol === "https:");
        try {
          const choice = storeChoice({ table: "t-1", endpoint });
          expect(acceptable).toBe(true);
          expect(choice).toEqual({ kind: "aws", table: "t-1", region: ENDPOINT_DEFAULT_REGION, endpoint });
        } catch (err) {
          expect(err).toBeInstanceOf(UsageError);
          expect((err as Error).message.startsWith("--endpoint: expected an http:// or https:// URL")).toBe(true);
          expect(acceptable).toBe(false);
        }
      }),
    );
  });
});
