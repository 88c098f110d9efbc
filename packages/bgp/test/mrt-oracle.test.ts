// popwatch's MRT decode against Debian's bgpdump -m, line for line, for every
// fixture: real RIS archives (bgpdump's test data) and dumps written by FRR,
// BIRD and GoBGP (test/fixtures/mrt/README.md says where each comes from).
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { bgpdumpOf, eventFieldsOf, eventFieldsOfLine, mrtFixtures, popwatchOf } from "./mrt-oracle-support";

// The one file on which popwatch and bgpdump differ on purpose: its UPDATE is
// malformed (the second NLRI prefix is cut). popwatch skips the record with a
// classified warning; bgpdump prints the prefix before the cut.
const MALFORMED = "updates.nlri_mask_trailing_bits.gz";

// Records both skip: FRR ends its "dump bgp all" file with a STATE_CHANGE_AS4
// whose address family is 8 (bgpdump: "unknown AFI 8", no line).
const SKIPPED_BY_BOTH: Record<string, string[]> = { "frr-all.mrt": ["bad-address-family@1771"] };

describe("MRT decode equals bgpdump -m", () => {
  const files = mrtFixtures().filter((file) => basename(file) !== MALFORMED);

  it("has fixtures from RIS archives and from routing software", () => {
    expect(files.filter((file) => file.includes("/routers/")).map((file) => basename(file))).toEqual([
      "bird-messages.mrt",
      "bird-rib.mrt",
      "frr-all.mrt",
      "frr-rib.mrt",
      "gobgp-updates.mrt",
    ]);
    expect(files.length).toBeGreaterThanOrEqual(13);
  });

  for (const file of files) {
    it(basename(file), async () => {
      const [theirs, ours] = await Promise.all([bgpdumpOf(file), popwatchOf(file)]);
      expect(ours.warnings.map((w) => `${w.code}@${w.offset}`)).toEqual(SKIPPED_BY_BOTH[basename(file)] ?? []);
      expect(theirs.length).toBeGreaterThan(0);
      expect(ours.lines.length).toBe(theirs.length);
      // Line by line, so a failure names the first differing event.
      for (let i = 0; i < theirs.length; i++) if (ours.lines[i] !== theirs[i]) expect(`${i}: ${ours.lines[i]}`).toBe(`${i}: ${theirs[i]}`);
      // Core's events (what the store and analytics take) carry the same routes.
      const events = await eventFieldsOf(file);
      const expected = theirs.map(eventFieldsOfLine);
      expect(events.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) if (events[i] !== expected[i]) expect(`${i}: ${events[i]}`).toBe(`${i}: ${expected[i]}`);
    });
  }

  it(`${MALFORMED}: skipped with a truncated-prefix warning where bgpdump prints the prefix before the cut`, async () => {
    const file = mrtFixtures().find((f) => basename(f) === MALFORMED) as string;
    const [theirs, ours] = await Promise.all([bgpdumpOf(file), popwatchOf(file)]);
    expect(theirs).toEqual([
      "BGP4MP|1289168632|A|12.0.1.63|7018|11.13.0.0/13|7018 3549 12389 48275 51044|IGP|12.0.1.63|0|0|6923:3339||NAG||",
    ]);
    expect(ours.lines).toEqual([]);
    expect(ours.warnings).toEqual([
      { kind: "warning", code: "truncated", offset: 87, message: "MRT record type 16/1: prefix of /11 needs 2 bytes" },
    ]);
  });
});
