import { ProbeFailureError } from "../errors";
import type { ProbeFn } from "../types";

// Placeholder until the tls probe lands.
export const tlsProbe: ProbeFn<"tls"> = async () => {
  throw new ProbeFailureError("internal", "tls probe not implemented yet");
};
