import { ProbeSpecError } from "../errors";
import type { ProbeFn } from "../types";

// Placeholder until the DoT probe lands (issue 13): refuses to run rather than report a fake result.
export const dotProbe: ProbeFn<"dot"> = () => Promise.reject(new ProbeSpecError("kind", "the dot probe is not built yet"));
