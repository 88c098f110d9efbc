// A loopback "anycast address" for DNS over UDP: queries sent to it are
// relayed to whichever real server is currently selected (NSD, Knot, BIND),
// and answers come back from the switch's address, so a probe sees one
// address whose NSID changes when the route does, as with a real anycast
// failover. Selecting null drops queries: an outage of every PoP.
import { type Socket, createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";

export interface DnsUpstream {
  address: string;
  port: number;
}

export interface DnsSwitch {
  address: string;
  port: number;
  /** Where the next queries go; null drops them. */
  route(upstream: DnsUpstream | null): void;
  /** Wall-clock ms of each query received, with where it was sent (null: dropped). */
  queries: { atMs: number; upstream: DnsUpstream | null }[];
  close(): Promise<void>;
}

export async function startDnsSwitch(initial: DnsUpstream | null): Promise<DnsSwitch> {
  let upstream = initial;
  const queries: DnsSwitch["queries"] = [];
  const relays = new Set<Socket>();
  const front = createSocket("udp4");
  front.on("message", (query, client) => {
    const target = upstream;
    queries.push({ atMs: Date.now(), upstream: target });
    if (target === null) return;
    // One relay socket per query: answers map back to their client without parsing ids.
    const relay = createSocket("udp4");
    relays.add(relay);
    const done = () => {
      clearTimeout(timer);
      relays.delete(relay);
      relay.close();
    };
    const timer = setTimeout(done, 5_000);
    relay.on("message", (answer) => {
      front.send(answer, client.port, client.address);
      done();
    });
    relay.on("error", done);
    relay.send(query, target.port, target.address);
  });
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.bind(0, "127.0.0.1", () => resolve());
  });
  const { address, port } = front.address() as AddressInfo;
  return {
    address,
    port,
    queries,
    route: (next) => {
      upstream = next;
    },
    close: async () => {
      for (const relay of relays) relay.close();
      relays.clear();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}
