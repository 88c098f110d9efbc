// `npm run lab -- <command>`: the anycast lab from a shell (see lab.ts).
// Without a command: bring the lab up, run `popwatch run` against it from the
// client namespace with its live status line, and tear down on Ctrl-C.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { LabError } from "./errors";
import {
  type Convergence,
  FAILURE_MODES,
  Lab,
  type LabOptions,
  type LabStatus,
  POP_NAMES,
  PREFERRED_POP,
  REPO_ROOT,
  ROUTER_KINDS,
  isFailureMode,
  isLabNode,
  isPopName,
  isRouterKind,
} from "./lab";
import { removeRecord } from "./procs";

const USAGE = `Usage: npm run lab -- [command]

Commands:
  (none) [build options] up, then popwatch run against the lab from the client; Ctrl-C tears down
  up [build options]     build the lab (idempotent: on a running lab built alike, heals injected faults
                         and withdraws the rogue's announcements; built otherwise, rebuilds)
  down                   stop every lab process and delete the namespaces (safe when nothing is up)
  status [--json]        router's best path and PoP, sessions, PoP daemons, recent route changes
  truth                  the router's route changes as JSON lines (truth.jsonl)
  fail <pop> <mode>      inject a failure; modes: ${FAILURE_MODES.join(", ")}
                         --wait: also wait for the router to move and print how long it took
  heal <pop>             undo every failure at a PoP
  measure [--repeat N] [--modes m1,m2]
                         fail the preferred PoP with each mode N times; print the router's convergence
  exec <node> <cmd...>   run a command in a namespace: client, router, ${POP_NAMES.join(", ")}, rogue
  mrt                    paths of the router's MRT dump files (decode: bgpdump -m FILE)
  bgp                    the router's BGP changes from its MRT dump (bgpdump -m), as JSON lines
  rogue announce <prefix> [--origin AS]
                         the rogue announces a prefix inside 203.0.113.0/24 (origin default 65666)
  rogue withdraw <prefix>

Build options:
  --router ${ROUTER_KINDS.join("|")}    the router's software (default bird; frr adds BMP, microsecond MRT)
  --covering             PoPs announce 203.0.113.0/24 instead of the /32 (a more-specific can exist)
  --rogue                add the rogue PoP (AS65666), announcing nothing until told
  --bmp PORT[@client]    FRR sends BMP to PORT on the host (management link) or in the client namespace

PoPs: ${POP_NAMES.join(", ")} (preferred: ${PREFERRED_POP}). Environment: POPWATCH_LAB_DIR (state directory).
`;

