import { ProbeSpecError } from "../errors";
import type { ProbeFn } from "../types";

// Placeholder until the DoH probe lands (issue 13): refuses to run rather than report a fake result.
export const dohProbe: ProbeFn<"doh"> = () => Promise.reject(new ProbeSpecError("kind", "the doh probe is not built yet"));
