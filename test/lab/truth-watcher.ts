// The lab's truth recorder, a long-running process started by `up`:
//   node --import tsx test/lab/truth-watcher.ts <truth.jsonl> <router namespace> [4|6]
// Appends a RouteChange line to <truth.jsonl> whenever the router's FIB
// changes where the anycast address goes (see truth.ts): the longest prefix
// covering it decides, so a rogue's more-specific shows as a change. With 6,
// the IPv6 anycast address's /128 instead (only ever announced whole). Exits
// when `ip monitor` does, or on SIGTERM.
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { run } from "./procs";
import { ANYCAST_ADDRESS, ANYCAST_PREFIX, ANYCAST_PREFIX_V6 } from "./topology";
import { FibTracker, type RouteChange, parseMonitorLine, routesFromJson } from "./truth";

const [truthFile, namespace, familyArg = "4"] = process.argv.slice(2);
if (!truthFile || !namespace || (familyArg !== "4" && familyArg !== "6")) {
  process.stderr.write("usage: truth-watcher.ts <truth.jsonl> <router namespace> [4|6]\n");
  process.exit(2);
}
const v6 = familyArg === "6";

function write(change: RouteChange): void {
  appendFileSync(truthFile!, `${JSON.stringify(change)}\n`);
}

// `ip -ts` stamps in local time without a zone; UTC makes the stamps ISO-comparable.
const monitor = spawn("ip", ["-ts", "-n", namespace, `-${familyArg}`, "monitor", "route"], {
  env: { ...process.env, TZ: "UTC" },
  stdio: ["ignore", "pipe", "inherit"],
});

const COVERING = v6 ? ANYCAST_PREFIX_V6 : { covering: ANYCAST_ADDRESS };
const pending: string[] = [];
let tracker: FibTracker | null = null;

function handle(text: string): void {
  const line = parseMonitorLine(text, COVERING);
  if (!line || !tracker) return;
  const change = tracker.apply(line);
  if (change) write(change);
}

createInterface({ input: monitor.stdout! }).on("line", (text) => {
  if (tracker) handle(text);
  else pending.push(text);
});

monitor.on("exit", (code, signal) => {
  process.stderr.write(`truth-watcher: ip monitor exited (${code ?? signal})\n`);
  process.exit(1);
});

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  process.on(signal, () => {
    monitor.removeAllListeners("exit");
    monitor.kill("SIGTERM");
    process.exit(0);
  });
}

// The monitor subscribes when it starts; wait a moment so no change falls
// between the snapshot and the first notification.
setTimeout(() => {
  void (async () => {
    const requestedAtMs = Date.now();
    const shown = await run(
      v6
        ? ["ip", "-n", namespace, "-j", "-6", "route", "show", ANYCAST_PREFIX_V6]
        : ["ip", "-n", namespace, "-j", "route", "show", "match", ANYCAST_ADDRESS],
    );
    if (shown.code !== 0) {
      process.stderr.write(`truth-watcher: ip route show failed: ${shown.stderr}\n`);
      process.exit(1);
    }
    const now = new Date();
    tracker = v6
      ? new FibTracker(routesFromJson(shown.stdout), ANYCAST_PREFIX_V6)
      : new FibTracker(routesFromJson(shown.stdout, ANYCAST_ADDRESS), ANYCAST_PREFIX);
    write(tracker.initialEntry(now.toISOString(), now.getTime()));
    // Earlier notifications are already in the snapshot; later ones may not be.
    for (const text of pending.splice(0)) {
      const line = parseMonitorLine(text, COVERING);
      if (line && line.atMs >= requestedAtMs) handle(text);
    }
  })();
}, 150);
