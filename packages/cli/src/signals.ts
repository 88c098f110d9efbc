// How a command that runs until stopped (`run`, `bgp watch`, `bgp listen`)
// stops: SIGINT/SIGTERM abort its controller so it can write what it holds;
// a second signal exits at once. Tests and embedders pass their own signal.
import type { Io } from "./io";

export interface StopMessages {
  /** After the first signal: what the command does now ("stopping probes, writing the results taken"). */
  stopping: string;
  /** On a second signal: what is lost ("exiting without writing pending results"). */
  abandoning: string;
}

/**
 * Aborts `stop` when `external` aborts or, without one, on SIGINT/SIGTERM
 * (a second signal exits with 130). Returns the unhook.
 */
export function stopOnSignals(command: string, io: Io, stop: AbortController, messages: StopMessages, external?: AbortSignal): () => void {
  if (external !== undefined) {
    const onAbort = () => stop.abort();
    if (external.aborted) onAbort();
    else external.addEventListener("abort", onAbort, { once: true });
    return () => external.removeEventListener("abort", onAbort);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      io.stderr.write(`popwatch ${command}: ${signal} again: ${messages.abandoning}\n`);
      process.exit(130);
    }
    io.stderr.write(`\npopwatch ${command}: ${signal}: ${messages.stopping}\n`);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
