// The container recipe (Dockerfile): what it copies exists, it runs the file
// scripts/build.mjs builds, and it installs exactly the packages the bundle
// leaves external. docker is not available here, so the runtime stage's
// layout (/app: the bundle, its bin, those packages and nothing else) is
// staged in a temporary directory and the bundle run from it: `--version`,
// and `run --once` into the embedded store (dynalite resolved from /app).
import { execFile } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const BUILD_SCRIPT = readFileSync(join(ROOT, "scripts", "build.mjs"), "utf8");
const run = promisify(execFile);

/** Instructions, continuation lines joined, comments dropped. */
const instructions = DOCKERFILE.replace(/\\\n/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));
const stages = instructions
  .join("\n")
  .split(/^FROM /m)
  .slice(1);
const [buildStage, runStage] = stages as [string, string];

function copies(stage: string): { from: string | null; sources: string[]; dest: string }[] {
  return [...stage.matchAll(/^COPY (?:--from=(\S+) )?(.+)$/gm)].map(([, from, rest]) => {
    const parts = rest!.split(/\s+/);
    return { from: from ?? null, sources: parts.slice(0, -1), dest: parts.at(-1)! };
  });
}

/** The package names in the build's `external: [...]`. */
const bundleExternals = [...(BUILD_SCRIPT.match(/external: \[([^\]]*)\]/)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!).sort();

let dir: string;
let app: string;
let loopback: net.Server;
let loopbackPort: number;

beforeAll(async () => {
  // The runtime stage copies the bundle: build it when a lone run finds none.
  if (!existsSync(join(ROOT, "packages", "cli", "dist", "popwatch.mjs"))) {
    await run(process.execPath, [join(ROOT, "scripts", "build.mjs")], { cwd: ROOT });
  }
  dir = await mkdtemp(join(tmpdir(), "popwatch-image-"));
  app = join(dir, "app");
  // As the runtime stage lays it out: /src/<path> of the build stage is this repository's <path>.
  for (const { from, sources, dest } of copies(runStage)) {
    if (from !== "build" || !sources[0]!.startsWith("/src/")) continue;
    await cp(join(ROOT, sources[0]!.slice("/src/".length)), join(dir, dest), { recursive: true });
  }
  await mkdir(join(app, "node_modules"), { recursive: true });
  for (const name of bundleExternals) await symlink(join(ROOT, "node_modules", name), join(app, "node_modules", name));
  await mkdir(join(dir, "data"));
  loopback = net.createServer((socket) => socket.end()).listen(0, "127.0.0.1");
  await once(loopback, "listening");
  loopbackPort = (loopback.address() as net.AddressInfo).port;
}, 120_000);

afterAll(async () => {
  loopback?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("Dockerfile", () => {
  it("has a build stage and a node:22-slim runtime stage running popwatch run as the non-root node user", () => {
    expect(stages).toHaveLength(2);
    expect(buildStage).toMatch(/^node:22-slim AS build\n/);
    expect(runStage).toMatch(/^node:22-slim\n/);
    expect(runStage).toMatch(/^USER node$/m);
    expect(runStage).toMatch(/^ENTRYPOINT \["node", "\/app\/packages\/cli\/bin\/popwatch\.mjs"\]$/m);
    expect(runStage).toMatch(/^CMD \["run", "--config", "\/config\/popwatch\.json"\]$/m);
    expect(buildStage).toMatch(/^RUN npm ci .*&& node scripts\/build\.mjs$/m);
  });

  it("copies only what exists in the build context and is not excluded by .dockerignore", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    const fromContext = copies(buildStage).flatMap((copy) => (copy.from === null ? copy.sources : []));
    expect(fromContext.sort()).toEqual(["package-lock.json", "package.json", "packages/", "scripts/", "tsconfig.json"]);
    for (const source of fromContext) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source.replace(/\/$/, ""));
    }
    expect(copies(runStage).every((copy) => copy.from === "build")).toBe(true);
  });

  it("its entrypoint is the bin that loads the file scripts/build.mjs writes", () => {
    expect(BUILD_SCRIPT).toContain('outfile: "packages/cli/dist/popwatch.mjs"');
    expect(readFileSync(join(ROOT, "packages", "cli", "bin", "popwatch.mjs"), "utf8")).toContain(
      'new URL("../dist/popwatch.mjs", import.meta.url)',
    );
    expect(copies(runStage).map((copy) => `${copy.sources.join(" ")} -> ${copy.dest}`)).toEqual([
      "/runtime/node_modules/ -> /app/node_modules/",
      "/src/packages/cli/dist/ -> /app/packages/cli/dist/",
      "/src/packages/cli/bin/ -> /app/packages/cli/bin/",
    ]);
  });

  it("installs exactly the packages the bundle leaves external, at the lockfile's versions", () => {
    expect(bundleExternals).toEqual(["dynalite", "esbuild"]);
    const installed = [
      ...buildStage.matchAll(
        /"([a-z0-9-]+)@\$\(node -p "require\('\/src\/package-lock\.json'\)\.packages\['node_modules\/([a-z0-9-]+)'\]\.version"\)"/g,
      ),
    ];
    expect(installed.map((m) => m[1]).sort()).toEqual(bundleExternals);
    for (const m of installed) expect(m[2]).toBe(m[1]);
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
    for (const name of bundleExternals) expect(lock.packages[`node_modules/${name}`]?.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("the staged /app runs: --version, and run --once into the embedded store in the working directory", async () => {
    const bin = join(app, "packages", "cli", "bin", "popwatch.mjs");
    const version = await run(process.execPath, [bin, "--version"], { cwd: join(dir, "data") });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "packages", "cli", "package.json"), "utf8")).version);

    const config = join(dir, "popwatch.json");
    await writeFile(
      config,
      JSON.stringify({
        vantage: { name: "container-1", location: "AMS" },
        schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 1000 },
        targets: [{ name: "loop", address: "127.0.0.1", probes: { tcp: { port: loopbackPort } } }],
      }),
    );
    const env = { ...process.env, NODE_OPTIONS: "" };
    const once = await run(process.execPath, [bin, "run", "--once", "--json", "--config", config], { cwd: join(dir, "data"), env });
    const results = once.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results.map((r) => [r.name, r.kind, r.region, r.ok])).toEqual([["loop", "tcp", "container-1", true]]);
    expect(existsSync(join(dir, "data", ".popwatch"))).toBe(true);
  }, 120_000);
});
