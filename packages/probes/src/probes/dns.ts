import { ProbeFailureError } from "../errors";
import type { ProbeFn } from "../types";

// Placeholder until the dns probe lands.
export const dnsProbe: ProbeFn<"dns"> = async () => {
  throw new ProbeFailureError("internal", "dns probe not implemented yet");
};
