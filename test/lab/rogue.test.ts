// The rogue's inputs and configuration (rogue.ts, configs.ts). Pure.
import { describe, expect, it } from "vitest";
import { rogueBirdConf } from "./configs";
import { roguePrefix } from "./rogue";

describe("roguePrefix", () => {
  it("accepts networks inside the anycast /24, from /24 to /32", () => {
    expect(roguePrefix("203.0.113.0/24")).toBe("203.0.113.0/24");
    expect(roguePrefix("203.0.113.48/28")).toBe("203.0.113.48/28");
    expect(roguePrefix("203.0.113.53/32")).toBe("203.0.113.53/32");
  });

  it("refuses anything else with invalid_argument", () => {
    for (const bad of [
      "203.0.113.53/24",
      "203.0.112.0/23",
      "198.51.100.0/24",
      "203.0.113.0",
      "203.0.113.0/33",
      "x/24",
      "203.0.113.256/32",
    ]) {
      expect(() => roguePrefix(bad), bad).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    }
  });
});

describe("rogueBirdConf", () => {
  it("announces each prefix, prepending only a foreign origin (BIRD adds AS65666 itself)", () => {
    const conf = rogueBirdConf("/d", { keepaliveS: 1, holdS: 3 }, [
      { prefix: "203.0.113.0/24", originAs: 65666 },
      { prefix: "203.0.113.48/28", originAs: 65001 },
    ]);
    expect(conf).toContain("route 203.0.113.0/24 blackhole;");
    expect(conf).toContain("route 203.0.113.48/28 blackhole;");
    expect(conf).toContain("if net = 203.0.113.48/28 then bgp_path.prepend(65001);");
    expect(conf).not.toContain("bgp_path.prepend(65666)");
    expect(conf).toMatch(/local as 65666;/);
  });
});
