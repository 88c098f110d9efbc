// What the lab benches share before their first episode: --repeat and --modes
// from the command line, root and namespaces, and the built CLI.
import { FAILURE_MODES, type FailureMode, isFailureMode } from "../test/lab/lab";
import { ensureCliBuilt } from "../test/lab/popwatch-run";
import { canCreateNamespaces } from "../test/lab/setup";

function argValue(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

/** Parses the flags (throws on bad ones), exits 2 where namespaces cannot be made, builds the CLI. */
export async function labBenchSetup(bench: string, defaultRepeat: number): Promise<{ repeat: number; modes: FailureMode[] }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const args = process.argv.slice(2);
  const repeat = Number(argValue(args, "--repeat") ?? String(defaultRepeat));
  const modes = (argValue(args, "--modes") ?? FAILURE_MODES.join(",")).split(",");
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error("--repeat: expected a positive integer");
  const unknown = modes.filter((m) => !isFailureMode(m));
  if (unknown.length > 0) throw new Error(`--modes: unknown ${unknown.join(", ")}; known: ${FAILURE_MODES.join(", ")}`);
  const capability = await canCreateNamespaces();
  if (!capability.ok) {
    process.stderr.write(`${bench}: ${capability.reason}\n`);
    process.exit(2);
  }
  await ensureCliBuilt();
  return { repeat, modes: modes.filter(isFailureMode) };
}
