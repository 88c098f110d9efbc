// The vantage registry (pk `V`, sk the vantage name): where each vantage says
// it is, its country and ASN, so reports and catchment group and locate
// vantages without reading results. BatchWriteItem (25 vantages a request) to
// register, one Query for all.

import { VANTAGE_NAME_PATTERN, VANTAGE_SOURCES, type Vantage } from "@popwatch/core";
import { type Item, type ItemTable, corrupt, invalid, partitionQuery } from "./items";
import { PARTITION_KEY, SORT_KEY, VANTAGE_PARTITION } from "./keys";

export class VantageItems {
  constructor(private readonly table: ItemTable) {}

  async put(vantages: readonly Vantage[]): Promise<void> {
    // Checked whole before anything is sent; a name given twice keeps its last entry (one batch may not hold a key twice).
    const byName = new Map<string, Item>();
    vantages.forEach((vantage, index) => {
      if (!isVantage(vantage)) throw invalid(`vantages[${index}] is not a vantage with a name matching ${VANTAGE_NAME_PATTERN.source}`);
      byName.set(vantage.name, {
        [PARTITION_KEY]: { S: VANTAGE_PARTITION },
        [SORT_KEY]: { S: vantage.name },
        vantage: { S: JSON.stringify(vantage) },
      });
    });
    await this.table.writeRequests([...byName.values()].map((Item) => ({ request: { PutRequest: { Item } }, weight: 1 })));
  }

  async list(): Promise<Vantage[]> {
    const items = await this.table.queryAll(partitionQuery(VANTAGE_PARTITION), { consistent: false });
    // Names are [a-z0-9-]: sort-key order is name order.
    return items.map((item) => {
      let vantage: unknown;
      try {
        vantage = JSON.parse(item.vantage?.S ?? "");
      } catch (err) {
        throw corrupt(item, "does not hold vantage JSON", err);
      }
      if (!isVantage(vantage) || vantage.name !== item[SORT_KEY]?.S) throw corrupt(item, "does not hold the vantage its key names");
      return vantage;
    });
  }
}

function isVantage(value: unknown): value is Vantage {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const claimed = v.claimed as Record<string, unknown> | null | undefined;
  const claimedOk =
    claimed === null ||
    (typeof claimed === "object" &&
      claimed !== undefined &&
      (typeof claimed.iata === "string" || (typeof claimed.lat === "number" && typeof claimed.lon === "number")));
  return (
    typeof v.name === "string" &&
    VANTAGE_NAME_PATTERN.test(v.name) &&
    (VANTAGE_SOURCES as readonly unknown[]).includes(v.source) &&
    claimedOk &&
    (v.country === null || typeof v.country === "string") &&
    (v.asn === null || (typeof v.asn === "number" && Number.isSafeInteger(v.asn))) &&
    (v.atlasProbeId === undefined || (typeof v.atlasProbeId === "number" && Number.isSafeInteger(v.atlasProbeId)))
  );
}
