// Example popwatch configuration: two well-known anycast DNS services, probed
// from three AWS regions six times a minute, with an availability and a
// latency SLO. `npx popwatch validate` checks it, `npx popwatch run` probes it
// from this machine (then `npx popwatch report` shows budgets and burn rates),
// `npm run deploy -- --stage prod` from every configured AWS region.
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
  slos: [
    // 99.9 % of k-root's answers are good over 30 days, per region and pooled.
    { name: "k-root-availability", target: "k-root", sli: { type: "availability" }, objective: 0.999 },
    // 99 % of Cloudflare DNS answers within 50 ms over 28 days.
    {
      name: "cloudflare-dns-fast",
      target: "cloudflare-dns",
      kinds: ["dns"],
      sli: { type: "latency", thresholdMs: 50 },
      objective: 0.99,
      period: "28d",
    },
  ],
});