function printStatus(status: LabStatus): void {
  const out: string[] = [];
  out.push(`lab ${status.name}: ${status.up ? "up" : "down"} (state ${status.stateDir}; router ${status.router})`);
  if (status.up) {
    const best = status.best;
    out.push(
      best
        ? `router best path: ${status.announced} -> ${best.pop ?? best.protocol} via ${best.nextHop} (AS path ${best.asPath.join(" ")}) since ${best.since ?? "?"}`
        : "router best path: none (the anycast address is unreachable)",
    );
    for (const r of status.routes)
      out.push(`  ${r.best ? "*" : " "} ${r.pop ?? r.protocol}  AS path ${r.asPath.join(" ")}  via ${r.nextHop}`);
    out.push(`router FIB: ${status.fib.pop ? `${status.fib.pop} via ${status.fib.nextHop} dev ${status.fib.dev}` : "no route"}`);
    out.push("PoPs:");
    for (const p of status.pops) {
      out.push(
        `  ${p.name}  dns(${p.dnsServer}) ${p.dns}  nginx ${p.nginx}  speaker ${p.speaker}  session ${p.session}  link ${p.link}${p.blackhole ? "  BLACKHOLE" : ""}`,
      );
    }
    if (status.rogue) {
      const announced = status.rogue.announcements.map((a) => `${a.prefix} origin AS${a.originAs}`).join(", ") || "nothing";
      out.push(`  rogue  session ${status.rogue.session}  announcing ${announced}`);
    }
  }
  if (status.recentChanges.length > 0) {
    out.push("route changes (truth.jsonl):");
    for (const c of status.recentChanges)
      out.push(`  ${c.at}  ${c.event === "initial" ? "initial" : `${c.previousPop ?? "none"} ->`} ${c.pop ?? "none"}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

/** Build options of `up` and the default command; the rest of the lab follows what was built. */
function buildOptions(args: string[]): LabOptions {
  const options: LabOptions = {};
  const value = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const router = value("--router");
  if (router !== undefined) {
    if (!isRouterKind(router)) throw new LabError("invalid_argument", `--router: one of ${ROUTER_KINDS.join(", ")}`);
    options.router = router;
  }
  if (args.includes("--covering")) options.announce = "covering";
  if (args.includes("--rogue")) options.rogue = true;
  const bmp = value("--bmp");
  if (bmp !== undefined) {
    const m = /^(\d{1,5})(@client)?$/.exec(bmp);
    if (!m) throw new LabError("invalid_argument", "--bmp PORT or PORT@client");
    options.bmp = { port: Number(m[1]), at: m[2] ? "client" : "host" };
  }
  return options;
}

function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "-" : ms.toFixed(1);
}

function summarize(values: number[]): string {
  if (values.length === 0) return "-";
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return `${formatMs(sorted[0]!)} / ${formatMs(median)} / ${formatMs(sorted.at(-1)!)}`;
}

async function measure(lab: Lab, args: string[]): Promise<number> {
  const repeatAt = args.indexOf("--repeat");
  const repeat = repeatAt >= 0 ? Number(args[repeatAt + 1]) : 3;
  const modesAt = args.indexOf("--modes");
  const modes = modesAt >= 0 ? (args[modesAt + 1] ?? "").split(",") : [...FAILURE_MODES];
  if (!Number.isInteger(repeat) || repeat < 1) throw new LabError("invalid_argument", "--repeat needs a positive integer");
  const unknown = modes.filter((m) => !isFailureMode(m));
  if (unknown.length > 0) throw new LabError("invalid_argument", `unknown modes: ${unknown.join(", ")}`);
  await lab.up();
  const results: Convergence[] = [];
  for (const mode of modes.filter(isFailureMode)) {
    for (let i = 0; i < repeat; i++) {
      // A black hole keeps the route by design: wait a little past the hold time to show nothing moves.
      const result = await lab.measure(PREFERRED_POP, mode, { waitMs: mode === "blackhole" ? 5_000 : 15_000 });
      results.push(result);
      process.stdout.write(
        `${mode} #${i + 1}: router ${result.change ? `moved to ${result.change.pop ?? "no route"} after ${formatMs(result.convergenceMs)} ms` : "did not move"}; ` +
          `back to ${PREFERRED_POP} ${formatMs(result.recoveryMs)} ms after heal\n`,
      );
    }
  }
  process.stdout.write("\nmode          convergence ms (min / median / max)   fail-back ms after heal (min / median / max)\n");
  for (const mode of modes) {
    const of = results.filter((r) => r.mode === mode);
    const conv = of.flatMap((r) => (r.convergenceMs === null ? [] : [r.convergenceMs]));
    const back = of.flatMap((r) => (r.recoveryMs === null || r.recoveryMs === undefined ? [] : [r.recoveryMs]));
    const noChange = of.length - conv.length;
    process.stdout.write(
      `${mode.padEnd(12)}  ${summarize(conv).padEnd(38)}${noChange > 0 ? ` (${noChange}/${of.length} no route change)` : ""}  ${summarize(back)}\n`,
    );
  }
  return 0;
}

