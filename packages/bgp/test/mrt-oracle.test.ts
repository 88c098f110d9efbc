// popwatch's MRT decode against Debian's bgpdump -m, line for line, for every
// fixture: real RIS archives (bgpdump's test data) and dumps written by FRR,
// BIRD and GoBGP (test/fixtures/mrt/README.md says where each comes from).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { bgpdumpOf, eventFieldsOf, eventFieldsOfLine, mrtFixtures, popwatchOf } from "./mrt-oracle-support";
import { asPath, attribute, ipv6, prefix, u16, u32, update } from "./wire-build";

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

describe("MRT records no fixture has, built here and checked against bgpdump -m", () => {
  it("BGP4MP_ET (microseconds), MESSAGE_AS4_ADDPATH and STATE_CHANGE_AS4", async () => {
    const dir = mkdtempSync(join(tmpdir(), "popwatch-mrt-et-"));
    try {
      const record = (type: number, subtype: number, body: number[]) => [
        ...u32(1_700_000_000),
        ...u16(type),
        ...u16(subtype),
        ...u32(body.length),
        ...body,
      ];
      const peerHeader = (afi: number, peer: number[], local: number[]) => [
        ...u32(4200000001),
        ...u32(64512),
        ...u16(0),
        ...u16(afi),
        ...peer,
        ...local,
      ];
      const v4 = peerHeader(1, [198, 51, 100, 1], [198, 51, 100, 2]);
      const originAndPath = [...attribute(1, [0]), ...attribute(2, asPath([[2, [4200000001, 64600]]], 4))];
      const attributes = [...originAndPath, ...attribute(3, [198, 51, 100, 1])];
      const ipv6Reach = [...u16(2), 1, 16, ...ipv6("2001:db8:100::1"), 0, ...prefix(ipv6("2001:db8:5::"), 48)];
      const bytes = Uint8Array.from([
        ...record(17, 5, [...u32(250), ...v4, ...u16(5), ...u16(6)]),
        ...record(17, 4, [...u32(123456), ...v4, ...update(prefix([203, 0, 113, 0], 24), attributes, prefix([198, 51, 100, 0], 25))]),
        ...record(17, 4, [...u32(7), ...v4, ...update([], [...originAndPath, ...attribute(14, ipv6Reach, 0x80)], [])]),
        ...record(16, 9, [...v4, ...update(prefix([203, 0, 113, 0], 24, 3), attributes, prefix([198, 51, 100, 0], 25, 4))]),
      ]);
      const file = join(dir, "built.mrt");
      writeFileSync(file, bytes);
      const [theirs, ours] = await Promise.all([bgpdumpOf(file), popwatchOf(file)]);
      expect(theirs.length).toBe(6);
      expect(ours.warnings).toEqual([]);
      expect(ours.lines).toEqual(theirs);
      expect(await eventFieldsOf(file)).toEqual(theirs.map(eventFieldsOfLine));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
