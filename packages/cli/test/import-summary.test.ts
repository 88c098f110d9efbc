// The import's summary line and its progress line on a terminal (and none
// elsewhere): what an operator sees of a long import.
import { describe, expect, it } from "vitest";
import { ImportTally, formatSummary, startProgress } from "../src/import/summary";

describe("import summary", () => {
  it("names one file, or counts files; adds vantages, bad lines and unmapped reasons only when there are some", () => {
    const tally = new ImportTally();
    tally.written = 1;
    tally.rollups = 2;
    expect(formatSummary(tally, ["a.jsonl"], "/data")).toBe("imported 1 result from a.jsonl into /data; 2 rollups rebuilt\n");
    tally.written = 10;
    tally.repeated = 1;
    tally.vantages = 3;
    tally.unlocated = 1;
    tally.bad = 2;
    tally.countUnmapped("unsupported_type", { file: "b.json", line: 7 });
    tally.countUnmapped("bad_abuf", { file: "a.json", line: 3 });
    tally.countUnmapped("unsupported_type", { file: "b.json", line: 9 });
    expect(formatSummary(tally, ["a.json", "b.json"], "/data")).toBe(
      "imported 10 results from 2 files into /data (1 repeated line counted once); 2 rollups rebuilt; " +
        "3 vantages registered (1 not in the probe archive: location unknown); 2 bad lines skipped; " +
        "3 Atlas results not mapped (bad_abuf 1, first at a.json:3; unsupported_type 2, first at b.json:7)\n",
    );
  });

  it("writes progress every second on a terminal, clears it when stopped, and writes nothing elsewhere", async () => {
    const tally = new ImportTally();
    let clock = 0;
    const terminal = { isTTY: true, text: "", write: (chunk: string) => (terminal.text += chunk) };
    const progress = startProgress(terminal, tally, () => clock);
    tally.records = 5000;
    tally.written = 4000;
    clock = 2000;
    await new Promise((done) => setTimeout(done, 1100));
    progress.stop();
    progress.stop();
    expect(terminal.text).toBe("\rread 5000 records, wrote 4000 results (2000/s)\x1b[K\r\x1b[K");

    const pipe = { text: "", write: (chunk: string) => (pipe.text += chunk) };
    const quiet = startProgress(pipe, tally);
    await new Promise((done) => setTimeout(done, 1100));
    quiet.stop();
    expect(pipe.text).toBe("");
  });
});
