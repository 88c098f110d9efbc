// dynalite as a separate HTTP server process, the way DynamoDB Local or
// ScyllaDB Alternator runs next to popwatch: in memory, on a free loopback
// port it picks itself (no race with another process for a port chosen
// beforehand), which it writes to a file once listening.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Daemon, addRunDir, removeRunDir, spawnDaemon, stopDaemon, waitReady } from "./daemons";

export interface DynaliteServer {
  /** `http://127.0.0.1:<port>`: what --endpoint takes. */
  endpoint: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

// Runs in the child: argv[1] is dynalite's resolved path, the port goes to ./port once listening.
const SERVER_SCRIPT = `
const dynalite = require(process.argv[1]);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, "127.0.0.1", () => require("node:fs").writeFileSync("port", String(server.address().port)));
`;

/** Starts dynalite in its own process in `dir` (a private directory the caller made). */
export async function startDynaliteServer(dir: string): Promise<DynaliteServer> {
  // dynalite is a dependency of @popwatch/store: resolve it from there.
  const dynalitePath = createRequire(join(import.meta.dirname, "..", "..", "packages", "store", "package.json")).resolve("dynalite");
  addRunDir(dir);
  const daemon = spawnDaemon("dynalite", process.execPath, ["-e", SERVER_SCRIPT, dynalitePath], dir);
  let port = 0;
  try {
    await waitReady(daemon, "with its port", async () => {
      port = Number(await readFile(join(dir, "port"), "utf8"));
      return port > 0;
    });
  } catch (err) {
    await stopDaemon(daemon);
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    daemon,
    stop: async () => {
      await stopDaemon(daemon);
      removeRunDir(dir);
    },
  };
}
