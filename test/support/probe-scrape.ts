// One /probe scrape of a running exporter, checked the way every exporter
// test wants it: answered 200, promtool-clean, read into its samples.
import { expect } from "vitest";
import { promtoolProblems, samples } from "./exposition";

/** GET `${exporterUrl}/probe?${query}`; the samples of the exposition once it is 200 and promtool accepts it. */
export async function scrapeProbe(exporterUrl: string, query: string): Promise<Map<string, number>> {
  const response = await fetch(`${exporterUrl}/probe?${query}`);
  const text = await response.text();
  expect(response.status, query).toBe(200);
  expect(await promtoolProblems(text), query).toBe("");
  return samples(text);
}
