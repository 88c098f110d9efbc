// Reading a Prometheus text exposition in tests: its samples, and what
// promtool (Debian's prometheus package, /usr/bin/promtool) says of it.
import { execFile } from "node:child_process";

export const PROMTOOL = "/usr/bin/promtool";

/** The samples of an exposition, `name{labels}` → value, comments dropped. */
export function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    map.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return map;
}

/** Runs `promtool check metrics` on an exposition; returns its complaints (empty when clean). */
export async function promtoolProblems(text: string): Promise<string> {
  const child = execFile(PROMTOOL, ["check", "metrics"]);
  const output: string[] = [];
  child.stdout?.on("data", (chunk) => output.push(String(chunk)));
  child.stderr?.on("data", (chunk) => output.push(String(chunk)));
  const exit = new Promise<number>((done) => child.on("close", (code) => done(code ?? -1)));
  child.stdin?.end(text);
  const code = await exit;
  return code === 0 ? "" : `exit ${code}: ${output.join("")}`;
}
