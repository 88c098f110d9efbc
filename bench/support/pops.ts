// The PoPs the many-vantage benches spread their answers over: IATA codes the
// built-in geo table knows, so catchment, detours and the light checks locate them.
export const BENCH_POPS = [
  "fra",
  "ams",
  "lhr",
  "cdg",
  "mad",
  "waw",
  "arn",
  "iad",
  "ord",
  "dfw",
  "sjc",
  "sea",
  "gru",
  "nrt",
  "sin",
  "syd",
  "bom",
  "jnb",
  "hkg",
  "yyz",
] as const;
