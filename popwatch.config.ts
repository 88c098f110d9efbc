// Example popwatch configuration: two well-known anycast DNS services, probed
// from three AWS regions six times a minute. `npx popwatch validate` checks it,
// `npx popwatch run` probes it from this machine, `npm run deploy -- --stage prod`
// from every configured AWS region.
import { defineConfig } from "@popwatch/core";

export default defineConfig({
  regions: ["us-east-1", "eu-central-1", "ap-southeast-1"],
  schedule: { rateMinutes: 1, roundsPerInvocation: 6, timeoutMs: 3000 },
  targets: [
    {
      // Cloudflare's resolver: CHAOS id.server names the colo that answered (e.g. "fra").
      name: "cloudflare-dns",
      address: "1.1.1.1",
      hostname: "one.one.one.one",
      probes: {
        dns: { qname: "example.com", qtype: "A", recursionDesired: true, chaos: ["id.server"] },
        tcp: { port: 443 },
      },
    },
    {
      // k.root-servers.net (RIPE NCC): NSID and hostname.bind name the instance.
      name: "k-root",
      address: "193.0.14.129",
      hostname: "k.root-servers.net",
      probes: {
        dns: { qname: ".", qtype: "SOA", nsid: true, chaos: ["hostname.bind"] },
      },
    },
  ],
});
