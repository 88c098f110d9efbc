import type { ProbeKind } from "@popwatch/core";
import type { ProbeContext } from "../../src/types";

/** A probe context driven by hand, for calling a ProbeFn without the runner. */
export function manualProbeContext<K extends ProbeKind>(): { controller: AbortController; ctx: ProbeContext<K> } {
  const controller = new AbortController();
  const signal = controller.signal;
  const ctx: ProbeContext<K> = {
    signal,
    onAbort(listener) {
      if (signal.aborted) {
        listener(signal.reason as Error);
        return () => {};
      }
      const onAbort = () => listener(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
      return () => signal.removeEventListener("abort", onAbort);
    },
    now: process.hrtime.bigint,
    msSince: (since) => Number(process.hrtime.bigint() - since) / 1e6,
    timings: {},
    facts: {},
    evidence: {},
  };
  return { controller, ctx };
}
