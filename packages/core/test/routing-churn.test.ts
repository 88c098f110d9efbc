// Path churn per peer and bursts of updates (one convergence event each).
import { describe, expect, it } from "vitest";
import { bgpBursts, pathChurn } from "../src/routing/churn";
import type { BgpEvent } from "../src/routing/event";
import { T0, WATCHED, announce, session, withdraw } from "./routing-fixtures";

describe("pathChurn", () => {
  it("counts announcements, withdrawals and path changes per peer", () => {
    const events: BgpEvent[] = [
      { ...announce(1, T0, [65001, 64510, 64500]), type: "B" },
      announce(1, T0 + 1000, [65001, 64510, 64500]),
      announce(1, T0 + 2000, [65001, 64511, 64500]),
      withdraw(1, T0 + 3000),
      announce(1, T0 + 4000, [65001, 64511, 64500]),
      announce(1, T0 + 5000, [65001, 64510, 64500]),
      announce(2, T0 + 1000, [65002, 64500]),
      announce(2, T0 + 1000, [65002, 64666], "198.51.100.0/25"),
      session(3, T0, false),
    ];
    expect(pathChurn(events)).toEqual([
      { source: "rrc00", peer: "203.0.113.1", peerAs: 65001, announcements: 4, withdrawals: 1, pathChanges: 2 },
      { source: "rrc00", peer: "203.0.113.2", peerAs: 65002, announcements: 2, withdrawals: 0, pathChanges: 0 },
    ]);
  });

  it("orders events by time before comparing paths", () => {
    const later = announce(1, T0 + 1000, [65001, 64511, 64500]);
    const earlier = announce(1, T0, [65001, 64510, 64500]);
    expect(pathChurn([later, earlier])[0]!.pathChanges).toBe(1);
  });
});

describe("bgpBursts", () => {
  it("groups updates closer than the gap into one burst per watched prefix", () => {
    const events: BgpEvent[] = [
      withdraw(1, T0),
      withdraw(2, T0 + 4000),
      announce(3, T0 + 9000, [65003, 64999, 64500]),
      // 40 s later: a new burst.
      announce(1, T0 + 49_000, [65001, 64510, 64500], "198.51.100.0/25"),
      announce(2, T0 + 50_000, [65002, 64666], "198.51.100.0/25"),
      // Not watched, and RIB entries and sessions are no updates.
      announce(1, T0 + 1000, [65001, 64500], "203.0.113.0/24"),
      { ...announce(4, T0 + 20_000, [65004, 64500]), type: "B" },
      session(5, T0 + 20_000, false),
    ];
    expect(bgpBursts(events, 30_000, [WATCHED.prefix])).toEqual([
      {
        prefix: "198.51.100.0/24",
        startMs: T0,
        endMs: T0 + 9000,
        durationMs: 9000,
        updates: 3,
        announcements: 1,
        withdrawals: 2,
        peers: 3,
        prefixes: ["198.51.100.0/24"],
        origins: [64500],
        kind: "mixed",
      },
      {
        prefix: "198.51.100.0/24",
        startMs: T0 + 49_000,
        endMs: T0 + 50_000,
        durationMs: 1000,
        updates: 2,
        announcements: 2,
        withdrawals: 0,
        peers: 2,
        prefixes: ["198.51.100.0/25"],
        origins: [64500, 64666],
        kind: "announcement",
      },
    ]);
  });

  it("splits at exactly the gap and keeps a lone update as a burst of zero duration", () => {
    const bursts = bgpBursts([withdraw(1, T0), withdraw(2, T0 + 30_000)], 30_000, [WATCHED.prefix]);
    expect(bursts.map((b) => [b.startMs - T0, b.durationMs, b.kind])).toEqual([
      [0, 0, "withdrawal"],
      [30_000, 0, "withdrawal"],
    ]);
  });

  it("counts an update inside nested watched prefixes for each", () => {
    const bursts = bgpBursts([withdraw(1, T0, "198.51.100.0/25")], 30_000, ["198.51.0.0/16", WATCHED.prefix, "2001:db8::/32"]);
    expect(bursts.map((b) => b.prefix)).toEqual(["198.51.0.0/16", "198.51.100.0/24"]);
  });

  it("finds nothing without updates", () => {
    expect(bgpBursts([], 30_000, [WATCHED.prefix])).toEqual([]);
  });
});
