// Runs an embedded store in its own process, so tests can kill it (SIGKILL:
// no cleanup at all) or make it contend for a locked data directory.
// argv: <dataDir> <port> [exit]. Prints one JSON line: {ready, endpoint} or {ready: false, code}.
import { StoreError, startEmbeddedStore } from "../../src/index";

const [dataDir, port, mode] = process.argv.slice(2);

try {
  const embedded = await startEmbeddedStore({ dataDir: dataDir!, port: Number(port ?? 0) });
  process.stdout.write(`${JSON.stringify({ ready: true, endpoint: embedded.endpoint, pid: process.pid })}\n`);
  if (mode === "exit") {
    await embedded.close();
  } else {
    process.once("SIGTERM", () => void embedded.close().then(() => process.exit(0)));
  }
} catch (err) {
  const code = err instanceof StoreError ? err.code : null;
  process.stdout.write(`${JSON.stringify({ ready: false, code, message: String(err) })}\n`);
  process.exitCode = 3;
}
