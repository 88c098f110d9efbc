import type { SSTConfig } from "sst";

// SST v2 app. The storage and probe stacks (DynamoDB table, one scheduled
// probe function per region) arrive with the scheduling work; until then the
// app deploys nothing.
export default {
  config() {
    return { name: "popwatch", region: process.env.POPWATCH_HOME_REGION ?? "us-east-1" };
  },
  stacks() {},
} satisfies SSTConfig;
