import { ProbeFailureError } from "../errors";
import type { ProbeFn } from "../types";

// Placeholder until the http probe lands.
export const httpProbe: ProbeFn<"http"> = async () => {
  throw new ProbeFailureError("internal", "http probe not implemented yet");
};