/** The default command: up, popwatch run in the client namespace in the foreground, down on Ctrl-C. */
async function runPopwatch(lab: Lab): Promise<number> {
  process.stderr.write("lab: bringing the lab up...\n");
  printStatus(await lab.up());
  const argv = [
    process.execPath,
    join(REPO_ROOT, "packages/cli/bin/popwatch.mjs"),
    "run",
    "--config",
    lab.popwatchConfigFile,
    "--data-dir",
    lab.dataDir,
  ];
  process.stderr.write(
    `lab: ip netns exec ${lab.ns("client")} ${argv.join(" ")}\nlab: try "npm run lab -- fail pop-a dns-stop" in another terminal; Ctrl-C stops\n`,
  );
  // Its own process group: one Ctrl-C reaches it once, through us (a second would make it exit unwritten).
  const child = spawn("ip", ["netns", "exec", lab.ns("client"), ...argv], { stdio: "inherit", detached: true, cwd: REPO_ROOT });
  const record = lab.registerClientProcess(child.pid!);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    child.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  const code = await new Promise<number>((resolve) => child.once("exit", (c, s) => resolve(c ?? (s ? 130 : 1))));
  removeRecord(lab.stateDir, record.name);
  process.stderr.write("lab: tearing down...\n");
  await lab.down();
  process.stderr.write("lab: down\n");
  return stopping ? 0 : code;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const building = command === undefined || command === "up" || command?.startsWith("--");
  const lab = new Lab({ ...(building ? buildOptions(args) : {}), log: (m) => process.stderr.write(`lab: ${m}\n`) });
  switch (command?.startsWith("--") ? undefined : command) {
    case undefined:
      return runPopwatch(lab);
    case "up": {
      const started = Date.now();
      const status = await lab.up();
      printStatus(status);
      process.stderr.write(`lab: up in ${Date.now() - started} ms\n`);
      return 0;
    }
    case "down": {
      const started = Date.now();
      await lab.down();
      process.stderr.write(`lab: down in ${Date.now() - started} ms\n`);
      return 0;
    }
    case "status": {
      const status = await lab.status();
      if (rest.includes("--json")) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else printStatus(status);
      return status.up ? 0 : 1;
    }
    case "truth":
      for (const change of lab.truth()) process.stdout.write(`${JSON.stringify(change)}\n`);
      return 0;
    case "fail": {
      const [pop, mode] = rest;
      if (!pop || !isPopName(pop) || !mode || !isFailureMode(mode)) {
        throw new LabError(
          "invalid_argument",
          `fail <pop> <mode>: pop one of ${POP_NAMES.join(", ")}; mode one of ${FAILURE_MODES.join(", ")}`,
        );
      }
      const before = lab.truth().at(-1)?.pop ?? null;
      const event = await lab.fail(pop, mode);
      process.stdout.write(`${JSON.stringify(event)}\n`);
      if (rest.includes("--wait")) {
        const change = await lab.waitForChange((c) => c.pop !== before, { afterMs: event.atMs, timeoutMs: 15_000 });
        process.stdout.write(
          change
            ? `router moved ${before ?? "none"} -> ${change.pop ?? "none"} after ${(change.atMs - event.atMs).toFixed(1)} ms\n`
            : `router still forwards to ${before ?? "none"} after 15 s\n`,
        );
        const truth = await lab.routerConvergence(event, { timeoutMs: change ? 2_000 : 0 });
        if (truth.firstBgpChange)
          process.stdout.write(`router's first BGP change about ${pop}: ${truth.firstBgpChange.type} after ${formatMs(truth.bgpMs)} ms\n`);
      }
      return 0;
    }
    case "heal": {
      const [pop] = rest;
      if (!pop || !isPopName(pop)) throw new LabError("invalid_argument", `heal <pop>: one of ${POP_NAMES.join(", ")}`);
      process.stdout.write(`${JSON.stringify(await lab.heal(pop))}\n`);
      return 0;
    }
    case "measure":
      return measure(lab, rest);
    case "exec": {
      const [node, ...cmd] = rest;
      if (!node || !isLabNode(node) || cmd.length === 0) throw new LabError("invalid_argument", "exec <node> <command...>");
      const child = spawn("ip", ["netns", "exec", lab.ns(node), ...cmd], { stdio: "inherit" });
      return new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
    }
    case "mrt":
      for (const file of lab.mrtFiles()) process.stdout.write(`${file}\n`);
      return 0;
    case "bgp":
      for (const change of await lab.bgpChanges()) process.stdout.write(`${JSON.stringify(change)}\n`);
      return 0;
    case "rogue": {
      const [action, prefix] = rest;
      if ((action !== "announce" && action !== "withdraw") || !prefix)
        throw new LabError("invalid_argument", "rogue announce <prefix> [--origin AS] | rogue withdraw <prefix>");
      const originAt = rest.indexOf("--origin");
      const event =
        action === "announce"
          ? await lab.rogue.announce({ prefix, ...(originAt >= 0 ? { originAs: Number(rest[originAt + 1]) } : {}) })
          : await lab.rogue.withdraw(prefix);
      process.stdout.write(`${JSON.stringify(event)}\n`);
      return 0;
    }
    default:
      process.stderr.write(`lab: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof LabError)) throw err;
  process.stderr.write(`lab: ${err.message} (${err.code})\n`);
  process.exitCode = err.code === "invalid_argument" ? 2 : 1;
}
